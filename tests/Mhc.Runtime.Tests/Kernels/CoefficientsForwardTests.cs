using Mhc.Runtime.Kernels;
using Mhc.Runtime.Ops.Fused;
using Mhc.Runtime.Ops.Reference;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Kernels;

/// <summary>
/// The coefficients' forward where it makes v·φ itself in tiles (<see cref="ProjectionRows"/>: n = 4, float32, 512-bit
/// lanes) against the reference ops evaluated in float64 on the same values: H_pre, H_post, the H_res logits and the
/// pre-mix, at token counts around the tile of eight (a tile, a tile and a remainder, whole tiles over many chunks, each
/// chunk's remainder copied into a padded tile), and widths with and without a vector's tail of channels.
/// </summary>
public sealed class CoefficientsForwardTests : IDisposable
{
    private readonly bool _wideByDefault = ProjectionLanes<float>.Wide;

    public void Dispose()
    {
        ProjectionLanes<float>.Wide = _wideByDefault;
        TokenChunks.MinOperationsPerChunk = TokenChunks.DefaultMinOperationsPerChunk;
    }

    [Theory]
    [InlineData(8, 40, false)]
    [InlineData(13, 37, false)]
    [InlineData(203, 40, true)]
    [InlineData(1001, 64, true)]
    [InlineData(70, 19, false)]
    public void TiledProductsAgreeWithTheReferenceInFloat64(long tokens, long channels, bool manyChunks)
    {
        using var scope = NewDisposeScope();
        ProjectionLanes<float>.Wide = true;
        if (manyChunks) TokenChunks.MinOperationsPerChunk = 1;
        var shape = new CoefficientsShape(tokens, 4, (int)channels);
        Assert.True(CoefficientsKernel<float>.ProjectsInTiles(shape), "the case takes the tiles");

        var generator = manual_seed(71 + tokens + channels);
        var x = Random([tokens, 4, channels], 1.0, ScalarType.Float32, generator);
        var phi = Random([4 * channels, 24], 0.3, ScalarType.Float32, generator);
        var bias = Random([24], 1.0, ScalarType.Float32, generator);
        var alpha = FromValues([0.6, -0.8, 1.1], [3], ScalarType.Float32);
        var (pre, post, logits, _, input) = CoefficientsFunction.Compute(x, phi, bias, alpha, 1e-6, ConnectionConvention.MhcSpec, withInput: true);

        var x64 = x.to(ScalarType.Float64);
        var (expectedPre, expectedPost, expectedLogits) = ReferenceOps.Coefficients(x64, phi.to(ScalarType.Float64),
            bias.to(ScalarType.Float64), alpha.to(ScalarType.Float64), 1e-6, ConnectionConvention.MhcSpec);
        string what = $"{tokens} tokens, C = {channels}, {(manyChunks ? "many chunks" : "one chunk")}";
        Close(pre, expectedPre, 1e-5, "H_pre, " + what);
        Close(post, expectedPost, 1e-5, "H_post, " + what);
        Close(logits, expectedLogits, 1e-5, "H_res logits, " + what);
        Close(input!, ReferenceOps.PreMix(x64, expectedPre), 1e-5, "pre-mix, " + what);
    }

    [Fact]
    public void OtherShapesAndLanesTakeBlasOrTheRowMajorPass()
    {
        ProjectionLanes<float>.Wide = true;
        Assert.False(CoefficientsKernel<float>.ProjectsInTiles(new CoefficientsShape(7, 4, 64)), "fewer tokens than a tile");
        Assert.False(CoefficientsKernel<float>.ProjectsInTiles(new CoefficientsShape(64, 3, 64)), "n = 3: m = 15");
        Assert.False(CoefficientsKernel<double>.ProjectsInTiles(new CoefficientsShape(64, 4, 64)), "float64");
        ProjectionLanes<float>.Wide = false;
        Assert.False(CoefficientsKernel<float>.ProjectsInTiles(new CoefficientsShape(64, 4, 64)), "256-bit lanes");
    }

    [Fact]
    public unsafe void PackedTileMatchesLibtorchsProduct()
    {
        using var scope = NewDisposeScope();
        const int width = 4 * 29, tile = ProjectionRows.Tokens, stride = 31;
        var generator = manual_seed(5);
        var x = Random([tile, width], 1.0, ScalarType.Float32, generator);
        var phi = Random([width, 24], 0.3, ScalarType.Float32, generator);
        var packed = empty(width * 24, dtype: ScalarType.Float32);
        var q = zeros(tile * stride, dtype: ScalarType.Float32);
        ProjectionRows.Pack(TensorMemory.Pointer<float>(phi), TensorMemory.Pointer<float>(packed), width);
        ProjectionRows.Tile(TensorMemory.Pointer<float>(x), TensorMemory.Pointer<float>(packed), TensorMemory.Pointer<float>(q), stride, width);

        var products = q.view(tile, stride).narrow(1, 0, 24);
        Close(products, Values(x.to(ScalarType.Float64).mm(phi.to(ScalarType.Float64))), 1e-5, "v·φ");
        Assert.Equal(0.0, q.view(tile, stride).narrow(1, 24, stride - 24).abs().max().item<float>());
    }
}

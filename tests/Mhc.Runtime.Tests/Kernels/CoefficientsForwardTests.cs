using Mhc.Runtime.Kernels;
using Mhc.Runtime.Ops.Fused;
using Mhc.Runtime.Ops.Reference;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Kernels;

/// <summary>
/// The coefficients' forward where it makes v·φ itself in tiles (<see cref="ProjectionRows"/>: n = 4, float32, on 512-bit
/// and on 256-bit lanes, whichever this machine runs by default) against the reference ops evaluated in float64 on the
/// same values: H_pre, H_post, the H_res logits and the pre-mix, at token counts around each tile (eight tokens or four:
/// a tile, a tile and a remainder, whole tiles over many chunks, each chunk's remainder copied into a padded tile), and
/// widths with and without a vector's tail of channels.
/// </summary>
public sealed class CoefficientsForwardTests : IDisposable
{
    private readonly bool _wideByDefault = ProjectionLanes<float>.Wide;

    public void Dispose()
    {
        ProjectionLanes<float>.Wide = _wideByDefault;
        TokenChunks.MinOperationsPerChunk = TokenChunks.DefaultMinOperationsPerChunk;
    }

    public static TheoryData<bool, long, long, bool> Cases()
    {
        var data = new TheoryData<bool, long, long, bool>();
        foreach (var (tokens, channels, manyChunks) in new (long, long, bool)[] { (8, 40, false), (13, 37, false), (203, 40, true), (1001, 64, true), (70, 19, false) })
            data.Add(true, tokens, channels, manyChunks);
        foreach (var (tokens, channels, manyChunks) in new (long, long, bool)[] { (4, 40, false), (6, 37, false), (13, 37, false), (203, 40, true), (1001, 64, true), (70, 19, false) })
            data.Add(false, tokens, channels, manyChunks);
        return data;
    }

    /// <summary>Whether this machine has the narrow tile's instructions (x64 with AVX2 and FMA): elsewhere those cases take BLAS.</summary>
    private static bool NarrowTileRuns => Vector256.IsHardwareAccelerated && Fma.IsSupported;

    [Theory]
    [MemberData(nameof(Cases))]
    public void TiledProductsAgreeWithTheReferenceInFloat64(bool wide, long tokens, long channels, bool manyChunks)
    {
        using var scope = NewDisposeScope();
        ProjectionLanes<float>.Wide = wide;
        if (manyChunks) TokenChunks.MinOperationsPerChunk = 1;
        var shape = new CoefficientsShape(tokens, 4, (int)channels);
        Assert.Equal(wide || NarrowTileRuns, CoefficientsKernel<float>.ProjectsInTiles(shape));

        var generator = manual_seed(71 + tokens + channels);
        var x = Random([tokens, 4, channels], 1.0, ScalarType.Float32, generator);
        var phi = Random([4 * channels, 24], 0.3, ScalarType.Float32, generator);
        var bias = Random([24], 1.0, ScalarType.Float32, generator);
        var alpha = FromValues([0.6, -0.8, 1.1], [3], ScalarType.Float32);
        var (pre, post, logits, _, input) = CoefficientsFunction.Compute(x, phi, bias, alpha, 1e-6, ConnectionConvention.MhcSpec, withInput: true);

        var x64 = x.to(ScalarType.Float64);
        var (expectedPre, expectedPost, expectedLogits) = ReferenceOps.Coefficients(x64, phi.to(ScalarType.Float64),
            bias.to(ScalarType.Float64), alpha.to(ScalarType.Float64), 1e-6, ConnectionConvention.MhcSpec);
        string what = $"{(wide ? "512" : "256")}-bit tiles, {tokens} tokens, C = {channels}, {(manyChunks ? "many chunks" : "one chunk")}";
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
        Assert.False(CoefficientsKernel<float>.ProjectsInTiles(new CoefficientsShape(3, 4, 64)), "fewer tokens than a 256-bit tile");
        Assert.False(CoefficientsKernel<float>.ProjectsInTiles(new CoefficientsShape(64, 3, 64)), "n = 3 on 256-bit lanes");
        Assert.Equal(NarrowTileRuns, CoefficientsKernel<float>.ProjectsInTiles(new CoefficientsShape(4, 4, 64)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public unsafe void TileMatchesLibtorchsProduct(bool wide)
    {
        using var scope = NewDisposeScope();
        ProjectionLanes<float>.Wide = wide;
        const int width = 4 * 29, stride = 31;
        if (!wide && !NarrowTileRuns)
        {
            // No 256-bit fused multiply-add here: the tile cannot run, and the forward must not choose it.
            Assert.False(ProjectionRows.Applies(ProjectionRows.Projections, width), "the 256-bit tile chosen without its instructions");
            return;
        }
        int tile = ProjectionRows.Tokens;
        var generator = manual_seed(5);
        var x = Random([tile, width], 1.0, ScalarType.Float32, generator);
        var phi = Random([width, 24], 0.3, ScalarType.Float32, generator);
        var q = zeros(tile * stride, dtype: ScalarType.Float32);
        using (ProjectionRows.Layout(TensorMemory.Pointer<float>(phi), width, out float* layout))
            ProjectionRows.Tile(TensorMemory.Pointer<float>(x), layout, TensorMemory.Pointer<float>(q), stride, width);

        var products = q.view(tile, stride).narrow(1, 0, 24);
        Close(products, Values(x.to(ScalarType.Float64).mm(phi.to(ScalarType.Float64))), 1e-5, "v·φ");
        Assert.Equal(0.0, q.view(tile, stride).narrow(1, 24, stride - 24).abs().max().item<float>());
    }
}

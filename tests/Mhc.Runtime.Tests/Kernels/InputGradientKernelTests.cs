using Mhc.Runtime.Kernels;
using Mhc.Runtime.Ops.Fused;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Kernels;

/// <summary>
/// The one pass for ∂x and ∂φ (<see cref="InputGradientKernel{T}"/>) against the same sums from libtorch's ops:
/// ∂x = gq·φᵀ + scale·x + H_pre ⊗ dh + Mᵀ·dy and ∂φ = vᵀ·gq, on both lane widths, with every term and with the
/// coefficients op's terms alone, at token counts around the tile of eight (whole tiles, a tile and a remainder, a
/// remainder alone), widths that leave a scalar tail and widths over the split products' column range (n = 4, on 512-bit
/// lanes and, halves of ∂φᵀ's column at a time, on 256-bit ones), in one chunk and split over many (∂φ's partial per chunk).
/// </summary>
public sealed class InputGradientKernelTests : IDisposable
{
    private readonly bool _wideByDefault = ProjectionLanes<double>.Wide;

    public void Dispose()
    {
        ProjectionLanes<double>.Wide = ProjectionLanes<float>.Wide = _wideByDefault;
        TokenChunks.MinOperationsPerChunk = TokenChunks.DefaultMinOperationsPerChunk;
    }

    public static TheoryData<bool, long, long, long, bool> Cases()
    {
        var data = new TheoryData<bool, long, long, long, bool>();
        foreach (bool wide in new[] { true, false })
        {
            foreach (long tokens in new long[] { 1, 7, 8, 17, 501 })
                data.Add(wide, 4, tokens, 19, tokens == 501);
            data.Add(wide, 4, 64, 32, false);
            // nC = 148 > 128, the float64 columns of φᵀ in half of L1: two column ranges, the second with a tail;
            // 203 tokens: three whole blocks of 64 and one of 11 (a tile and three single tokens).
            data.Add(wide, 4, 203, 37, false);
            data.Add(wide, 4, 203, 37, true);
            data.Add(wide, 2, 33, 19, true);
            data.Add(wide, 3, 40, 16, true);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PassAgreesWithLibtorchsProductsInFloat64(bool wide, long n, long tokens, long channels, bool manyChunks)
    {
        using var scope = NewDisposeScope();
        ProjectionLanes<double>.Wide = wide;
        if (manyChunks) TokenChunks.MinOperationsPerChunk = 1;
        var operands = new PassOperands(n, tokens, channels, ScalarType.Float64, seed: 41 + n + tokens + channels);
        operands.AgreeWithLibtorch(withPreMix: true, withMerge: true, 1e-12);
        operands.AgreeWithLibtorch(withPreMix: false, withMerge: false, 1e-12);
        operands.AgreeWithLibtorch(withPreMix: false, withMerge: true, 1e-12);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void PassAgreesInFloat32(bool wide)
    {
        using var scope = NewDisposeScope();
        ProjectionLanes<float>.Wide = wide;
        TokenChunks.MinOperationsPerChunk = 1;
        new PassOperands(4, 203, 40, ScalarType.Float32, seed: 5).AgreeWithLibtorch(withPreMix: true, withMerge: true, 1e-5);
        // nC = 284 > 256, the float32 columns in half of L1.
        new PassOperands(4, 131, 71, ScalarType.Float32, seed: 6).AgreeWithLibtorch(withPreMix: true, withMerge: true, 1e-5);
    }

    /// <summary>Random operands of one pass, and the sums it must make.</summary>
    private sealed class PassOperands
    {
        private readonly Tensor _x, _phi, _gq, _scale, _hPre, _dh, _mix, _dy;
        private readonly long _tokens, _n, _channels;

        public PassOperands(long n, long tokens, long channels, ScalarType dtype, long seed)
        {
            var generator = manual_seed(seed);
            long m = n * n + 2 * n;
            (_tokens, _n, _channels) = (tokens, n, channels);
            _x = Random([tokens, n, channels], 1.0, dtype, generator);
            _phi = Random([n * channels, m], 0.3, dtype, generator);
            _gq = Random([tokens, m], 1.0, dtype, generator);
            _scale = Random([tokens, 1], 0.5, dtype, generator);
            _hPre = Random([tokens, n], 1.0, dtype, generator);
            _dh = Random([tokens, channels], 1.0, dtype, generator);
            _mix = Random([tokens, n, n], 0.5, dtype, generator);
            _dy = Random([tokens, n, channels], 1.0, dtype, generator);
        }

        public void AgreeWithLibtorch(bool withPreMix, bool withMerge, double tolerance)
        {
            var chain = new CoefficientsFunction.ChainResult(_gq, _scale, empty(1), empty(1));
            var (gradX, gradPhi) = CoefficientsFunction.InputGradient(_x, _phi, chain,
                withPreMix ? _hPre : null, withPreMix ? _dh : null, withMerge ? _mix : null, withMerge ? _dy : null);

            using var x64 = _x.to(ScalarType.Float64);
            var v = x64.view(_tokens, _n * _channels);
            var gq = _gq.to(ScalarType.Float64);
            var expectedX = (gq.mm(_phi.to(ScalarType.Float64).t()) + _scale.to(ScalarType.Float64) * v).view(_tokens, _n, _channels);
            if (withPreMix)
                expectedX += _hPre.to(ScalarType.Float64).unsqueeze(-1) * _dh.to(ScalarType.Float64).unsqueeze(-2);
            if (withMerge)
                expectedX += _mix.to(ScalarType.Float64).transpose(-1, -2).matmul(_dy.to(ScalarType.Float64));
            string what = $"n = {_n}, {_tokens} tokens, C = {_channels}, pre-mix {withPreMix}, merge {withMerge}";
            Close(gradX, Values(expectedX), tolerance, "∂x, " + what);
            Close(gradPhi, Values(v.t().mm(gq)), tolerance, "∂φ, " + what);
        }
    }
}

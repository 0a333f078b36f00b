using Mhc.Runtime.Kernels;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Kernels;

/// <summary>
/// A lone token's projection at n = 4 (a decoding step), which runs in two registers (<see cref="SinkhornKernel{T}.ForwardOne"/>),
/// against the same matrices projected in blocks of lanes: the same bits, so that decoding one token at a time gives the
/// H_res the whole window's forward gives; and against the reference ops in float64.
/// </summary>
public sealed class SinkhornKernelTests
{
    [Theory]
    [InlineData(1.0, 20)]
    [InlineData(6.0, 20)]
    [InlineData(40.0, 7)]
    public unsafe void OneTokenHasTheBitsOfTheSameTokenInABlock(double scale, int iterations)
    {
        Assert.Equal(System.Runtime.Intrinsics.X86.Avx.IsSupported, SinkhornKernel<float>.RunsOneInRegisters);
        using var scope = NewDisposeScope();
        const long tokens = 19;
        var logits = (randn([tokens, 4, 4], generator: manual_seed(11)) * scale).contiguous();
        // An entry far below its column's maximum, so that a column's exponentials underflow towards the empty sum.
        logits[3, 2, 1] = tensor(-200f);
        var block = empty_like(logits);
        SinkhornKernel<float>.Forward(TensorMemory.Pointer<float>(logits), TensorMemory.Pointer<float>(block), tokens, 4, iterations);
        for (long t = 0; t < tokens; t++)
        {
            var one = empty(4, 4);
            var token = logits[t].contiguous();
            SinkhornKernel<float>.Forward(TensorMemory.Pointer<float>(token), TensorMemory.Pointer<float>(one), 1, 4, iterations);
            Assert.True(TensorAssert.BitEqual(one, block[t]), $"token {t}: alone {one.str()}, in a block {block[t].str()}");
        }
        // Logits spread by 40 make the scaling ill-conditioned: float32 then differs from float64 by far more than rounding
        // in any implementation, and only the bits between the two paths are compared.
        if (scale > 10)
            return;
        var expected = Mhc.Runtime.Ops.Reference.ReferenceOps.Sinkhorn(logits.to(ScalarType.Float64), iterations, ConnectionConvention.MhcSpec);
        Ops.OpsAssert.Close(block, expected, 1e-5, "H_res against the reference in float64");
    }
}

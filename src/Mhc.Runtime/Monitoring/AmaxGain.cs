using static TorchSharp.torch;

namespace Mhc.Runtime.Monitoring;

/// <summary>
/// The Amax gain of MHC-SPEC §6: how much a residual mixing matrix can amplify a signal. Forward gain
/// is the largest absolute row sum, backward gain the largest absolute column sum.
/// </summary>
public static class AmaxGain
{
    /// <summary>Forward gains of matrices [..., n, n] → [...].</summary>
    public static Tensor Forward(Tensor matrices)
    {
        RequireSquare(matrices);
        using var abs = matrices.abs();
        using var rowSums = abs.sum(-1L);
        return rowSums.amax(new long[] { -1 });
    }

    /// <summary>Backward gains of matrices [..., n, n] → [...].</summary>
    public static Tensor Backward(Tensor matrices)
    {
        RequireSquare(matrices);
        using var abs = matrices.abs();
        using var columnSums = abs.sum(-2L);
        return columnSums.amax(new long[] { -1 });
    }

    /// <summary>
    /// Composite maps <c>C_l = H_l · H_{l−1} ⋯ H_1</c> of a sequence of per-layer matrices (the first
    /// applied first), each [..., n, n] with the same leading shape.
    /// </summary>
    public static IReadOnlyList<Tensor> Composite(IReadOnlyList<Tensor> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        var composites = new List<Tensor>(layers.Count);
        Tensor? product = null;
        foreach (var layer in layers)
        {
            RequireSquare(layer);
            product = product is null ? layer.clone() : layer.matmul(product);
            composites.Add(product);
        }
        return composites;
    }

    private static void RequireSquare(Tensor matrices)
    {
        var shape = matrices.shape;
        if (shape.Length < 2 || shape[^1] != shape[^2])
            throw new ArgumentException($"Expected square matrices [..., n, n], got [{string.Join(", ", shape)}].", nameof(matrices));
    }
}

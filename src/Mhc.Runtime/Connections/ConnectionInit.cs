namespace Mhc.Runtime;

/// <summary>
/// The function-preserving, symmetry-breaking initialisation of MHC-SPEC §5: with identical streams
/// (as after Expand) a fresh connection computes exactly <c>x + F(x)</c>, while the layer-dependent
/// H_pre makes the streams receive different gradients so they do not stay identical forever.
/// </summary>
internal static class ConnectionInit
{
    /// <summary>H_pre at init: stream <c>layer mod n</c> gets twice the weight of the others; the weights sum to 1.</summary>
    public static double[] PreWeights(int streams, int layerIndex)
    {
        var weights = new double[streams];
        int favoured = ((layerIndex % streams) + streams) % streams;
        for (int i = 0; i < streams; i++)
            weights[i] = (i == favoured ? 2.0 : 1.0) / (streams + 1);
        return weights;
    }

    public static double Logit(double p) => Math.Log(p / (1 - p));

    /// <summary>The mHC bias vector [pre n | post n | res n²]: σ(pre) = PreWeights, 2σ(post) = 1, res near the identity.</summary>
    public static float[] MhcBias(int streams, int layerIndex, double identityLogitGap)
    {
        int n = streams;
        var bias = new float[n * n + 2 * n];
        var pre = PreWeights(n, layerIndex);
        for (int i = 0; i < n; i++)
            bias[i] = (float)Logit(pre[i]);
        // post: 2σ(0) = 1, so bias[n..2n) stays 0.
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                bias[2 * n + i * n + j] = i == j ? 0f : (float)-identityLogitGap;
        return bias;
    }
}

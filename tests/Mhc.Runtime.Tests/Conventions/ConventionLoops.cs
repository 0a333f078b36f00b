namespace Mhc.Runtime.Tests.Conventions;

/// <summary>What one connection computes for one token, in float64.</summary>
internal sealed record LoopResult(double[] Pre, double[] Post, double[,] HRes, double[,] Output);

/// <summary>
/// The formulas of docs/compat-spec.md written out as plain loops over arrays, one token at a time, with the
/// branch F(h) = tanh(h·W). Deliberately independent of the runtime: no tensors, no shared helpers, and the
/// Sinkhorn without the runtime's overflow guards (the test inputs are mild).
/// </summary>
internal static class ConventionLoops
{
    private const double CompatEpsilon = 1e-6;

    /// <param name="x">The token's streams [n, C].</param>
    /// <param name="phi">[n·C, m], row-major, columns [pre n | post n | res n²].</param>
    /// <param name="w">The branch weight [C, C].</param>
    public static LoopResult Connection(ConnectionConvention convention, double[,] x, double[,] phi, double[] bias,
        double[] alpha, double[,] w, int iterations, double rmsEps)
    {
        int n = x.GetLength(0), c = x.GetLength(1), width = n * c, m = n * n + 2 * n;
        bool compat = convention != ConnectionConvention.MhcSpec;

        double squares = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++)
                squares += x[i, k] * x[i, k];
        double r = convention == ConnectionConvention.Megatron
            ? Math.Sqrt(squares) / Math.Sqrt(width) + rmsEps
            : Math.Sqrt(squares / width + rmsEps);

        var p = new double[m];
        for (int j = 0; j < m; j++)
        {
            double dot = 0;
            for (int i = 0; i < n; i++)
                for (int k = 0; k < c; k++)
                    dot += x[i, k] * phi[i * c + k, j];
            p[j] = dot / r;
        }

        var pre = new double[n];
        var post = new double[n];
        var logits = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            pre[i] = Sigmoid(alpha[0] * p[i] + bias[i]) + (compat ? CompatEpsilon : 0);
            post[i] = 2 * Sigmoid(alpha[1] * p[n + i] + bias[n + i]);
            for (int j = 0; j < n; j++)
                logits[i, j] = alpha[2] * p[2 * n + i * n + j] + bias[2 * n + i * n + j];
        }
        var hRes = compat ? SoftmaxSinkhorn(logits, iterations) : ExpSinkhorn(logits, iterations);

        var h = new double[c];
        for (int k = 0; k < c; k++)
            for (int i = 0; i < n; i++)
                h[k] += pre[i] * x[i, k];
        var f = new double[c];
        for (int k = 0; k < c; k++)
        {
            double sum = 0;
            for (int l = 0; l < c; l++)
                sum += h[l] * w[l, k];
            f[k] = Math.Tanh(sum);
        }

        var output = new double[n, c];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < c; k++)
            {
                double sum = post[i] * f[k];
                for (int j = 0; j < n; j++)
                    sum += (compat ? hRes[j, i] : hRes[i, j]) * x[j, k];
                output[i, k] = sum;
            }
        return new LoopResult(pre, post, hRes, output);
    }

    /// <summary>MHC-SPEC §3: exp, then t rounds of columns and rows.</summary>
    public static double[,] ExpSinkhorn(double[,] logits, int iterations)
    {
        int n = logits.GetLength(0);
        var mat = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                mat[i, j] = Math.Exp(logits[i, j]);
        for (int t = 0; t < iterations; t++)
        {
            NormaliseColumns(mat, 0);
            NormaliseRows(mat, 0);
        }
        return mat;
    }

    /// <summary>Megatron-LM / DeepSeek-V4: row softmax + ε, columns, then t − 1 rounds of rows and columns, sums + ε.</summary>
    public static double[,] SoftmaxSinkhorn(double[,] logits, int iterations)
    {
        int n = logits.GetLength(0);
        var mat = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++)
                sum += Math.Exp(logits[i, j]);
            for (int j = 0; j < n; j++)
                mat[i, j] = Math.Exp(logits[i, j]) / sum + CompatEpsilon;
        }
        NormaliseColumns(mat, CompatEpsilon);
        for (int t = 1; t < iterations; t++)
        {
            NormaliseRows(mat, CompatEpsilon);
            NormaliseColumns(mat, CompatEpsilon);
        }
        return mat;
    }

    private static void NormaliseColumns(double[,] mat, double eps) => Normalise(mat, eps, columns: true);

    private static void NormaliseRows(double[,] mat, double eps) => Normalise(mat, eps, columns: false);

    /// <summary>Divides each column (or row) by its sum + ε.</summary>
    private static void Normalise(double[,] mat, double eps, bool columns)
    {
        int n = mat.GetLength(0);
        for (int line = 0; line < n; line++)
        {
            double sum = 0;
            for (int k = 0; k < n; k++)
                sum += columns ? mat[k, line] : mat[line, k];
            for (int k = 0; k < n; k++)
            {
                if (columns) mat[k, line] /= sum + eps;
                else mat[line, k] /= sum + eps;
            }
        }
    }

    private static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
}

using System.Globalization;
using System.Text;

namespace Mhc.Runtime.Monitoring;

/// <summary>Mean and maximum of a per-token quantity over the probe batch.</summary>
public readonly record struct GainStatistic(double Mean, double Max)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Mean:0.####} (max {Max:0.####})");
}

/// <summary>
/// Gains of one connection for a probe batch: single-layer (its own H_res) and composite (the product
/// of every H_res up to and including this one, in execution order).
/// </summary>
/// <param name="Order">Position in execution order (0 = the connection that saw the embeddings).</param>
/// <param name="Name">Qualified module name, e.g. <c>h.0.hc_attn</c>.</param>
/// <param name="MaxColumnError">Largest |column sum − 1| of H_res over the batch: Sinkhorn leaves columns approximate.</param>
public sealed record ConnectionGains(
    int Order,
    string Name,
    int LayerIndex,
    ConnectionKind Kind,
    GainStatistic Forward,
    GainStatistic Backward,
    GainStatistic CompositeForward,
    GainStatistic CompositeBackward,
    double MaxColumnError);

/// <summary>The Amax gains of every connection of a model for one probe batch, in execution order.</summary>
public sealed record AmaxReport(IReadOnlyList<ConnectionGains> Connections)
{
    /// <summary>The largest composite forward or backward gain over every layer and token.</summary>
    public double MaxCompositeGain => Connections.Count == 0 ? 1.0
        : Connections.Max(c => Math.Max(c.CompositeForward.Max, c.CompositeBackward.Max));

    /// <summary>A fixed-width table, one connection a line.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine("layer  connection              fwd gain (mean/max)   bwd gain (mean/max)   composite fwd         composite bwd         col err");
        foreach (var c in Connections)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{c.Order,5}  {Truncate(c.Name, 22),-22}  {c.Forward.Mean,8:0.0000}/{c.Forward.Max,-10:0.0000}  {c.Backward.Mean,8:0.0000}/{c.Backward.Max,-10:0.0000}  " +
                $"{c.CompositeForward.Mean,8:0.0000}/{c.CompositeForward.Max,-10:0.0000}  {c.CompositeBackward.Mean,8:0.0000}/{c.CompositeBackward.Max,-10:0.0000}  {c.MaxColumnError:0.0e+0}");
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private static string Truncate(string s, int width) => s.Length <= width ? s : "…" + s[^(width - 1)..];
}

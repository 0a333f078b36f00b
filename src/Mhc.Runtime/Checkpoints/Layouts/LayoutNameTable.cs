using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>
/// The names a layout gives the model's other tensors (embeddings, norms, attention, MLP), in both
/// directions. Each row pairs a model name with a layout name, <c>{i}</c> standing for a layer number in
/// both, and may carry a transform and its inverse for tensors stored differently. Names no row matches
/// keep their own name.
/// </summary>
public sealed class LayoutNameTable
{
    private readonly List<Row> _rows = [];

    private sealed record Row(Regex Ours, string OursTemplate, Regex Theirs, string TheirsTemplate,
        Func<Tensor, Tensor>? ToTheirs, Func<Tensor, Tensor>? ToOurs);

    /// <summary>No renames: every tensor keeps its model name.</summary>
    public static LayoutNameTable Unchanged => new();

    /// <summary>Model name <paramref name="ours"/> is <paramref name="theirs"/> in the layout; the transforms convert the tensor each way (both or neither).</summary>
    public LayoutNameTable Add(string ours, string theirs, Func<Tensor, Tensor>? toTheirs = null, Func<Tensor, Tensor>? toOurs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(ours);
        ArgumentException.ThrowIfNullOrEmpty(theirs);
        if ((toTheirs is null) != (toOurs is null))
            throw new ArgumentException("Give both transforms or neither: an import must undo what the export did.");
        _rows.Add(new Row(Template(ours), ours, Template(theirs), theirs, toTheirs, toOurs));
        return this;
    }

    /// <summary>The layout's name for model entry <paramref name="name"/>, and the transform to apply.</summary>
    internal (string Name, Func<Tensor, Tensor>? Transform) ToLayout(string name)
    {
        foreach (var row in _rows)
        {
            var match = row.Ours.Match(name);
            if (match.Success) return (Fill(row.TheirsTemplate, match), row.ToTheirs);
        }
        return (name, null);
    }

    /// <summary>The model name for layout entry <paramref name="name"/>, and the transform to apply.</summary>
    internal (string Name, Func<Tensor, Tensor>? Transform) FromLayout(string name)
    {
        foreach (var row in _rows)
        {
            var match = row.Theirs.Match(name);
            if (match.Success) return (Fill(row.OursTemplate, match), row.ToOurs);
        }
        return (name, null);
    }

    private static Regex Template(string template) =>
        new("^" + Regex.Escape(template).Replace(@"\{i}", @"(?<i>\d+)") + "$", RegexOptions.CultureInvariant);

    private static string Fill(string template, Match match) =>
        match.Groups["i"].Success ? template.Replace("{i}", match.Groups["i"].Value) : template;
}

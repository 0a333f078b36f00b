using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints;

/// <summary>
/// Says under which model name each checkpoint tensor loads. Exact names are looked up first; prefix
/// rules and patterns are then tried in the order added, the first that matches wins; then the user
/// function; a name nothing answers keeps its own name. A rule may drop a name (a buffer the model recomputes, a tied copy)
/// and a tensor may be transformed on the way in (PyTorch <c>Conv1D</c> weights are stored transposed).
/// </summary>
public sealed class NameMap
{
    private readonly Dictionary<string, string?> _exact = new(StringComparer.Ordinal);
    // Prefix rules and patterns in the order added: each answers (matched, model name or null to drop).
    private readonly List<Func<string, (bool Matched, string? Name)>> _rules = [];
    private readonly List<(Regex TargetPattern, Func<Tensor, Tensor> Transform, string Description)> _transforms = [];
    private Func<string, string?>? _function;

    /// <summary>Names load as they are.</summary>
    public static NameMap Identity => new();

    /// <summary>The checkpoint tensor <paramref name="from"/> loads as <paramref name="to"/>.</summary>
    public NameMap Exact(string from, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(from);
        ArgumentException.ThrowIfNullOrEmpty(to);
        _exact[from] = to;
        return this;
    }

    /// <summary>Names starting with <paramref name="from"/> load with that prefix replaced by <paramref name="to"/> (which may be empty).</summary>
    public NameMap Prefix(string from, string to)
    {
        ArgumentException.ThrowIfNullOrEmpty(from);
        ArgumentNullException.ThrowIfNull(to);
        _rules.Add(name => name.StartsWith(from, StringComparison.Ordinal) ? (true, to + name[from.Length..]) : (false, null));
        return this;
    }

    /// <summary>Names matching the whole of <paramref name="pattern"/> (a regular expression) load as <paramref name="replacement"/>, with <c>$1</c> … for its groups.</summary>
    public NameMap Pattern(string pattern, string replacement)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        var regex = Anchored(pattern);
        _rules.Add(name => regex.IsMatch(name) ? (true, regex.Replace(name, replacement)) : (false, null));
        return this;
    }

    /// <summary>Checkpoint tensors whose whole name matches <paramref name="pattern"/> are not loaded (reported as ignored).</summary>
    public NameMap Ignore(string pattern)
    {
        var regex = Anchored(pattern);
        _rules.Add(name => (regex.IsMatch(name), null));
        return this;
    }

    /// <summary>A function from checkpoint name to model name (null: not loaded), asked when no other rule answered.</summary>
    public NameMap Function(Func<string, string?> map)
    {
        _function = map ?? throw new ArgumentNullException(nameof(map));
        return this;
    }

    /// <summary>Tensors loading into a model name matching <paramref name="targetPattern"/> pass through <paramref name="transform"/> first.</summary>
    public NameMap Transform(string targetPattern, Func<Tensor, Tensor> transform, string description)
    {
        ArgumentNullException.ThrowIfNull(transform);
        _transforms.Add((Anchored(targetPattern), transform, description));
        return this;
    }

    /// <summary>The model name <paramref name="checkpointName"/> loads as, or null when it is not loaded.</summary>
    public string? Map(string checkpointName)
    {
        ArgumentNullException.ThrowIfNull(checkpointName);
        if (_exact.TryGetValue(checkpointName, out var exact)) return exact;
        foreach (var rule in _rules)
        {
            var (matched, name) = rule(checkpointName);
            if (matched) return name;
        }
        return _function is null ? checkpointName : _function(checkpointName);
    }

    /// <summary>The transform for tensors loading as <paramref name="modelName"/>, or null.</summary>
    internal Func<Tensor, Tensor>? TransformFor(string modelName) =>
        _transforms.FirstOrDefault(t => t.TargetPattern.IsMatch(modelName)).Transform;

    private static Regex Anchored(string pattern)
    {
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        return new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// Hugging Face GPT-2 (<c>GPT2LMHeadModel</c>) names to a model named like the sample GPT (<c>wte</c>,
    /// <c>h.{i}.attn.c_attn</c>, …, <c>lm_head</c>): drops the <c>transformer.</c> prefix and the attention
    /// mask buffers, transposes the <c>Conv1D</c> weights into <c>Linear</c>'s [out, in], and takes the
    /// tied <c>lm_head.weight</c> from <c>wte.weight</c> when the file leaves it out (safetensors does).
    /// </summary>
    public static NameMap HuggingFaceGpt2() => new NameMap()
        .Ignore(@"(transformer\.)?h\.\d+\.attn\.(masked_)?bias")
        .Prefix("transformer.", "")
        .Transform(@"h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight", w => w.t(), "Conv1D [in, out] → Linear [out, in]")
        .Tie("lm_head.weight", "wte.weight");

    private readonly List<(string Target, string Source)> _ties = [];

    /// <summary>When the checkpoint has nothing for <paramref name="modelName"/>, it loads from the tensor that loads as <paramref name="fromModelName"/> (tied weights).</summary>
    public NameMap Tie(string modelName, string fromModelName)
    {
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        ArgumentException.ThrowIfNullOrEmpty(fromModelName);
        _ties.Add((modelName, fromModelName));
        return this;
    }

    internal IReadOnlyList<(string Target, string Source)> Ties => _ties;
}

using System.Collections.Immutable;
using System.Linq;

namespace Mhc.Analyzers.Detection.Flow;

/// <summary>
/// What the stream analysis knows of one value: which stream states it was computed from, whether it is one
/// of them exactly (the identity path), and after which of them a module ran on the way (a branch of them).
/// </summary>
/// <param name="Identity">Exactly this stream state.</param>
/// <param name="Derived">Exactly one module applied to a stream state.</param>
/// <param name="IdentityOrDerived">A state on one path and a module applied to it on the other (an optional shortcut).</param>
/// <param name="Reads">The stream states and derived values it is computed from.</param>
/// <param name="ModuleAfter">
/// Those of <paramref name="Reads"/> after which a module ran on the way to this value: <c>attn(ln(x))</c> is a
/// branch of x; <c>0.044715 * pow(h, 3)</c> is computed from h but is no branch of it.
/// </param>
internal sealed record FlowValue(
    StreamState? Identity,
    DerivedState? Derived,
    DerivedState? IdentityOrDerived,
    ImmutableHashSet<object> Reads,
    ImmutableHashSet<object> ModuleAfter)
{
    public static readonly FlowValue None = new(null, null, null, ImmutableHashSet<object>.Empty, ImmutableHashSet<object>.Empty);

    /// <summary>Exactly the stream state <paramref name="state"/>.</summary>
    public static FlowValue Of(StreamState state) => new(state, null, null, ImmutableHashSet.Create<object>(state), ImmutableHashSet<object>.Empty);

    /// <summary>Exactly one module applied to a stream state: a module ran after the state, none yet after this value.</summary>
    public static FlowValue Of(DerivedState derived)
        => new(null, derived, null, ImmutableHashSet.Create<object>(derived.Parent, derived), ImmutableHashSet.Create<object>(derived.Parent));

    public bool DependsOn(object token) => Reads.Contains(token);

    /// <summary>True when a module ran between <paramref name="token"/> and this value: it is a branch of it.</summary>
    public bool BranchOf(object token) => ModuleAfter.Contains(token);

    /// <summary>The stream states (not derived values) this value reads.</summary>
    public ImmutableArray<StreamState> States => Reads.OfType<StreamState>().ToImmutableArray();

    /// <summary>A value computed from this one by something other than a module: the same reads, no longer the state itself.</summary>
    public FlowValue Computed()
        => Identity is null && Derived is null && IdentityOrDerived is null
            ? this
            : new FlowValue(null, null, null, Reads, ModuleAfter);

    /// <summary>
    /// A value computed from several others: by a module run (<paramref name="throughModule"/>: then a module ran
    /// after everything they read), or by an operator, a call that is no module run, a record.
    /// </summary>
    public static FlowValue Combine(System.Collections.Generic.IEnumerable<FlowValue> parts, bool throughModule = false)
    {
        var reads = ImmutableHashSet<object>.Empty;
        var after = ImmutableHashSet<object>.Empty;
        foreach (var part in parts)
        {
            reads = reads.Union(part.Reads);
            after = after.Union(part.ModuleAfter);
        }

        if (throughModule)
        {
            after = reads;
        }

        return reads.IsEmpty ? None : new FlowValue(null, null, null, reads, after);
    }

    /// <summary>
    /// What a variable holds after two paths meet (the arms of an if, a loop's first and later iterations).
    /// A state merged with a module applied to it is an optional shortcut: <c>if (downsample != null) identity = downsample(x);</c>.
    /// </summary>
    public static FlowValue Merge(FlowValue a, FlowValue b)
    {
        if (a == b)
        {
            return a;
        }

        var optional = a.IdentityOrDerived ?? b.IdentityOrDerived
            ?? (a.Identity is { } s && b.Derived is { } d && d.Parent == s ? d
                : b.Identity is { } t && a.Derived is { } e && e.Parent == t ? e
                : null);
        return new FlowValue(
            a.Identity == b.Identity ? a.Identity : null,
            a.Derived == b.Derived ? a.Derived : null,
            optional,
            a.Reads.Union(b.Reads),
            a.ModuleAfter.Union(b.ModuleAfter));
    }
}

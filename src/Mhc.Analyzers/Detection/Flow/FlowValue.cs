using System.Collections.Immutable;
using System.Linq;

namespace Mhc.Analyzers.Detection.Flow;

/// <summary>
/// What the stream analysis knows of one value: which stream states it was computed from, whether it is one
/// of them exactly (the identity path), and whether a module ran on the way (a branch).
/// </summary>
internal sealed record FlowValue(
    StreamState? Identity,
    DerivedState? Derived,
    DerivedState? IdentityOrDerived,
    ImmutableHashSet<object> Reads,
    bool ThroughModule)
{
    public static readonly FlowValue None = new(null, null, null, ImmutableHashSet<object>.Empty, false);

    /// <summary>Exactly the stream state <paramref name="state"/>.</summary>
    public static FlowValue Of(StreamState state) => new(state, null, null, ImmutableHashSet.Create<object>(state), false);

    /// <summary>Exactly one module applied to a stream state.</summary>
    public static FlowValue Of(DerivedState derived)
        => new(null, derived, null, ImmutableHashSet.Create<object>(derived.Parent, derived), true);

    public bool ReadsStreams => !Reads.IsEmpty;

    public bool DependsOn(object token) => Reads.Contains(token);

    /// <summary>The stream states (not derived values) this value reads.</summary>
    public ImmutableArray<StreamState> States => Reads.OfType<StreamState>().ToImmutableArray();

    /// <summary>A value computed from this one: the same reads, no longer the state itself.</summary>
    public FlowValue Computed(bool throughModule = false)
        => Identity is null && Derived is null && IdentityOrDerived is null && (ThroughModule || !throughModule)
            ? this
            : new FlowValue(null, null, null, Reads, ThroughModule || throughModule);

    /// <summary>A value computed from several others (an operator, a call that is not a module run, a record).</summary>
    public static FlowValue Combine(System.Collections.Generic.IEnumerable<FlowValue> parts, bool throughModule = false)
    {
        var reads = ImmutableHashSet<object>.Empty;
        var module = throughModule;
        foreach (var part in parts)
        {
            reads = reads.Union(part.Reads);
            module |= part.ThroughModule;
        }

        return reads.IsEmpty && !module ? None : new FlowValue(null, null, null, reads, module);
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
            a.ThroughModule || b.ThroughModule);
    }
}

using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Detection.Flow;

/// <summary>
/// Where a tensor enters a <c>forward</c> method: a tensor parameter (<c>x</c>) or a tensor member of a
/// parameter (<c>input.HiddenStates</c>). Every input is followed; the one that residual connections run
/// along is the block's stream.
/// </summary>
internal sealed class StreamOrigin
{
    public StreamOrigin(int id, IParameterSymbol parameter, ISymbol? member)
    {
        Id = id;
        Parameter = parameter;
        Member = member;
    }

    public int Id { get; }

    public IParameterSymbol Parameter { get; }

    /// <summary>The tensor property or field of <see cref="Parameter"/>, or null when the parameter itself is the tensor.</summary>
    public ISymbol? Member { get; }

    /// <summary>How the origin is written in the method: <c>x</c> or <c>input.HiddenStates</c>.</summary>
    public string Display => Member is null ? Parameter.Name : Parameter.Name + "." + Member.Name;

    public override string ToString() => Display;
}

/// <summary>
/// One state of a residual stream: the origin as it enters (version 0), or what a residual connection
/// produced from the previous state. Compared by reference.
/// </summary>
internal sealed class StreamState
{
    public StreamState(StreamOrigin origin, int version, object? producer)
    {
        Origin = origin;
        Version = version;
        Producer = producer;
    }

    public StreamOrigin Origin { get; }

    public int Version { get; }

    /// <summary>The residual sum (a <see cref="SumFact"/>) that produced this state; null for the method's input.</summary>
    public object? Producer { get; }

    public override string ToString() => $"{Origin}#{Version}";
}

/// <summary>
/// The result of one module applied directly to a stream state: <c>norm(x)</c>, <c>shortcut(x)</c>,
/// <c>downsample(x)</c>. Kept apart from other branch values because a sum that uses it as its identity
/// operand is post-norm or a residual around an inner tensor, and one that adds it to a branch of the same
/// state is a projection shortcut.
/// </summary>
internal sealed class DerivedState
{
    public DerivedState(StreamState parent, IInvocationOperation call, ISymbol? member, ITypeSymbol? moduleType)
    {
        Parent = parent;
        Call = call;
        Member = member;
        ModuleType = moduleType;
    }

    public StreamState Parent { get; }

    /// <summary>The module run, <c>ln.forward(x)</c>.</summary>
    public IInvocationOperation Call { get; }

    /// <summary>The field or property run, when it is one.</summary>
    public ISymbol? Member { get; }

    public ITypeSymbol? ModuleType { get; }

    public override string ToString() => $"{Member?.Name ?? "module"}({Parent})";
}

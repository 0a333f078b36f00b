using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Vocabulary;

/// <summary>
/// How a TorchSharp module is run: <c>m.forward(...)</c> or <c>m.call(...)</c>, <c>call</c> being the public entry
/// that runs hooks. One matcher for syntax and one for operations, used by every rule, the generator and the fix.
/// </summary>
internal static class ModuleCalls
{
    public static bool IsRunMethodName(string name) => name is "forward" or "call";

    /// <summary>The receiver of <c>receiver.forward(...)</c> / <c>receiver.call(...)</c>, whatever its type; null otherwise.</summary>
    public static ExpressionSyntax? Receiver(InvocationExpressionSyntax invocation)
        => invocation.Expression is MemberAccessExpressionSyntax access && IsRunMethodName(access.Name.Identifier.ValueText)
            ? access.Expression
            : null;

    /// <summary>The module type when the invocation runs a TorchSharp module; null for anything else.</summary>
    public static ITypeSymbol? ModuleType(InvocationExpressionSyntax invocation, SemanticModel model, TorchSymbols symbols, System.Threading.CancellationToken ct)
        => Receiver(invocation) is { } receiver && model.GetTypeInfo(receiver, ct).Type is { } type && symbols.IsModule(type)
            ? type
            : null;

    /// <summary>True when the operation runs a module: an instance <c>forward</c>/<c>call</c> on a module type.</summary>
    public static bool IsModuleRun(IInvocationOperation invocation, TorchSymbols symbols)
        => invocation.Instance is not null
           && IsRunMethodName(invocation.TargetMethod.Name)
           && symbols.IsModule(invocation.Instance.Type);

    /// <summary>The field or property a module run is made on (<c>ln_1</c> in <c>ln_1.forward(x)</c>, <c>this.mlp</c>), or null.</summary>
    public static ISymbol? ReceiverMember(IInvocationOperation invocation)
        => Unwrap(invocation.Instance) switch
        {
            IFieldReferenceOperation field => field.Field,
            IPropertyReferenceOperation { Arguments.Length: 0 } property => property.Property,
            _ => null,
        };

    /// <summary>A display name for the receiver: the member name, a list's name for <c>layers[i]</c>, else "branch".</summary>
    public static string ReceiverName(IInvocationOperation invocation)
    {
        var name = Unwrap(invocation.Instance) switch
        {
            IFieldReferenceOperation field => field.Field.Name,
            IPropertyReferenceOperation { Arguments.Length: 0 } property => property.Property.Name,
            IPropertyReferenceOperation { Instance: { } list } => Name(list),
            IArrayElementReferenceOperation element => Name(element.ArrayReference),
            ILocalReferenceOperation local => local.Local.Name,
            IParameterReferenceOperation parameter => parameter.Parameter.Name,
            _ => "",
        };
        name = name.TrimStart('_');
        return name.Length == 0 ? "branch" : name;

        static string Name(IOperation operation) => Unwrap(operation) switch
        {
            IFieldReferenceOperation field => field.Field.Name,
            IPropertyReferenceOperation property => property.Property.Name,
            ILocalReferenceOperation local => local.Local.Name,
            _ => "",
        };
    }

    /// <summary>The operation without conversions and parentheses around it.</summary>
    public static IOperation? Unwrap(IOperation? operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } or IParenthesizedOperation)
        {
            operation = operation is IConversionOperation conversion ? conversion.Operand : ((IParenthesizedOperation)operation).Operand;
        }

        return operation;
    }
}

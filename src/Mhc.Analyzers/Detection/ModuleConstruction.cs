using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection;

/// <summary>How a module member of a class is built, read from its constructors: the source of known widths.</summary>
internal static class ModuleConstruction
{
    /// <summary>
    /// The expression a member is built from in this class (<c>proj = Linear(d, 2 * d)</c>, or a field
    /// initializer), with the constructor that assigns it (null for an initializer).
    /// </summary>
    public static (InvocationExpressionSyntax Factory, ConstructorDeclarationSyntax? Constructor)? Find(ClassDeclarationSyntax @class, SemanticModel model, ISymbol member, CancellationToken ct)
    {
        foreach (var declarator in @class.Members.OfType<FieldDeclarationSyntax>().SelectMany(f => f.Declaration.Variables))
        {
            if (declarator.Identifier.ValueText == member.Name && declarator.Initializer?.Value is InvocationExpressionSyntax initializer)
            {
                return (initializer, null);
            }
        }

        foreach (var constructor in @class.Members.OfType<ConstructorDeclarationSyntax>())
        {
            if (constructor.Body is null)
            {
                continue;
            }

            foreach (var assignment in constructor.Body.DescendantNodes().OfType<AssignmentExpressionSyntax>())
            {
                if (assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
                    && assignment.Right is InvocationExpressionSyntax factory
                    && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(assignment.Left, ct).Symbol, member))
                {
                    return (factory, constructor);
                }
            }
        }

        return null;
    }

    public static string FactoryName(InvocationExpressionSyntax factory) => factory.Expression switch
    {
        IdentifierNameSyntax id => id.Identifier.ValueText,
        MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
        _ => "",
    };

    /// <summary>True when two widths from constructor arguments are known to differ: different constants, or <c>k * d</c> against <c>d</c>.</summary>
    public static bool WidthsDiffer(SemanticModel model, ExpressionSyntax first, ExpressionSyntax second, CancellationToken ct)
    {
        if (Constant(model, first, ct) is { } a && Constant(model, second, ct) is { } b)
        {
            return a != b;
        }

        return IsMultipleOf(model, second, first, ct) || IsMultipleOf(model, first, second, ct);
    }

    /// <summary><c>k * d</c> or <c>d * k</c> with a constant k other than 1.</summary>
    private static bool IsMultipleOf(SemanticModel model, ExpressionSyntax product, ExpressionSyntax width, CancellationToken ct)
    {
        if (product is not BinaryExpressionSyntax multiply || !multiply.IsKind(SyntaxKind.MultiplyExpression))
        {
            return false;
        }

        return (Constant(model, multiply.Left, ct) is { } k && k != 1 && SyntaxFactory.AreEquivalent(multiply.Right, width))
            || (Constant(model, multiply.Right, ct) is { } j && j != 1 && SyntaxFactory.AreEquivalent(multiply.Left, width));
    }

    public static long? Constant(SemanticModel model, ExpressionSyntax expression, CancellationToken ct)
        => model.GetConstantValue(expression, ct) is { HasValue: true, Value: int or long or short or byte or uint or ushort or sbyte } value
            ? System.Convert.ToInt64(value.Value, System.Globalization.CultureInfo.InvariantCulture)
            : null;
}

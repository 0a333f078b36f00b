using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Generator;

public sealed partial class HyperConnectionGenerator
{
    internal static class Parser
    {
        /// <summary>Null for classes the generator cannot extend: not partial, or nested in a type that is not (MHC0003 says so).</summary>
        public static HyperConnectedClass? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type
                || context.TargetNode is not ClassDeclarationSyntax declaration
                || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword)
                || ContainingDeclarations(declaration) is not { } containing)
            {
                return null;
            }

            var streams = 0;
            var iterations = 0;
            var kind = "Mhc";
            foreach (var argument in context.Attributes[0].NamedArguments)
            {
                switch (argument.Key)
                {
                    case "Streams" when argument.Value.Value is int value:
                        streams = value;
                        break;
                    case "SinkhornIterations" when argument.Value.Value is int value:
                        iterations = value;
                        break;
                    case "Kind" when argument.Value.Value is int value:
                        kind = KindName(value);
                        break;
                }
            }

            var ns = type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString();
            var name = type.TypeParameters.IsEmpty ? type.Name : $"{type.Name}<{string.Join(", ", type.TypeParameters.Select(p => p.Name))}>";
            var hint = (ns.Length == 0 ? "" : ns + ".")
                + string.Concat(Outer(type).Select(t => HintPart(t) + "."))
                + HintPart(type);
            return new HyperConnectedClass(ns, new EquatableArray<string>(containing), name, hint, new EquatableArray<Connection>(Connections(declaration, type, cancellationToken)), streams, iterations, kind);
        }

        /// <summary>
        /// The headers of the types the class is nested in, outermost first (<c>partial class Model</c>), or null
        /// when one of them is not partial: the generated half must repeat each of them.
        /// </summary>
        public static IReadOnlyList<string>? ContainingDeclarations(ClassDeclarationSyntax declaration)
        {
            var headers = new List<string>();
            for (var parent = declaration.Parent as TypeDeclarationSyntax; parent is not null; parent = parent.Parent as TypeDeclarationSyntax)
            {
                if (!parent.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    return null;
                }

                var keyword = parent is RecordDeclarationSyntax record
                    ? "record" + (record.ClassOrStructKeyword.IsKind(SyntaxKind.StructKeyword) ? " struct" : "")
                    : parent.Keyword.ValueText;
                headers.Insert(0, $"partial {keyword} {parent.Identifier.ValueText}{parent.TypeParameterList?.ToString() ?? ""}");
            }

            return headers;
        }

        private static IEnumerable<INamedTypeSymbol> Outer(INamedTypeSymbol type)
        {
            var chain = new List<INamedTypeSymbol>();
            for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
            {
                chain.Insert(0, outer);
            }

            return chain;
        }

        private static string HintPart(INamedTypeSymbol type)
            => type.Name + (type.TypeParameters.IsEmpty ? "" : "`" + type.TypeParameters.Length.ToString(CultureInfo.InvariantCulture));

        /// <summary>
        /// The <c>hc_*</c> receivers of <c>forward</c>/<c>call</c> in the class that the user has not declared:
        /// those are the fields the generator owns. Source order over all of them, declared ones included,
        /// gives each its local layer index.
        /// </summary>
        private static IEnumerable<Connection> Connections(ClassDeclarationSyntax declaration, INamedTypeSymbol type, CancellationToken cancellationToken)
        {
            var seen = new HashSet<string>();
            foreach (var access in declaration.DescendantNodes().OfType<MemberAccessExpressionSyntax>())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (access is { Expression: IdentifierNameSyntax receiver } && ModuleCalls.IsRunMethodName(access.Name.Identifier.ValueText)
                    && receiver.Identifier.ValueText.StartsWith(MhcDefaults.ConnectionPrefix, System.StringComparison.Ordinal)
                    && seen.Add(receiver.Identifier.ValueText)
                    && type.GetMembers(receiver.Identifier.ValueText).IsEmpty)
                {
                    yield return new Connection(receiver.Identifier.ValueText, seen.Count - 1);
                }
            }
        }

        private static string KindName(int value) => value switch
        {
            1 => "Hc",
            2 => "Residual",
            _ => "Mhc",
        };

        /// <summary>The defaults from the MSBuild properties made visible to the compiler by build/Mhc.Analyzers.props.</summary>
        public static BuildDefaults ReadDefaults(AnalyzerConfigOptions options)
            => new(
                ReadPositive(options, "build_property." + MhcDefaults.StreamsProperty, MhcDefaults.Streams),
                ReadPositive(options, "build_property." + MhcDefaults.SinkhornIterationsProperty, MhcDefaults.SinkhornIterations));

        private static int ReadPositive(AnalyzerConfigOptions options, string key, int fallback)
            => options.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : fallback;
    }
}

using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Generator;

public sealed partial class HyperConnectionGenerator
{
    internal static class Parser
    {
        internal const string ConnectionPrefix = "hc_";

        /// <summary>Null for classes the generator cannot extend (not partial, or nested).</summary>
        public static HyperConnectedClass? Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
        {
            if (context.TargetSymbol is not INamedTypeSymbol type
                || context.TargetNode is not ClassDeclarationSyntax declaration
                || type.ContainingType is not null
                || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
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
            var hint = (ns.Length == 0 ? "" : ns + ".") + type.Name + (type.TypeParameters.IsEmpty ? "" : "`" + type.TypeParameters.Length.ToString(CultureInfo.InvariantCulture));
            return new HyperConnectedClass(ns, name, hint, new EquatableArray<Connection>(Connections(declaration, type, cancellationToken)), streams, iterations, kind);
        }

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
                if (access is { Expression: IdentifierNameSyntax receiver, Name.Identifier.ValueText: "forward" or "call" }
                    && receiver.Identifier.ValueText.StartsWith(ConnectionPrefix, System.StringComparison.Ordinal)
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

        /// <summary>The MSBuild properties made visible to the compiler by build/Mhc.Analyzers.props.</summary>
        internal const string StreamsProperty = "MhcStreams";
        internal const string SinkhornIterationsProperty = "MhcSinkhornIterations";

        public static BuildDefaults ReadDefaults(AnalyzerConfigOptions options)
            => new(
                ReadPositive(options, "build_property." + StreamsProperty, BuildDefaults.DefaultStreams),
                ReadPositive(options, "build_property." + SinkhornIterationsProperty, BuildDefaults.DefaultSinkhornIterations));

        private static int ReadPositive(AnalyzerConfigOptions options, string key, int fallback)
            => options.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : fallback;
    }
}

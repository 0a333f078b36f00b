using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Mhc.Analyzers.Vocabulary;

/// <summary>Module types whose layout the streams cannot share: channels on axis 1 instead of last.</summary>
internal static class ModuleKinds
{
    public static ImmutableHashSet<string> ChannelFirstModules { get; } = ImmutableHashSet.Create(
        "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
        "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "GroupNorm");

    /// <summary>
    /// The channel-first TorchSharp module a module is or holds (a project's own <c>Conv</c> wrapping Conv2d and
    /// BatchNorm2d, a few levels deep), or null.
    /// </summary>
    public static string? ChannelFirstPart(ITypeSymbol module, int depth = 3)
        => ChannelFirstPart(module, depth, new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default));

    private static string? ChannelFirstPart(ITypeSymbol module, int depth, HashSet<ITypeSymbol> seen)
    {
        if (ChannelFirstModules.Contains(module.Name) && module.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", System.StringComparison.Ordinal) == true)
        {
            return module.Name;
        }

        if (depth == 0 || module.DeclaringSyntaxReferences.IsEmpty || !seen.Add(module))
        {
            return null;
        }

        foreach (var member in module.GetMembers())
        {
            var type = member switch
            {
                IFieldSymbol field => field.Type,
                IPropertySymbol property => property.Type,
                _ => null,
            };
            if (type is INamedTypeSymbol named && ChannelFirstPart(named, depth - 1, seen) is { } part)
            {
                return part;
            }
        }

        return null;
    }
}

using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;

namespace Mhc.Analyzers.Vocabulary;

/// <summary>
/// The TorchSharp and Mhc.Runtime symbols the rules need, resolved once per compilation.
/// <see cref="Create"/> returns null when TorchSharp is not referenced, so the analyzers register nothing.
/// </summary>
internal sealed class TorchSymbols
{
    private TorchSymbols(Compilation compilation, INamedTypeSymbol tensor, INamedTypeSymbol module)
    {
        Tensor = tensor;
        Module = module;
        Torch = compilation.GetTypeByMetadataName("TorchSharp.torch");
        ModuleList = compilation.GetTypeByMetadataName("TorchSharp.Modules.ModuleList`1");
        Sequential = compilation.GetTypeByMetadataName("TorchSharp.Modules.Sequential");
        HyperConnectedAttribute = compilation.GetTypeByMetadataName("Mhc.Runtime.HyperConnectedAttribute");
        HyperStreams = compilation.GetTypeByMetadataName("Mhc.Runtime.HyperStreams");
        HyperConnection = compilation.GetTypeByMetadataName("Mhc.Runtime.HyperConnection");
    }

    public INamedTypeSymbol Tensor { get; }

    /// <summary>The non-generic <c>torch.nn.Module</c> every TorchSharp module derives from.</summary>
    public INamedTypeSymbol Module { get; }

    public INamedTypeSymbol? Torch { get; }

    public INamedTypeSymbol? ModuleList { get; }

    public INamedTypeSymbol? Sequential { get; }

    public INamedTypeSymbol? HyperConnectedAttribute { get; }

    public INamedTypeSymbol? HyperStreams { get; }

    public INamedTypeSymbol? HyperConnection { get; }

    public static TorchSymbols? Create(Compilation compilation)
    {
        var tensor = compilation.GetTypeByMetadataName("TorchSharp.torch+Tensor");
        var module = compilation.GetTypeByMetadataName("TorchSharp.torch+nn+Module");
        return tensor is null || module is null ? null : new TorchSymbols(compilation, tensor, module);
    }

    public bool IsTensor(ITypeSymbol? type) => SymbolEqualityComparer.Default.Equals(type, Tensor);

    public bool IsModule(ITypeSymbol? type)
    {
        // A type parameter constrained to a module (MetaFormerBlock<TMixer> where TMixer : Module<Tensor, Tensor>).
        if (type is ITypeParameterSymbol parameter)
        {
            return parameter.ConstraintTypes.Any(IsModule);
        }

        for (var t = type; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, Module))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A module type whose variables may hold any module, a hyper-connected block too: <c>torch.nn.Module</c>, its generic
    /// <c>Module&lt;T, TResult&gt;</c> forms, an abstract class (<c>ModuleList&lt;Module&lt;Tensor, Tensor&gt;&gt;</c>'s elements).
    /// </summary>
    public bool IsModuleBase(INamedTypeSymbol type)
        => type.IsAbstract
           || (type.Name == Module.Name && SymbolEqualityComparer.Default.Equals(type.ContainingType, Module.ContainingType));

    /// <summary>TorchSharp's Sequential, or a class deriving from it.</summary>
    public bool IsSequential(ITypeSymbol? type)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, Sequential))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The block carries <c>[HyperConnected]</c>. While <c>dotnet mhc convert</c> converts a project one block at a time,
    /// the project does not reference Mhc.Runtime yet and the attribute does not resolve: a block converted earlier
    /// in the same run is recognized by the attribute's name then.
    /// </summary>
    public bool IsHyperConnected(INamedTypeSymbol type)
    {
        foreach (var attribute in type.GetAttributes())
        {
            if (HyperConnectedAttribute is not null
                ? SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, HyperConnectedAttribute)
                : attribute.AttributeClass is IErrorTypeSymbol { Name: "HyperConnected" or "HyperConnectedAttribute" })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The element type of a <c>ModuleList&lt;T&gt;</c>, or null for any other type.</summary>
    public ITypeSymbol? ModuleListElement(ITypeSymbol? type)
        => type is INamedTypeSymbol { IsGenericType: true } named
           && SymbolEqualityComparer.Default.Equals(named.OriginalDefinition, ModuleList)
            ? named.TypeArguments[0]
            : null;
}

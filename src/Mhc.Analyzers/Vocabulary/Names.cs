using System;
using Microsoft.CodeAnalysis;

namespace Mhc.Analyzers.Vocabulary;

/// <summary>
/// What a module's name and type say about its role around a branch: norms, dropout and scales wrap a
/// branch (they do not name it), shortcuts and downsamplers transform an identity path. Real ports name
/// these consistently (<c>ln_1</c>, <c>input_layernorm</c>, <c>drop_path</c>, <c>ls1</c>, <c>downsample</c>, <c>nin_shortcut</c>).
/// </summary>
internal static class Names
{
    public static bool IsNorm(ISymbol? member, ITypeSymbol? type)
        => Contains(type?.Name, "Norm")
           || Contains(member?.Name, "norm")
           || (member?.Name is { } name && (name.StartsWith("ln", StringComparison.OrdinalIgnoreCase) || name.StartsWith("_ln", StringComparison.OrdinalIgnoreCase)));

    /// <summary>TorchSharp's functional norms (<c>functional.layer_norm(x, shape)</c>, <c>rms_norm</c>, <c>normalize</c>, ...).</summary>
    public static bool IsNormFunction(IMethodSymbol? method)
        => method is { IsStatic: true, Name: "layer_norm" or "rms_norm" or "group_norm" or "batch_norm" or "instance_norm" or "normalize" or "local_response_norm" }
           && method.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", StringComparison.Ordinal) == true;

    public static bool IsDropout(ISymbol? member, ITypeSymbol? type)
        => Contains(type?.Name, "Drop") || Contains(member?.Name, "drop");

    public static bool IsScale(ISymbol? member, ITypeSymbol? type)
        => Contains(type?.Name, "Scale")
           || Contains(member?.Name, "scale")
           || Contains(member?.Name, "gamma")
           || (member?.Name is { } name && name.TrimStart('_').StartsWith("ls", StringComparison.OrdinalIgnoreCase) && name.TrimStart('_').Length <= 3);

    /// <summary>A module that only wraps a branch (norm, dropout, DropPath, layer scale), so it does not name it.</summary>
    public static bool IsWrapper(ISymbol? member, ITypeSymbol? type)
        => IsNorm(member, type) || IsDropout(member, type) || IsScale(member, type) || type?.Name == "Identity";

    /// <summary>A module on the identity path that transforms it: <c>shortcut</c>, <c>downsample</c>, <c>skip</c>, <c>residual_layer</c>.</summary>
    public static bool IsShortcut(ISymbol? member)
        => member?.Name is { } name
           && (Contains(name, "shortcut") || Contains(name, "downsample") || Contains(name, "skip")
               || Contains(name, "residual") || Contains(name, "identity") || Contains(name, "project"));

    /// <summary>TorchSharp functions and tensor methods whose output has the width of their input (norms, activations, dropout).</summary>
    public static bool KeepsWidth(string method) => method is "layer_norm" or "rms_norm" or "group_norm" or "normalize"
        or "dropout" or "dropout1d" or "alpha_dropout" or "gelu" or "relu" or "relu6" or "silu" or "mish" or "elu" or "selu"
        or "leaky_relu" or "sigmoid" or "tanh" or "hardswish" or "softplus" or "contiguous" or "to" or "to_type" or "type_as";

    /// <summary><c>SelfAttention</c> as <c>self_attention</c>: a method named like a module field.</summary>
    public static string SnakeCase(string name)
    {
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && name[i - 1] != '_')
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }

    private static bool Contains(string? text, string part) => text is not null && text.IndexOf(part, StringComparison.OrdinalIgnoreCase) >= 0;
}

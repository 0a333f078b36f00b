using Mhc.Analyzers.Rules;
using Microsoft.CodeAnalysis;

namespace Mhc.Analyzers.Tests.Infrastructure;

internal static class DiagnosticDescriptorsAccess
{
    public static DiagnosticDescriptor Found => DiagnosticDescriptors.ResidualConnectionFound;

    public static DiagnosticDescriptor NotConvertible => DiagnosticDescriptors.ResidualConnectionNotConvertible;
}

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// Tests that seed TorchSharp's global generator and then build or run models: they run one at a time, or one
/// test's <c>manual_seed</c> would be consumed by another's module initialisation. Every test of this assembly
/// that touches TorchSharp belongs here; the others (compiling and analysing only) run beside them.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TorchCollection
{
    public const string Name = "TorchSharp models";
}

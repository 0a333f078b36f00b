namespace Mhc.Analyzers.Generator;

/// <summary>Names of the generator's pipeline steps, asserted on by the incrementality tests.</summary>
internal static class TrackingNames
{
    public const string HyperConnectedClasses = nameof(HyperConnectedClasses);
    public const string BuildDefaults = nameof(BuildDefaults);
    public const string WithDefaults = nameof(WithDefaults);
}

namespace Mhc.Analyzers;

/// <summary>Stable rule IDs. MHC0xxx: conversion; MHC1xxx: stream-shape errors. Never reuse a retired ID.</summary>
public static class RuleIdentifiers
{
    public const string ResidualConnectionFound = "MHC0001";
    public const string ResidualConnectionNotConvertible = "MHC0002";
    public const string HyperConnectedClassNotPartial = "MHC0003";
    public const string StreamsCollapsedInsideStack = "MHC1001";
    public const string BlockInputNotExpanded = "MHC1002";
    public const string StreamCountMismatch = "MHC1003";
    public const string ChannelWidthMismatch = "MHC1004";
    public const string StreamTensorToSingleStreamModule = "MHC1005";

    /// <summary>Help links point at the rule pages in the repository's docs/rules folder.</summary>
    public static string GetHelpUri(string id) => $"https://github.com/mhc-dotnet/mhc/blob/main/docs/rules/{id}.md";
}

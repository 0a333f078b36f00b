namespace Mhc.Analyzers.Vocabulary;

/// <summary>Tensor members that describe a tensor (its device, type, shape) rather than give its values.</summary>
internal static class TensorMetadata
{
    /// <summary>Properties that read the same on n streams as on one: <c>x.device</c>, <c>x.dtype</c>, ...</summary>
    public static bool IsSameOnStreams(string property) => property is "device" or "dtype" or "requires_grad" or "device_type";

    /// <summary>Properties whose value carries none of the tensor's values: those above and <c>shape</c>.</summary>
    public static bool IsProperty(string property) => IsSameOnStreams(property) || property == "shape";

    /// <summary>Methods whose result carries none of the tensor's values: <c>x.size(0)</c>, <c>x.dim()</c>, ...</summary>
    public static bool IsMethod(string method) => method is "size" or "dim" or "IntShape" or "numel";
}

using System.Reflection;
using System.Runtime.Loader;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// Loads compiled models and the real Mhc.Runtime they reference; TorchSharp comes from the test's own
/// context, so the tests can hold the models' modules and tensors as ordinary TorchSharp types.
/// </summary>
internal sealed class ModelLoadContext : AssemblyLoadContext
{
    private readonly Lazy<Assembly> _runtime;

    public ModelLoadContext() => _runtime = new(() => LoadFromStream(new MemoryStream(MhcRuntime.Image)));

    /// <summary>The Mhc.Runtime the models in this context run with.</summary>
    public Assembly Runtime => _runtime.Value;

    public Assembly Load(byte[] image) => LoadFromStream(new MemoryStream(image));

    protected override Assembly? Load(AssemblyName assemblyName) => assemblyName.Name == "Mhc.Runtime" ? Runtime : null;
}

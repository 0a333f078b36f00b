using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.ExceptionServices;
using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using TorchSharp;

namespace Mhc.Analyzers.Tests.Ports;

/// <summary>
/// One model of the corpus (<c>Ports/Models/&lt;Name&gt;.cs</c>, copied beside the tests), compiled once per
/// test run however many tests use it, and its <c>Harness</c> class: <c>Create()</c> builds the model,
/// <c>Run(model)</c> feeds it inputs of its own and returns one float tensor.
/// </summary>
internal sealed class PortModel
{
    /// <summary>The existing GPT of the end-to-end test, with a harness: today's converter handles it.</summary>
    public const string Gpt = "Gpt";

    /// <summary>Appended to the GPT's source (before or after conversion) to give it the corpus's harness.</summary>
    public const string GptHarness = """

        public static class Harness
        {
            public static Module Create() => Gpt.Create();

            public static Tensor Run(Module model)
            {
                manual_seed(7);
                using var idx = randint(0, 32, [2, 8], dtype: ScalarType.Int64);
                return ((Module<Tensor, Tensor>)model).forward(idx);
            }
        }
        """;

    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Ports", "Models");
    private static readonly ConcurrentDictionary<string, Lazy<PortModel>> Cache = new();

    /// <summary>All models of the corpus folder, which loads all that are copied there.</summary>
    private static readonly ModelLoadContext Context = new();

    private readonly Lazy<Compilation> _original;
    private readonly Lazy<Assembly> _originalAssembly;
    private readonly Lazy<Task<ConversionResult>> _conversion;
    private readonly Lazy<Task<IReadOnlyList<Diagnostic>>> _sites;

    private PortModel(string name, string source)
    {
        Name = name;
        Source = source;
        FileName = name + ".cs";
        _original = new(() => InMemoryCompilation.Create(Source, withGenerator: false, FileName));
        _originalAssembly = new(() => Context.Load(InMemoryCompilation.Emit(Original)));
        _conversion = new(() => PortConversion.ConvertAsync(Source, FileName));
        _sites = new(async () => (await InMemoryCompilation.AnalyzeAsync(Original, new ResidualConnectionAnalyzer()))
            .Where(d => d.Id is RuleIdentifiers.ResidualConnectionFound or RuleIdentifiers.ResidualConnectionNotConvertible)
            .OrderBy(d => d.Location.SourceSpan.Start)
            .ToList());
    }

    public string Name { get; }

    public string FileName { get; }

    public string Source { get; }

    /// <summary>The original source's compilation, without the generator.</summary>
    public Compilation Original => _original.Value;

    /// <summary>The MHC0001 and MHC0002 diagnostics of the original, in source order (analyzed once).</summary>
    public Task<IReadOnlyList<Diagnostic>> SitesAsync() => _sites.Value;

    /// <summary>The converted source (the conversion runs once).</summary>
    public Task<ConversionResult> ConvertedAsync() => _conversion.Value;

    /// <summary>The names of the corpus's model files, sorted.</summary>
    public static IEnumerable<string> CorpusNames => Directory.EnumerateFiles(Folder, "*.cs")
        .Select(p => Path.GetFileNameWithoutExtension(p))
        .Order(StringComparer.Ordinal);

    public static TheoryData<string> Corpus => [.. CorpusNames];

    /// <summary>The corpus and the end-to-end test's GPT.</summary>
    public static TheoryData<string> CorpusAndGpt => [.. CorpusNames.Append(Gpt)];

    /// <summary>The 1-based line a diagnostic starts on.</summary>
    public static int StartLine(Diagnostic diagnostic) => diagnostic.Location.GetLineSpan().StartLinePosition.Line + 1;

    /// <summary>Which rule, its reason property if any, its message.</summary>
    public static string Describe(Diagnostic diagnostic)
    {
        var reason = diagnostic.Properties.TryGetValue(PortExpectations.ReasonProperty, out var key) ? $"reason '{key}'" : "no reason property";
        return $"{diagnostic.Id} ({reason}): {diagnostic.GetMessage()}";
    }

    public static PortModel Get(string name) => Cache.GetOrAdd(name, n => new(() => Load(n))).Value;

    private static PortModel Load(string name) => name == Gpt
        ? new PortModel(name, GptSources.WithoutMarkup(GptSources.Original) + GptHarness)
        : new PortModel(name, File.ReadAllText(Path.Combine(Folder, name + ".cs")).ReplaceLineEndings("\n"));

    /// <summary>Builds the original model with <c>manual_seed(42)</c>.</summary>
    public HarnessedModel CreateOriginal() => HarnessedModel.Create(_originalAssembly.Value);

    /// <summary>Compiles a converted source (with the generator already run) and builds it with <c>manual_seed(42)</c>.</summary>
    public static HarnessedModel CreateConverted(Compilation converted) => HarnessedModel.Create(Context.Load(InMemoryCompilation.Emit(converted)));
}

/// <summary>A model built by its harness's <c>Create()</c>, run by its <c>Run(model)</c>.</summary>
internal sealed class HarnessedModel : IDisposable
{
    private readonly MethodInfo _run;

    private HarnessedModel(torch.nn.Module module, MethodInfo run)
    {
        Module = module;
        _run = run;
    }

    public torch.nn.Module Module { get; }

    public static HarnessedModel Create(Assembly assembly)
    {
        var harness = HarnessOf(assembly);
        // Same seed for both models: the converted model's own modules are built after the original ones.
        torch.manual_seed(42);
        var module = (torch.nn.Module)Invoke(harness.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!);
        return new HarnessedModel(module, harness.GetMethod("Run", BindingFlags.Public | BindingFlags.Static)!);
    }

    public torch.Tensor Run() => (torch.Tensor)Invoke(_run, Module);

    public void Dispose() => Module.Dispose();

    private static Type HarnessOf(Assembly assembly)
        => Assert.Single(assembly.GetTypes(), t => t.Name == "Harness" && t.IsAbstract && t.IsSealed);

    /// <summary>Calls a harness method, rethrowing what the model threw rather than a TargetInvocationException.</summary>
    private static object Invoke(MethodInfo method, params object[] arguments)
    {
        try
        {
            return method.Invoke(null, arguments)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            throw;
        }
    }
}

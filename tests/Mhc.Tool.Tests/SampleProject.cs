namespace Mhc.Tool.Tests;

/// <summary>
/// A throwaway TorchSharp project in a temporary folder, referencing this repository's Mhc.Runtime and
/// Mhc.Analyzers by project (as the repository's own samples do), so conversion adds no package
/// (unless it is made without them).
/// </summary>
internal sealed class SampleProject : IDisposable
{
    public const string ResidualGpt = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Sample;

        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln_1, ln_2;
            private readonly Linear attn, mlp;

            public Block(long width) : base(nameof(Block))
            {
                ln_1 = LayerNorm(width);
                attn = Linear(width, width);
                ln_2 = LayerNorm(width);
                mlp = Linear(width, width);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                // attention stand-in
                x = x + attn.forward(ln_1.forward(x));
                x = x + mlp.forward(ln_2.forward(x));
                return x;
            }
        }

        public sealed class Gpt : Module<Tensor, Tensor>
        {
            private readonly Embedding wte;
            private readonly ModuleList<Block> h;
            private readonly LayerNorm ln_f;

            public Gpt(long vocab, long width, int layers) : base(nameof(Gpt))
            {
                wte = Embedding(vocab, width);
                h = new ModuleList<Block>();
                for (int i = 0; i < layers; i++) h.Add(new Block(width));
                ln_f = LayerNorm(width);
                RegisterComponents();
            }

            public override Tensor forward(Tensor idx)
            {
                var x = wte.forward(idx);
                foreach (var block in h) x = block.forward(x);
                return ln_f.forward(x);
            }
        }
        """;

    /// <summary>What <c>dotnet mhc convert</c> makes of <see cref="ResidualGpt"/>.</summary>
    public const string ConvertedGpt = """
        using Mhc.Runtime;
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Sample;

        [HyperConnected]
        public sealed partial class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln_1, ln_2;
            private readonly Linear attn, mlp;

            public Block(long width) : base(nameof(Block))
            {
                ln_1 = LayerNorm(width);
                attn = Linear(width, width);
                ln_2 = LayerNorm(width);
                mlp = Linear(width, width);
                InitializeHyperConnections(channels: width);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                // attention stand-in
                x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));
                x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));
                return x;
            }
        }

        public sealed class Gpt : Module<Tensor, Tensor>
        {
            private readonly Embedding wte;
            private readonly ModuleList<Block> h;
            private readonly LayerNorm ln_f;

            public Gpt(long vocab, long width, int layers) : base(nameof(Gpt))
            {
                wte = Embedding(vocab, width);
                h = new ModuleList<Block>();
                for (int i = 0; i < layers; i++) h.Add(new Block(width));
                ln_f = LayerNorm(width);
                RegisterComponents();
                HyperConnections.AssignLayerIndices(this);
            }

            public override Tensor forward(Tensor idx)
            {
                var x = wte.forward(idx);
                x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));
                x = HyperStreams.Reduce(x);
                return ln_f.forward(x);
            }
        }
        """;

    /// <summary>
    /// <paramref name="source"/> (<see cref="ResidualGpt"/> or <see cref="ConvertedGpt"/>) as two files: the
    /// block, and the model that stacks it under the same usings and namespace.
    /// </summary>
    public static (string Block, string Model) SplitAtModel(string source)
    {
        var split = source.IndexOf("public sealed class Gpt", StringComparison.Ordinal);
        var header = source[..(source.IndexOf("namespace Sample;", StringComparison.Ordinal) + "namespace Sample;\n\n".Length)];
        return (source[..split], header + source[split..]);
    }

    /// <param name="mhcReferencesInDirectoryBuildProps">Reference Mhc.Runtime and Mhc.Analyzers from a Directory.Build.props beside the project instead of the project file.</param>
    /// <param name="referenceMhc">Reference Mhc.Runtime and Mhc.Analyzers at all; without them the conversion adds package references.</param>
    public SampleProject(string source = ResidualGpt, string? extraProjectXml = null, bool mhcReferencesInDirectoryBuildProps = false, bool referenceMhc = true)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("mhc-tool-").FullName;
        var repo = RepositoryRoot();
        var mhcReferences = !referenceMhc ? "" : $"""
                <ProjectReference Include="{repo}/src/Mhc.Runtime/Mhc.Runtime.csproj" />
                <ProjectReference Include="{repo}/src/Mhc.Analyzers/Mhc.Analyzers.csproj" OutputItemType="Analyzer" ReferenceOutputAssembly="false" />
            """;
        if (mhcReferencesInDirectoryBuildProps)
            File.WriteAllText(Path.Combine(Directory, "Directory.Build.props"), $"""
                <Project>
                  <ItemGroup>
                {mhcReferences}
                  </ItemGroup>
                </Project>
                """);
        ProjectPath = Path.Combine(Directory, "Sample.csproj");
        File.WriteAllText(ProjectPath, $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
                <NoWarn>NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
            {(mhcReferencesInDirectoryBuildProps ? "" : mhcReferences)}
              </ItemGroup>
            {extraProjectXml ?? ""}
            </Project>
            """);
        SourcePath = Path.Combine(Directory, "Model.cs");
        File.WriteAllText(SourcePath, source);
    }

    public string Directory { get; }
    public string ProjectPath { get; }
    public string SourcePath { get; }

    /// <summary>Every file of the project (not build output) with its bytes.</summary>
    public Dictionary<string, byte[]> Snapshot() => System.IO.Directory
        .EnumerateFiles(Directory, "*", SearchOption.AllDirectories)
        .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")
                 && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
        .ToDictionary(f => f, File.ReadAllBytes);

    public void Dispose()
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "*", SearchOption.AllDirectories))
            File.SetAttributes(file, FileAttributes.Normal);
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mhc.sln"))) return dir.FullName;
        throw new InvalidOperationException("the tests run from inside the repository");
    }
}

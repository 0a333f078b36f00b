using System.Collections;
using System.Reflection;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Mhc.Analyzers.Tests.Generator;

/// <summary>
/// The generator runs on every keystroke in the IDE: edits that do not change a [HyperConnected] class's
/// model must be served from the cache, and no step may hold symbols, syntax or compilations (which would
/// keep whole compilations alive and defeat caching).
/// </summary>
public class HyperConnectionGeneratorIncrementalityTests
{
    private static readonly string[] TrackedSteps = typeof(TrackingNames)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();

    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.CSharp12);

    private static (GeneratorDriverRunResult First, GeneratorDriverRunResult Second) RunTwice(Func<CSharpCompilation, CSharpCompilation> edit)
    {
        var compilation = HyperConnectionGeneratorTests.Compile(HyperConnectionGeneratorTests.ConvertedBlock, "public class Other { }");
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [new HyperConnectionGenerator().AsSourceGenerator()],
            parseOptions: ParseOptions,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGenerators(compilation);
        var first = driver.GetRunResult();
        driver = driver.RunGenerators(edit(compilation));
        return (first, driver.GetRunResult());
    }

    private static CSharpCompilation Replace(CSharpCompilation compilation, int index, string text)
        => compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.ElementAt(index), CSharpSyntaxTree.ParseText(text, ParseOptions));

    [Fact]
    public void An_unrelated_edit_reuses_every_tracked_step()
    {
        var (first, second) = RunTwice(c => Replace(c, 1, "public class Other { public int Added; }"));

        AssertAllStepsTracked(first);
        AssertNoForbiddenTypes(first);
        foreach (var name in TrackedSteps)
        {
            var reasons = second.Results[0].TrackedSteps[name].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {r}"));
        }

        Assert.All(second.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void Editing_the_block_without_changing_its_connections_regenerates_nothing()
    {
        var (_, second) = RunTwice(c => Replace(c, 0, HyperConnectionGeneratorTests.ConvertedBlock.Replace("return x;", "return x; // comment")));

        var classes = second.Results[0].TrackedSteps[TrackingNames.HyperConnectedClasses].SelectMany(s => s.Outputs).Single();
        Assert.Equal(IncrementalStepRunReason.Unchanged, classes.Reason);
        Assert.All(second.Results[0].TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void A_new_connection_is_a_change()
    {
        var (_, second) = RunTwice(c => Replace(c, 0, HyperConnectionGeneratorTests.ConvertedBlock.Replace(
            "return x;", "x = hc_extra.forward(x, h => mlp.forward(h));\n        return x;")));

        var classes = second.Results[0].TrackedSteps[TrackingNames.HyperConnectedClasses].SelectMany(s => s.Outputs).Single();
        Assert.Equal(IncrementalStepRunReason.Modified, classes.Reason);
        Assert.Contains("hc_extra", second.GeneratedTrees.Single().ToString());
    }

    private static void AssertAllStepsTracked(GeneratorDriverRunResult result)
    {
        foreach (var name in TrackedSteps)
        {
            Assert.True(result.Results[0].TrackedSteps.ContainsKey(name), $"Step {name} is not tracked.");
        }
    }

    private static void AssertNoForbiddenTypes(GeneratorDriverRunResult result)
    {
        foreach (var name in TrackedSteps)
        {
            foreach (var output in result.Results[0].TrackedSteps[name].SelectMany(s => s.Outputs))
            {
                AssertNoForbiddenTypes(output.Value, name, new HashSet<object>(ReferenceEqualityComparer.Instance));
            }
        }
    }

    private static void AssertNoForbiddenTypes(object? value, string step, HashSet<object> visited)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || !visited.Add(value))
        {
            return;
        }

        Assert.False(
            value is ISymbol or SyntaxNode or Compilation or SemanticModel or SyntaxTree,
            $"Step {step} holds a {value.GetType().Name}.");

        if (value is IEnumerable items)
        {
            foreach (var item in items)
            {
                AssertNoForbiddenTypes(item, step, visited);
            }
        }

        foreach (var field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            AssertNoForbiddenTypes(field.GetValue(value), step, visited);
        }
    }
}

using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Rules;

public class HyperConnectedDeclarationAnalyzerTests
{
    private static Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = new MhcAnalyzerTest<HyperConnectedDeclarationAnalyzer>(TestSetup.Usings + "using Mhc.Runtime;\n" + source);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    [Fact]
    public Task A_top_level_partial_class_is_fine()
        => Verify("[HyperConnected] public sealed partial class Block { }");

    [Fact]
    public Task A_class_that_is_not_partial_is_an_error()
        => Verify(
            "[HyperConnected] public sealed class {|#0:Block|} { }",
            new DiagnosticResult(DiagnosticDescriptors.HyperConnectedClassNotPartial).WithLocation(0).WithArguments("Block", "not partial"));

    [Fact]
    public Task A_class_nested_in_partial_types_is_fine()
        => Verify("public static partial class Outer { internal partial class Middle { [HyperConnected] private sealed partial class Block { } } }");

    [Fact]
    public Task A_class_nested_in_a_type_that_is_not_partial_is_an_error()
        => Verify(
            "public static partial class Outer { public class Middle { [HyperConnected] public sealed partial class {|#0:Block|} { } } }",
            new DiagnosticResult(DiagnosticDescriptors.HyperConnectedClassNotPartial).WithLocation(0).WithArguments("Block", "nested in 'Middle', which is not partial"));
}

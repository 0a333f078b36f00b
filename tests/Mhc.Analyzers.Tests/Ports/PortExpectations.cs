using System.Text.RegularExpressions;

namespace Mhc.Analyzers.Tests.Ports;

/// <summary>One marked residual site: the diagnostic that must start on <see cref="Line"/> (1-based).</summary>
internal sealed record SiteExpectation(int Line, string Id, string? Reason)
{
    public override string ToString() => Reason is null ? Id : $"{Id} {Reason}";
}

/// <summary>
/// The <c>// expect: MHC0001</c> and <c>// expect: MHC0002 &lt;reason&gt;</c> markers of a corpus model: a
/// trailing comment on the line where a residual site's expression starts.
/// </summary>
internal static partial class PortExpectations
{
    /// <summary>The stable reason keys of MHC0002, read from its <c>reason</c> property.</summary>
    public static readonly IReadOnlySet<string> Reasons = new HashSet<string>(StringComparer.Ordinal)
    {
        "post-norm",            // the sum is normalized (or otherwise transformed) before it flows on
        "conditional",          // the residual is taken or not depending on a flag
        "projection-shortcut",  // the shortcut is a learned projection, not the identity
        "inner-identity",       // the identity path is a module's output, not the block's stream
        "channel-first",        // Conv2d/BatchNorm2d blocks keep channels on axis 1
        "no-stack",             // no model runs the block in a stack
        "in-loop",              // the site is inside a loop of the block itself
        "stream-escapes",       // the stream is used outside residual connections
        "branch-layout",        // the statements of the branch cannot move into a connection
        "width-unknown",        // the stream's width cannot be read from the constructor
        "stack",                // a stack runs the block, but that stack cannot be converted
        "declaration",          // the block class cannot be made a top-level partial class
    };

    public const string ReasonProperty = "reason";

    [GeneratedRegex(@"//\s*expect:\s*(?<rest>.*?)\s*$")]
    private static partial Regex Marker();

    /// <summary>The markers of a source, line by line; a malformed marker fails the test.</summary>
    public static IReadOnlyList<SiteExpectation> Parse(string source)
    {
        var expectations = new List<SiteExpectation>();
        var lines = source.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var match = Marker().Match(lines[i]);
            if (!match.Success)
            {
                continue;
            }

            var parts = match.Groups["rest"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var line = i + 1;
            var valid = parts switch
            {
                [RuleIdentifiers.ResidualConnectionFound] => true,
                [RuleIdentifiers.ResidualConnectionNotConvertible, var reason] => Reasons.Contains(reason),
                _ => false,
            };
            Assert.True(valid, $"line {line}: malformed marker '{match.Value}'; expected '// expect: MHC0001' or '// expect: MHC0002 <{string.Join("|", Reasons)}>'");
            expectations.Add(new SiteExpectation(line, parts[0], parts.Length > 1 ? parts[1] : null));
        }

        return expectations;
    }
}

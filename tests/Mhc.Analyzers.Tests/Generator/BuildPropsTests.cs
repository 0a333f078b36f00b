using System.Runtime.CompilerServices;
using System.Xml.Linq;
using Mhc.Analyzers.Vocabulary;

namespace Mhc.Analyzers.Tests.Generator;

/// <summary>The props file must make visible exactly the MSBuild properties the generator and analyzers read.</summary>
public class BuildPropsTests
{
    [Fact]
    public void Props_file_makes_the_option_properties_visible_to_the_compiler()
    {
        var props = XDocument.Load(PropsPath());
        var visible = props.Descendants("CompilerVisibleProperty").Select(e => (string?)e.Attribute("Include")).ToList();

        Assert.Equal(
            [MhcDefaults.StreamsProperty, MhcDefaults.SinkhornIterationsProperty, MhcDefaults.LibraryProperty],
            visible);
    }

    private static string PropsPath([CallerFilePath] string caller = "")
        => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(caller)!, "../../../src/Mhc.Analyzers/build/Mhc.Analyzers.props"));
}

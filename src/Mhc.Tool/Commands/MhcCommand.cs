using McMaster.Extensions.CommandLineUtils;

namespace Mhc.Tool.Commands;

[Command("mhc", FullName = "dotnet mhc",
    Description = "Converts the residual connections of TorchSharp models to manifold-constrained hyper-connections (mHC), and checks stream shapes.")]
[Subcommand(typeof(ConvertCommand), typeof(CheckCommand))]
[HelpOption("-h|--help")]
internal sealed class MhcCommand
{
    public int OnExecute(CommandLineApplication app)
    {
        app.ShowHelp();
        return ExitCodes.InvalidInput;
    }
}

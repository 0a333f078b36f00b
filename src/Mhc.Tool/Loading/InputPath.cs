namespace Mhc.Tool.Loading;

/// <summary>What the user pointed the tool at: a project, a solution, or a folder holding exactly one.</summary>
internal sealed record InputPath(string FullPath, bool IsSolution)
{
    private static readonly string[] SolutionExtensions = [".sln", ".slnx"];
    private const string ProjectExtension = ".csproj";

    public static InputPath Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
            throw new ToolException(ExitCodes.InvalidInput, "no path given: pass a .csproj, a .sln/.slnx, or a folder that holds one.");
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            var extension = Path.GetExtension(full).ToLowerInvariant();
            if (extension == ProjectExtension) return new InputPath(full, IsSolution: false);
            if (SolutionExtensions.Contains(extension)) return new InputPath(full, IsSolution: true);
            throw new ToolException(ExitCodes.InvalidInput,
                $"'{path}' is neither a C# project (.csproj) nor a solution (.sln, .slnx).");
        }
        if (Directory.Exists(full))
        {
            var solutions = SolutionExtensions.SelectMany(e => Directory.GetFiles(full, "*" + e)).ToArray();
            var projects = Directory.GetFiles(full, "*" + ProjectExtension);
            return (solutions.Length, projects.Length) switch
            {
                (1, _) => new InputPath(solutions[0], IsSolution: true),
                (0, 1) => new InputPath(projects[0], IsSolution: false),
                (0, 0) => throw new ToolException(ExitCodes.InvalidInput, $"the folder '{path}' holds no .csproj, .sln or .slnx file."),
                _ => throw new ToolException(ExitCodes.InvalidInput,
                    $"the folder '{path}' holds several projects or solutions ({string.Join(", ", solutions.Concat(projects).Select(Path.GetFileName))}); name the one to use."),
            };
        }
        throw new ToolException(ExitCodes.InvalidInput, $"'{path}' does not exist.");
    }
}

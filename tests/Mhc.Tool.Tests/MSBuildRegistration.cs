using System.Runtime.CompilerServices;

namespace Mhc.Tool.Tests;

internal static class MSBuildRegistration
{
    // MSBuild must be located before any test touches a type that loads Microsoft.Build.
    [ModuleInitializer]
    internal static void Register()
    {
        if (!Program.TryRegisterMSBuild(Directory.GetCurrentDirectory(), out var error))
            throw new InvalidOperationException(error);
    }
}

namespace Mhc.Tool.Tests;

/// <summary>The project file of a fresh .NET 10 console app that references the given packages and nothing else.</summary>
internal static class ConsoleProject
{
    public static string Referencing(params (string Id, string Version)[] packages) => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net10.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <NoWarn>NU1603</NoWarn>
          </PropertyGroup>
          <ItemGroup>
        {string.Concat(packages.Select(p => $"    <PackageReference Include=\"{p.Id}\" Version=\"{p.Version}\" />\n"))}  </ItemGroup>
        </Project>
        """;
}

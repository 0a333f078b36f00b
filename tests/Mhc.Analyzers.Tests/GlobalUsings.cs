global using Mhc.Analyzers.Generator;

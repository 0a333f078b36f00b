using Mhc.Runtime.Retrofit;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Retrofit;

public sealed class RetrofitterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mhc-retrofit-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A "trained" residual model: random weights unlike any fresh init.</summary>
    private static TinyGpt TrainedOriginal()
    {
        manual_seed(99);
        var model = new TinyGpt(Models.Small);
        using (no_grad())
            foreach (var p in model.parameters())
                p.add_(randn_like(p) * 0.2);
        return model;
    }

    [Fact]
    public void CheckpointOfTheOriginalLoadsAndTheOutputIsUnchanged()
    {
        using var original = TrainedOriginal();
        var path = Path.Combine(_dir, "original.bin");
        original.save(path);
        manual_seed(5); // a different init than the original's
        using var converted = new TinyGpt(Models.Small, new HyperConnectionOptions());

        var report = Retrofitter.LoadCheckpoint(converted, path);

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal(original.state_dict().Keys.Order(), report.Loaded.Order());
        Assert.Equal(6 * 3, report.KeptAtInit.Count); // phi, bias, alpha for 2 sites x 3 blocks
        Assert.All(report.KeptAtInit, k => Assert.Matches(@"^h\.\d\.hc_(attn|mlp)\.(phi|bias|alpha)$", k));
        using var tokens = Models.Tokens();
        using var expected = original.forward(tokens);
        using var actual = converted.forward(tokens);
        Assert.True(TensorAssert.MaxAbsDifference(actual, expected) <= 1e-5,
            $"max |difference| {TensorAssert.MaxAbsDifference(actual, expected):E2}");
    }

    [Fact]
    public void ModelToModelTransferMatchesTheOriginal()
    {
        using var original = TrainedOriginal();
        using var converted = new TinyGpt(Models.Small, new HyperConnectionOptions { Kind = ConnectionKind.Hc });
        var report = Retrofitter.LoadFrom(converted, original);
        Assert.True(report.IsComplete, report.ToString());
        using var tokens = Models.Tokens();
        using var expected = original.forward(tokens);
        using var actual = converted.forward(tokens);
        Assert.True(TensorAssert.MaxAbsDifference(actual, expected) <= 1e-5);
    }

    [Fact]
    public void MissingUnexpectedAndMismatchedKeysAreReported()
    {
        using var original = TrainedOriginal();
        using var converted = new TinyGpt(Models.Small, new HyperConnectionOptions());
        var state = original.state_dict();
        state.Remove("ln_f.weight");
        state["h.0.extra.weight"] = zeros(3);
        state["lm_head.weight"] = zeros(2, 2);

        var report = Retrofitter.Load(converted, state);

        Assert.False(report.IsComplete);
        Assert.Equal(new[] { "ln_f.weight" }, report.Missing);
        Assert.Equal(new[] { "h.0.extra.weight" }, report.Unexpected);
        var mismatch = Assert.Single(report.ShapeMismatches);
        Assert.Contains("lm_head.weight", mismatch);
        Assert.Contains("[2, 2]", mismatch);
        Assert.DoesNotContain("lm_head.weight", report.Loaded);
    }

    [Fact]
    public void FileThatIsNotACheckpointIsRejectedClearly()
    {
        var path = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(path, "hello");
        using var converted = new TinyGpt(Models.Small, new HyperConnectionOptions());
        var e = Assert.Throws<InvalidDataException>(() => Retrofitter.LoadCheckpoint(converted, path));
        Assert.Contains(path, e.Message);
        Assert.Throws<FileNotFoundException>(() => Retrofitter.LoadCheckpoint(converted, Path.Combine(_dir, "absent.bin")));
    }
}

using Gpt.Trainer.Training;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Samples;

/// <summary>Decoding the sample GPTs over their key/value caches against running the whole window.</summary>
public sealed class CachedDecodingTests
{
    private static readonly ModelShape Shape = new(Vocabulary: 23, Context: 16, Layers: 2, Width: 32, Heads: 4);

    /// <summary>The model, with mHC/HC connections pushed off their init so that they mix the streams.</summary>
    private static nn.Module<Tensor, Tensor> Build(Connection connection)
    {
        manual_seed(5);
        var model = ModelFactory.Create(connection, Shape);
        using (no_grad())
            foreach (var hyper in HyperConnections.Find(model))
                foreach (var p in hyper.parameters())
                    p.add_(randn_like(p) * 0.5);
        model.eval();
        return model;
    }

    private static Tensor Tokens() => randint(0, Shape.Vocabulary, new long[] { 2, Shape.Context }, generator: new Generator(9));

    public static TheoryData<Connection> Connections => [Connection.Residual, Connection.Mhc, Connection.Hc];

    [Theory]
    [MemberData(nameof(Connections))]
    public void DecodingInPiecesGivesTheLogitsOfTheWholeWindow(Connection connection)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var model = Build(connection);
        var tokens = Tokens();
        var whole = model.forward(tokens);

        using var decoder = CachedDecoder.For(model)!;
        // A prompt (causal among itself), a piece of four after it (attending to the cache and causally
        // among themselves), then one token at a time.
        long[] ends = [5, 9, .. Enumerable.Range(10, 7).Select(e => (long)e)];
        var pieces = new List<Tensor>();
        long start = 0;
        foreach (long end in ends)
        {
            pieces.Add(decoder.Decode(tokens.narrow(1, start, end - start)));
            start = end;
            Assert.Equal(end, decoder.Length);
        }
        TensorAssert.Close(cat(pieces, 1), whole, 1e-5, "logits decoded in pieces");
    }

    [Theory]
    [MemberData(nameof(Connections))]
    public void CachedSamplingDrawsTheTokensOfFullWindowSamplingWhileTheSequenceFits(Connection connection)
    {
        using var model = Build(connection);
        long[] prompt = [1, 2, 3];
        int length = (int)Shape.Context - prompt.Length;
        var cached = Sampler.Sample(model, prompt, length, Shape.Context, 0.8, seed: 4);
        var windowed = Sampler.Sample(model, prompt, length, Shape.Context, 0.8, seed: 4, useCache: false);
        Assert.Equal(windowed, cached);
    }

    [Fact]
    public void CachedSamplingRestartsFromHalfTheWindowWhenTheCacheIsFull()
    {
        using var model = Build(Connection.Mhc);
        var ids = Sampler.Sample(model, [1L], 3 * (int)Shape.Context, Shape.Context, 0.8, seed: 4);
        Assert.Equal(1 + 3 * (int)Shape.Context, ids.Count);
        Assert.All(ids, id => Assert.InRange(id, 0, Shape.Vocabulary - 1));
        // Up to the first restart it is the full-window sample.
        var windowed = Sampler.Sample(model, [1L], (int)Shape.Context, Shape.Context, 0.8, seed: 4, useCache: false);
        Assert.Equal(windowed.Take((int)Shape.Context), ids.Take((int)Shape.Context));
    }

    [Fact]
    public void DecodingPastTheContextSaysWhatToDoAndKeepsTheCache()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var model = (Gpt.Residual.GptModel)Build(Connection.Residual);
        using var cache = new Gpt.Residual.KeyValueCache();
        model.Decode(Tokens(), cache);

        var e = Assert.Throws<ArgumentException>(() => model.Decode(Tokens().narrow(1, 0, 1), cache));
        Assert.Contains("context of 16", e.Message);
        Assert.Contains("clear the cache", e.Message);
        Assert.Equal(16, cache.Length);
    }

    [Fact]
    public void ADecodeThatThrowsLeavesAnEmptyCacheNotAHalfFilledOne()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var model = (Gpt.HyperConnected.GptModel)Build(Connection.Mhc);
        using var cache = new Gpt.HyperConnected.KeyValueCache();
        model.Decode(Tokens().narrow(1, 0, 4), cache);

        // A token id outside the vocabulary fails in the embedding, after nothing or some layers appended.
        Assert.ThrowsAny<Exception>(() => model.Decode(full(new long[] { 2, 1 }, Shape.Vocabulary + 5, ScalarType.Int64), cache));
        Assert.Equal(0, cache.Length);
        TensorAssert.Close(model.Decode(Tokens().narrow(1, 0, 4), cache), model.forward(Tokens().narrow(1, 0, 4)), 1e-6, "decode after the failure");
    }
}

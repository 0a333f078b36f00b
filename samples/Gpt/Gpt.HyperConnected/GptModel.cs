using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Gpt.HyperConnected;

/// <summary>Token and position embeddings, a stack of blocks, a final norm and the language-model head.</summary>
public sealed class GptModel : Module<Tensor, Tensor>
{
    private readonly Embedding wte, wpe;
    private readonly Dropout drop;
    private readonly ModuleList<Block> h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;

    public GptModel(GptConfig config) : base(nameof(GptModel))
    {
        Config = config;
        wte = Embedding(config.VocabSize, config.NEmbd);
        wpe = Embedding(config.BlockSize, config.NEmbd);
        drop = Dropout(config.Dropout);
        h = new ModuleList<Block>();
        for (int i = 0; i < config.NLayer; i++)
            h.Add(new Block(config));
        ln_f = LayerNorm(config.NEmbd);
        lm_head = Linear(config.NEmbd, config.VocabSize, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public GptConfig Config { get; }

    /// <summary>Token ids [B, T] to next-token logits [B, T, vocab].</summary>
    public override Tensor forward(Tensor idx)
    {
        using var scope = NewDisposeScope();
        long start = KeyValueCache.Active?.Length ?? 0;
        var pos = arange(start, start + idx.shape[1], dtype: ScalarType.Int64, device: idx.device);
        var x = drop.forward(wte.forward(idx) + wpe.forward(pos));
        x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
        x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        x = ln_f.forward(x);
        return lm_head.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Logits [B, T, vocab] of the new tokens <paramref name="idx"/> [B, T], which follow the positions
    /// <paramref name="cache"/> holds; adds theirs to it. From an empty cache this equals <see cref="forward"/>.
    /// </summary>
    public Tensor Decode(Tensor idx, KeyValueCache cache)
    {
        ArgumentNullException.ThrowIfNull(idx);
        ArgumentNullException.ThrowIfNull(cache);
        long tokens = idx.shape[1];
        if (cache.Length + tokens > Config.BlockSize)
            throw new ArgumentException(
                $"The cache holds {cache.Length} positions and {tokens} more would pass the context of {Config.BlockSize}; " +
                "clear the cache and decode the last tokens of the window again.", nameof(idx));
        using var activation = cache.Activate(tokens);
        var logits = forward(idx);
        activation.Complete();
        return logits;
    }
}

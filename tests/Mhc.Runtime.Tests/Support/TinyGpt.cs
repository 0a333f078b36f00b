using Gpt.Residual;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Mhc.Runtime.Tests.Support;

/// <summary>
/// A small GPT in two forms: with the sample's ordinary residual <see cref="Block"/>, or with a
/// hand-written hyper-connected block that takes any <see cref="HyperConnectionOptions"/> (kind,
/// streams, implementation) around the same attention and MLP modules. Both forms share every
/// sub-module name, so one's weights load into the other.
/// </summary>
internal sealed class TinyGpt : Module<Tensor, Tensor>
{
    private readonly Embedding wte, wpe;
    private readonly ModuleList<Module<Tensor, Tensor>> h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;
    private readonly HyperConnectionOptions? _hyper;

    public TinyGpt(GptConfig config, HyperConnectionOptions? hyper = null) : base(nameof(TinyGpt))
    {
        _hyper = hyper;
        wte = Embedding(config.VocabSize, config.NEmbd);
        wpe = Embedding(config.BlockSize, config.NEmbd);
        h = new ModuleList<Module<Tensor, Tensor>>();
        for (int i = 0; i < config.NLayer; i++)
            h.Add(hyper is null ? new Block(config) : new HyperBlock(config, hyper));
        ln_f = LayerNorm(config.NEmbd);
        lm_head = Linear(config.NEmbd, config.VocabSize, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor idx)
    {
        using var scope = NewDisposeScope();
        var pos = arange(idx.shape[1], dtype: ScalarType.Int64, device: idx.device);
        var x = wte.forward(idx) + wpe.forward(pos);
        if (_hyper is null)
        {
            foreach (var block in h) x = block.forward(x);
        }
        else
        {
            x = HyperStreams.Expand(x, _hyper.Streams);
            x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));
            x = HyperStreams.Reduce(x);
        }
        return lm_head.forward(ln_f.forward(x)).MoveToOuterDisposeScope();
    }

    private sealed class HyperBlock : Module<Tensor, Tensor>
    {
        private readonly LayerNorm ln_1, ln_2;
        private readonly CausalSelfAttention attn;
        private readonly Mlp mlp;
        private readonly HyperConnection hc_attn, hc_mlp;

        public HyperBlock(GptConfig config, HyperConnectionOptions options) : base(nameof(HyperBlock))
        {
            ln_1 = LayerNorm(config.NEmbd);
            attn = new CausalSelfAttention(config);
            ln_2 = LayerNorm(config.NEmbd);
            mlp = new Mlp(config);
            hc_attn = new HyperConnection(nameof(hc_attn), config.NEmbd, options);
            hc_mlp = new HyperConnection(nameof(hc_mlp), config.NEmbd, options);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));
            return hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));
        }
    }
}

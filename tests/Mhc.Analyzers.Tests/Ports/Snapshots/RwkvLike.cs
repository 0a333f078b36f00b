using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.RwkvLike;

internal record RwkvConfig(int NEmbd, int NLayer, int VocabSize, int DimFfn);

internal class TimeMix : Module<Tensor, Tensor?, (Tensor Out, Tensor State)>
{
    private readonly Linear key, value, receptance, output;
    private readonly Parameter time_mix_k;

    public TimeMix(RwkvConfig cfg) : base("time_mix")
    {
        key = Linear(cfg.NEmbd, cfg.NEmbd, hasBias: false);
        value = Linear(cfg.NEmbd, cfg.NEmbd, hasBias: false);
        receptance = Linear(cfg.NEmbd, cfg.NEmbd, hasBias: false);
        output = Linear(cfg.NEmbd, cfg.NEmbd, hasBias: false);
        time_mix_k = Parameter(torch.ones(1, 1, cfg.NEmbd) * 0.5);
        RegisterComponents();
    }

    public override (Tensor Out, Tensor State) forward(Tensor x, Tensor? state)
    {
        var prev = state ?? torch.zeros_like(x[.., ..1]);
        var shifted = torch.cat(new[] { prev, x[.., ..^1] }, 1);
        var xk = x * time_mix_k + shifted * (1 - time_mix_k);   // not residual: token shift interpolation
        var k = key.forward(xk);
        var v = value.forward(xk);
        var r = torch.sigmoid(receptance.forward(xk));
        var wkv = torch.cumsum(torch.exp(k) * v, 1) / torch.cumsum(torch.exp(k), 1);
        return (output.forward(r * wkv), x[.., ^1..]);
    }
}

internal class ChannelMix : Module<Tensor, Tensor>
{
    private readonly Linear key, value, receptance;

    public ChannelMix(RwkvConfig cfg) : base("channel_mix")
    {
        key = Linear(cfg.NEmbd, cfg.DimFfn, hasBias: false);
        value = Linear(cfg.DimFfn, cfg.NEmbd, hasBias: false);
        receptance = Linear(cfg.NEmbd, cfg.NEmbd, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var k = torch.square(functional.relu(key.forward(x)));
        return torch.sigmoid(receptance.forward(x)) * value.forward(k);
    }
}

[HyperConnected]
internal partial class RwkvBlock : Module<Tensor, Tensor?, (Tensor, Tensor)>
{
    private readonly LayerNorm ln1, ln2;
    private readonly TimeMix att;
    private readonly ChannelMix ffn;

    public RwkvBlock(RwkvConfig cfg, int layerId) : base($"block_{layerId}")
    {
        ln1 = LayerNorm(cfg.NEmbd);
        ln2 = LayerNorm(cfg.NEmbd);
        att = new TimeMix(cfg);
        ffn = new ChannelMix(cfg);
        InitializeHyperConnections(channels: cfg.NEmbd);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x, Tensor? state)
    {
        Tensor? newState = default!;
        x = hc_att.forward(x, h =>
        {
            (var dx, newState) = att.forward(ln1.forward(h), state);
            return dx;
        });   // expect: MHC0001
        x = hc_ffn.forward(x, h => ffn.forward(ln2.forward(h)));   // expect: MHC0001
        return (x, newState);
    }
}

internal class Rwkv : Module<Tensor, Tensor>
{
    private readonly Embedding emb;
    private readonly LayerNorm ln0, ln_out;
    private readonly RwkvBlock[] blocks;
    private readonly Linear head;

    public Rwkv(RwkvConfig cfg) : base("rwkv")
    {
        emb = Embedding(cfg.VocabSize, cfg.NEmbd);
        ln0 = LayerNorm(cfg.NEmbd);
        blocks = new RwkvBlock[cfg.NLayer];
        for (var i = 0; i < cfg.NLayer; i++)
        {
            blocks[i] = new RwkvBlock(cfg, i);
            register_module($"blocks_{i}", blocks[i]);
        }
        ln_out = LayerNorm(cfg.NEmbd);
        head = Linear(cfg.NEmbd, cfg.VocabSize, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor idx)
    {
        var x = ln0.forward(emb.forward(idx));
        x = HyperStreams.Expand(x, RwkvBlock.HyperConnectionStreams);
        for (var i = 0; i < blocks.Length; i++)
        {
            (x, _) = blocks[i].forward(x, null);
        }
        x = HyperStreams.Reduce(x);
        return head.forward(ln_out.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new Rwkv(new RwkvConfig(NEmbd: 16, NLayer: 2, VocabSize: 32, DimFfn: 32));

    public static Tensor Run(Module model)
    {
        using var idx = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(5).remainder(32);
        return ((Rwkv)model).forward(idx).flatten();
    }
}

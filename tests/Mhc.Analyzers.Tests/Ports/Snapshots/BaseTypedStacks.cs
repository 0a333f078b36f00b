using System;
using System.Collections.Generic;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// Stacks typed by the base module class, filled and run the ways ports fill and run them: a ModuleList run by a
// loop whose bound is a field (a Llama port keeps n_layers beside the list), blocks made into a local before they are
// added, a block whose constructor takes a norm factory (a SAM-style image encoder), an array filled through a
// local, and a list handed to a Sequential.
namespace Ports.BaseTypedStacks;

public sealed class EncoderArgs
{
    public int Dim { get; init; } = 16;
    public int NLayers { get; init; } = 2;
    public double NormEps { get; init; } = 1e-5;
}

/// <summary>A hand-written RMS norm built from the args object, as a Llama port writes it.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public RmsNorm(EncoderArgs args) : base(nameof(RmsNorm))
    {
        eps = args.NormEps;
        weight = nn.Parameter(torch.ones(args.Dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * torch.rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + eps) * weight;
}

[HyperConnected]
public sealed partial class EncoderBlock : nn.Module<Tensor, Tensor>
{
    private readonly RmsNorm attention_norm, ffn_norm;
    private readonly Linear wqkv, wo, w1, w2;

    public EncoderBlock(EncoderArgs args) : base(nameof(EncoderBlock))
    {
        attention_norm = new RmsNorm(args);
        ffn_norm = new RmsNorm(args);
        wqkv = nn.Linear(args.Dim, args.Dim, hasBias: false);
        wo = nn.Linear(args.Dim, args.Dim, hasBias: false);
        w1 = nn.Linear(args.Dim, 3 * args.Dim, hasBias: false);
        w2 = nn.Linear(3 * args.Dim, args.Dim, hasBias: false);
        InitializeHyperConnections(channels: args.Dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = hc_wo.forward(x, s => wo.forward(torch.tanh(wqkv.forward(attention_norm.forward(s)))));   // expect: MHC0001
        return hc_w2.forward(h, s => w2.forward(nn.functional.silu(w1.forward(ffn_norm.forward(s)))));   // expect: MHC0001
    }
}

/// <summary>An image-encoder block whose norms come from a factory its stack passes in.</summary>
[HyperConnected]
public sealed partial class VitBlock : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> norm1, norm2;
    private readonly Linear proj, fc1, fc2;

    public VitBlock(int dim, Func<long, nn.Module<Tensor, Tensor>> norm_layer) : base(nameof(VitBlock))
    {
        norm1 = norm_layer(dim);
        norm2 = norm_layer(dim);
        proj = nn.Linear(dim, dim);
        fc1 = nn.Linear(dim, 2 * dim);
        fc2 = nn.Linear(2 * dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_proj.forward(x, h =>
        {
            h = norm1.forward(h);
            h = proj.forward(h);
            return h;
        });   // expect: MHC0001
        x = hc_fc2.forward(x, h => fc2.forward(nn.functional.gelu(fc1.forward(norm2.forward(h)))));   // expect: MHC0001
        return x;
    }
}

[HyperConnected]
public sealed partial class MlpBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear fc;

    public MlpBlock(int dim) : base(nameof(MlpBlock))
    {
        norm = nn.LayerNorm(dim);
        fc = nn.Linear(dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => hc_fc.forward(input, h => fc.forward(norm.forward(h)));   // expect: MHC0001
}

[HyperConnected]
public sealed partial class GateBlock : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear gate, value;

    public GateBlock(int dim) : base(nameof(GateBlock))
    {
        norm = nn.LayerNorm(dim);
        gate = nn.Linear(dim, dim);
        value = nn.Linear(dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        return hc_gate.forward(x, h =>
        {
            var y = norm.forward(h);
            return torch.sigmoid(gate.forward(y)) * value.forward(y);
        });   // expect: MHC0001
    }
}

public sealed class Encoder : nn.Module<Tensor, Tensor>
{
    private readonly int n_layers;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> layers;
    private readonly ModuleList<nn.Module<Tensor, Tensor>> blocks;
    private readonly nn.Module<Tensor, Tensor>[] stages;
    private readonly Sequential gates;
    private readonly RmsNorm norm;

    public Encoder(EncoderArgs args) : base(nameof(Encoder))
    {
        n_layers = args.NLayers;
        layers = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < args.NLayers; i++)
            layers.Add(new EncoderBlock(args));

        blocks = nn.ModuleList<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < 2; i++)
        {
            var block = new VitBlock(args.Dim, norm_layer: ch => nn.LayerNorm(ch, eps: 1e-6));
            blocks.Add(block);
        }

        stages = new nn.Module<Tensor, Tensor>[2];
        for (int i = 0; i < stages.Length; i++)
        {
            var stage = new MlpBlock(args.Dim);
            stages[i] = stage;
            register_module($"stage{i}", stage);
        }

        var gateList = new List<nn.Module<Tensor, Tensor>>();
        for (int i = 0; i < 2; i++)
        {
            var gateBlock = new GateBlock(args.Dim);
            gateList.Add(gateBlock);
        }

        gates = nn.Sequential(gateList);
        norm = new RmsNorm(args);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor x)
    {
        var h = x;
        h = HyperStreams.Expand(h, EncoderBlock.HyperConnectionStreams);
        for (int i = 0; i < n_layers; i++)
            h = layers[i].forward(h);

        h = HyperStreams.Run(h, blocks, (blk, streams) => blk.forward(streams));

        h = HyperStreams.Run(h, stages, (block, streams) => block.forward(streams));
        h = HyperStreams.Reduce(h);

        h = HyperStreams.Reduce(gates.forward(HyperStreams.Expand(h, GateBlock.HyperConnectionStreams)));
        return norm.forward(h);
    }
}

public static class Harness
{
    public static nn.Module Create() => new Encoder(new EncoderArgs());

    public static Tensor Run(nn.Module model)
    {
        using var input = torch.linspace(-1, 1, 2 * 5 * 16).view(2, 5, 16);
        return ((Encoder)model).forward(input);
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.ConvNextLike;

public class ConvNextBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d dwconv;
    private readonly LayerNorm norm;
    private readonly Linear pwconv1, pwconv2;
    private readonly Parameter gamma;

    public ConvNextBlock(int dim, double layerScaleInit = 0.5) : base(nameof(ConvNextBlock))
    {
        dwconv = Conv2d(dim, dim, 7, padding: 3, groups: dim);
        norm = LayerNorm(dim, eps: 1e-6);
        pwconv1 = Linear(dim, 4 * dim);
        pwconv2 = Linear(4 * dim, dim);
        gamma = Parameter(layerScaleInit * torch.ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var input = x;
        x = dwconv.forward(x);
        x = x.permute(0, 2, 3, 1);
        x = norm.forward(x);
        x = pwconv1.forward(x);
        x = functional.gelu(x);
        x = pwconv2.forward(x);
        x = gamma * x;
        x = x.permute(0, 3, 1, 2);
        x = input + x;   // expect: MHC0002 channel-first
        return x;
    }
}

public class ConvNextStage : Module<Tensor, Tensor>
{
    private readonly Sequential blocks;
    public ConvNextStage(int dim, int depth) : base(nameof(ConvNextStage))
    {
        var list = new List<(string, Module<Tensor, Tensor>)>();
        for (int j = 0; j < depth; j++) list.Add(($"{j}", new ConvNextBlock(dim)));
        blocks = Sequential(list);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => blocks.forward(x);
}

/// <summary>Two stages with a downsampling stem between them, as a ConvNeXt trunk.</summary>
public class ConvNext : Module<Tensor, Tensor>
{
    private readonly Conv2d stem, downsample;
    private readonly ConvNextStage stage1, stage2;

    public ConvNext() : base(nameof(ConvNext))
    {
        stem = Conv2d(3, 8, 2, stride: 2);
        stage1 = new ConvNextStage(8, 2);
        downsample = Conv2d(8, 16, 2, stride: 2);
        stage2 = new ConvNextStage(16, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => stage2.forward(downsample.forward(stage1.forward(stem.forward(x)))).mean(new long[] { -1, -2 });
}

public static class Harness
{
    public static Module Create() => new ConvNext();

    public static Tensor Run(Module model)
    {
        using var image = arange(0, 2 * 3 * 8 * 8, dtype: ScalarType.Float32).view(2, 3, 8, 8).div(100).cos();
        return ((ConvNext)model).forward(image).flatten();
    }
}

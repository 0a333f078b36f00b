using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Shortcuts that are not an identity, and a channel-first residual block: reported, never converted (MHC0002).
namespace Ports.NotConvertibleShortcuts;

/// <summary>A stage that widens the stream: the shortcut is a Linear projection to the new width.</summary>
public sealed class ProjectionBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear fc1, fc2, shortcut;

    public ProjectionBlock(long inDim, long outDim) : base(nameof(ProjectionBlock))
    {
        norm = LayerNorm(inDim);
        fc1 = Linear(inDim, 2 * outDim);
        fc2 = Linear(2 * outDim, outDim);
        shortcut = Linear(inDim, outDim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(norm.forward(x)))) + shortcut.forward(x);   // expect: MHC0002 projection-shortcut
}

/// <summary>ResNet's basic block on vectors: the identity is replaced by a downsampling projection where the width changes.</summary>
public sealed class BasicBlock : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    private readonly LayerNorm bn1, bn2;
    private readonly Linear? downsample;

    public BasicBlock(long inplanes, long planes) : base(nameof(BasicBlock))
    {
        fc1 = Linear(inplanes, planes);
        bn1 = LayerNorm(planes);
        fc2 = Linear(planes, planes);
        bn2 = LayerNorm(planes);
        downsample = inplanes == planes ? null : Linear(inplanes, planes, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var identity = x;

        var output = fc1.forward(x);
        output = bn1.forward(output);
        output = functional.relu(output);
        output = fc2.forward(output);
        output = bn2.forward(output);

        if (downsample is not null)
            identity = downsample.forward(x);

        output += identity;   // expect: MHC0002 projection-shortcut
        return output;
    }
}

/// <summary>A pre-activation residual block on [B, C, H, W] feature maps.</summary>
public sealed class PreActBlock : Module<Tensor, Tensor>
{
    private readonly BatchNorm2d bn1, bn2;
    private readonly Conv2d conv1, conv2;

    public PreActBlock(long channels) : base(nameof(PreActBlock))
    {
        bn1 = BatchNorm2d(channels);
        conv1 = Conv2d(channels, channels, 3, padding: 1, bias: false);
        bn2 = BatchNorm2d(channels);
        conv2 = Conv2d(channels, channels, 3, padding: 1, bias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = conv1.forward(functional.relu(bn1.forward(x)));
        h = conv2.forward(functional.relu(bn2.forward(h)));
        return x + h;   // expect: MHC0002 channel-first
    }
}

public sealed class ShortcutsModel : Module<Tensor, Tensor>
{
    private readonly Linear stem;
    private readonly ModuleList<ProjectionBlock> stages;
    private readonly ModuleList<BasicBlock> layer1;
    private readonly ModuleList<PreActBlock> convs;
    private readonly Linear fc;

    public ShortcutsModel() : base(nameof(ShortcutsModel))
    {
        stem = Linear(12, 16);
        stages = new ModuleList<ProjectionBlock>(new ProjectionBlock(16, 24), new ProjectionBlock(24, 24));
        layer1 = new ModuleList<BasicBlock>(new BasicBlock(24, 32), new BasicBlock(32, 32));
        convs = new ModuleList<PreActBlock>(new PreActBlock(8), new PreActBlock(8));
        fc = Linear(32, 5);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = stem.forward(x);
        foreach (var stage in stages)
            x = stage.forward(x);
        foreach (var block in layer1)
            x = block.forward(x);

        // [B, 32] as an 8-channel 2x2 feature map for the convolutional blocks.
        var maps = x.view(x.shape[0], 8, 2, 2);
        foreach (var block in convs)
            maps = block.forward(maps);
        return fc.forward(maps.flatten(1));
    }
}

public static class Harness
{
    public static Module Create() => new ShortcutsModel();

    public static Tensor Run(Module model)
    {
        manual_seed(11);
        using var features = randn(3, 12);
        return ((ShortcutsModel)model).forward(features);
    }
}

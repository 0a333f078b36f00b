using Mhc.Runtime.Diagnostics;
using Mhc.Runtime.Monitoring;
using Mhc.Runtime.Ops;
using Mhc.Runtime.Ops.Fused;
using Mhc.Runtime.Recompute;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mhc.Runtime;

/// <summary>
/// One residual site (an attention or an MLP sub-layer) widened to n streams. Takes the streams
/// [..., n, C] and the branch F ([..., C] → [..., C]) and returns the new streams [..., n, C]:
/// <c>x'[i] = Σ_j H_res[i,j]·x[j] + H_post[i]·F(Σ_i H_pre[i]·x[i])</c>, with the mixing matrices
/// computed per token as in MHC-SPEC §2 (mHC), §4 (HC), or fixed to a plain residual add.
/// At init it computes exactly <c>x + F(x)</c> on identical streams (MHC-SPEC §5).
/// </summary>
public sealed class HyperConnection : nn.Module<Tensor, Func<Tensor, Tensor>, Tensor>
{
    // Field names equal the registered parameter names: Module.to(dtype/device) rebinds parameters
    // through fields of the same name, and a differently named field would keep the stale tensor.
    private Parameter? phi, bias;                                       // mHC
    private Parameter? theta_pre, theta_post, theta_res, b_pre, b_post, b_res; // HC
    private Parameter? alpha;                                            // both: (α_pre, α_post, α_res)

    /// <param name="name">Module name (as in state dicts).</param>
    /// <param name="channels">Width C of one stream.</param>
    /// <param name="options">Streams, kind, Sinkhorn iterations, implementation.</param>
    /// <param name="layerIndex">Global index of this residual site; drives the symmetry-breaking init and the Amax probe's order.</param>
    public HyperConnection(string name, long channels, HyperConnectionOptions options, int layerIndex = 0) : base(name)
    {
        ArgumentNullException.ThrowIfNull(options);
        options = HyperConnections.ApplyOverrides(options);
        options.Validate();
        if (channels < 1)
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "The stream width must be positive.");
        Options = options;
        Channels = channels;
        LayerIndex = layerIndex;

        int n = options.Streams;
        switch (options.Kind)
        {
            case ConnectionKind.Mhc:
                phi = nn.Parameter(zeros(n * channels, n * n + 2 * n));
                bias = nn.Parameter(tensor(ConnectionInit.MhcBias(n, layerIndex, options.IdentityLogitGap)));
                alpha = nn.Parameter(full(3, options.AlphaInit, dtype: ScalarType.Float32));
                register_parameter(nameof(phi), phi);
                register_parameter(nameof(bias), bias);
                register_parameter(nameof(alpha), alpha);
                break;
            case ConnectionKind.Hc:
                theta_pre = nn.Parameter(zeros(channels));
                theta_post = nn.Parameter(zeros(channels));
                theta_res = nn.Parameter(zeros(channels, n));
                b_pre = nn.Parameter(tensor(ConnectionInit.PreWeights(n, layerIndex).Select(w => (float)w).ToArray()));
                b_post = nn.Parameter(ones(n));
                b_res = nn.Parameter(eye(n));
                alpha = nn.Parameter(full(3, options.AlphaInit, dtype: ScalarType.Float32));
                register_parameter(nameof(theta_pre), theta_pre);
                register_parameter(nameof(theta_post), theta_post);
                register_parameter(nameof(theta_res), theta_res);
                register_parameter(nameof(b_pre), b_pre);
                register_parameter(nameof(b_post), b_post);
                register_parameter(nameof(b_res), b_res);
                register_parameter(nameof(alpha), alpha);
                break;
            case ConnectionKind.Residual:
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(options), options.Kind, "Unknown connection kind.");
        }
    }

    public HyperConnectionOptions Options { get; }

    public ConnectionKind Kind => Options.Kind;

    public int Streams => Options.Streams;

    public long Channels { get; }

    /// <summary>Global index of this residual site (0 for the first connection of the model).</summary>
    public int LayerIndex { get; private set; }

    /// <summary>
    /// When true (mHC, fused CPU kernels, inside <see cref="HyperStreams.Run{TBlock}"/>), this connection's input
    /// stream state is not kept for the backward unless it starts a recompute segment; the backward re-derives
    /// it (paper Eq. 20). Gradients are unchanged, provided the streams it returns are not changed in place
    /// before the next connection takes them. Set for a whole model with <see cref="HyperConnections.EnableRecompute"/>.
    /// </summary>
    public bool Recompute { get; set; }

    /// <summary>Set while an <see cref="AmaxProbe"/> measures the model.</summary>
    internal MixingRecorder? Recorder { get; set; }

    /// <summary>Runs the connection around a branch module.</summary>
    public Tensor forward(Tensor streams, nn.Module<Tensor, Tensor> branch)
    {
        ArgumentNullException.ThrowIfNull(branch);
        return forward(streams, branch.call);
    }

    public override Tensor forward(Tensor streams, Func<Tensor, Tensor> branch)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(branch);
        var shape = TensorShape.Of(streams);
        StreamShape.RequireStreams(shape, Streams, Channels, nameof(streams));
        var activationType = streams.dtype;
        if (TakesInferencePath(streams, activationType))
            return ForwardInference(streams, shape, activationType, branch);
        using var timed = ConnectionTimings.Time(TimedPart.Connection);
        var computeType = StreamShape.ComputeType(activationType, nameof(streams));
        var impl = ImplementationFor(streams, computeType);
        var tracker = StreamTracker.Current;
        var link = tracker?.Join(this, streams, impl == OpsImplementation.Fused);

        // The branch runs outside this connection's dispose scopes: tensors it creates or keeps (a cached
        // mask, a KV cache) belong to it and to the caller, exactly as before the conversion.
        Mixing mixing;
        using (var scope = NewDisposeScope())
        {
            var x = streams.to_type(computeType).contiguous();
            mixing = Kind switch
            {
                ConnectionKind.Mhc => MixMhc(x, computeType, impl, link),
                ConnectionKind.Hc => MixHc(x, computeType, impl),
                _ => MixResidual(x, computeType, impl),
            };
            mixing = mixing with { Input = mixing.Input.to_type(activationType) };
            scope.MoveToOuter(mixing.Tensors);
        }

        using (mixing)
        {
            var f = InvokeBranch(branch, mixing.Input, StreamShape.OneStream(shape));
            using var scope = NewDisposeScope();
            var fc = f.to_type(computeType).contiguous();
            var output = Kind == ConnectionKind.Residual ? mixing.X + fc.unsqueeze(-2)
                : mixing.Deferred is { } deferred ? MhcOps.ConnectionMerge(mixing.X, mixing.HRes!, mixing.Post!, fc, link, deferred)
                : MhcOps.Merge(mixing.X, mixing.HRes!, mixing.Post!, fc, mixing.Implementation, Options.Convention, link);
            var result = output.to_type(activationType).MoveToOuterDisposeScope();
            tracker?.Produced(result, link);
            return result;
        }
    }

    /// <summary>
    /// mHC under no_grad on the fused CPU path, with no probe attached: <see cref="InferenceMix"/>, which keeps the
    /// mixing matrices out of tensors (a decoding step's per-call costs are most of a connection's time there).
    /// </summary>
    private bool TakesInferencePath(Tensor streams, ScalarType activationType)
        => Kind == ConnectionKind.Mhc && Recorder is null && Options.Implementation == OpsImplementation.Fused
           && activationType is ScalarType.Float32 or ScalarType.Float64 && !is_grad_enabled()
           && streams.device_type == DeviceType.CPU && phi!.dtype == activationType && streams.is_contiguous();

    private Tensor ForwardInference(Tensor streams, long[] shape, ScalarType activationType, Func<Tensor, Tensor> branch)
    {
        var tracker = StreamTracker.Current;
        var (input, mix) = InferenceMix.Run(streams, shape, phi!, bias!, alpha!, Options.RmsEpsilon, Options.SinkhornIterations, Options.Convention);
        using (mix)
        using (input)
        {
            var f = InvokeBranch(branch, input, StreamShape.OneStream(shape));
            Tensor result;
            if (f.dtype == activationType && f.device_type == DeviceType.CPU && f.is_contiguous())
                result = mix.Merge(streams, f);
            else
            {
                using var fc = f.to_type(activationType).contiguous();
                OpsArguments.RequireFusable((fc, "the branch output"));
                result = mix.Merge(streams, fc);
            }
            tracker?.Produced(result, null);
            return result;
        }
    }

    /// <summary>
    /// What a connection computes before its branch runs, held across the branch call. <paramref name="Deferred"/>:
    /// made by <see cref="MhcOps.ConnectionMix"/>, whose H_res is already the matrix the merge applies, and the
    /// hand-over through which the merge leaves ∂x to the mix.
    /// </summary>
    private sealed record Mixing(Tensor X, Tensor Input, Tensor? Post, Tensor? HRes, OpsImplementation Implementation,
        DeferredStreamGradient? Deferred = null)
        : IDisposable
    {
        public IEnumerable<IDisposable> Tensors => new[] { X, Input, Post, HRes }.OfType<IDisposable>();

        public void Dispose()
        {
            foreach (var tensor in Tensors) tensor.Dispose();
        }
    }

    private Mixing MixMhc(Tensor x, ScalarType computeType, OpsImplementation impl, StreamLink? link)
    {
        // The fused path runs the whole mix as one node; a probe measuring the model takes the three ops, which show H_pre.
        if (impl == OpsImplementation.Fused && Recorder is null)
        {
            var deferred = new DeferredStreamGradient();
            var (input, hPost, mix) = MhcOps.ConnectionMix(x, As(phi!, computeType), As(bias!, computeType), As(alpha!, computeType),
                Options.RmsEpsilon, Options.SinkhornIterations, Options.Convention, link, deferred);
            return new Mixing(x, input, hPost, mix, impl, deferred);
        }
        var (pre, post, logits) = MhcOps.Coefficients(
            x, As(phi!, computeType), As(bias!, computeType), As(alpha!, computeType), Options.RmsEpsilon, impl, Options.Convention, link);
        var hRes = MhcOps.Sinkhorn(logits, Options.SinkhornIterations, impl, Options.Convention);
        // The probe measures the matrix that mixes the streams, H_resᵀ where the convention transposes it.
        Recorder?.Record(this, pre, post, Options.Convention.TransposesResidualMix() ? hRes.transpose(-1, -2) : hRes);
        return new Mixing(x, MhcOps.PreMix(x, pre, impl, link), post, hRes, impl);
    }

    private Mixing MixHc(Tensor x, ScalarType computeType, OpsImplementation impl)
    {
        var scales = As(alpha!, computeType);
        var normalized = x / (x.square().mean(new long[] { -1 }, keepdim: true) + Options.RmsEpsilon).sqrt();
        var pre = scales[0] * normalized.matmul(As(theta_pre!, computeType)).tanh() + As(b_pre!, computeType);
        var post = scales[1] * normalized.matmul(As(theta_post!, computeType)).tanh() + As(b_post!, computeType);
        var hRes = (scales[2] * normalized.matmul(As(theta_res!, computeType)).tanh() + As(b_res!, computeType)).contiguous();
        Recorder?.Record(this, pre, post, hRes);
        return new Mixing(x, MhcOps.PreMix(x, pre.contiguous(), impl), post.contiguous(), hRes, impl);
    }

    private Mixing MixResidual(Tensor x, ScalarType computeType, OpsImplementation impl)
    {
        if (Recorder is not null)
        {
            var identity = eye(Streams, dtype: computeType, device: x.device).expand(x.shape[..^1].Append(Streams).ToArray());
            Recorder.Record(this, null, null, identity);
        }
        return new Mixing(x, x.mean(new long[] { -2 }), null, null, impl);
    }

    /// <param name="inputShape">The shape of <paramref name="h"/>, which the branch must return.</param>
    private Tensor InvokeBranch(Func<Tensor, Tensor> branch, Tensor h, long[] inputShape)
    {
        var f = ConnectionTimings.Enabled && is_grad_enabled() ? InvokeMarkedBranch(branch, h) : branch(h);
        if (f is null)
            throw new InvalidOperationException($"The branch of connection '{GetName()}' returned null.");
        if (!TensorShape.Is(f, inputShape))
            throw new InvalidOperationException(
                $"The branch of connection '{GetName()}' returned {StreamShape.Format(f.shape)}, but it must return the shape it was given, " +
                $"{StreamShape.Format(inputShape)} (one stream of width {Channels}). A branch that changes the width cannot be hyper-connected.");
        return f;
    }

    /// <summary>The branch timed, with marker nodes on its input and output that time its backward.</summary>
    private static Tensor InvokeMarkedBranch(Func<Tensor, Tensor> branch, Tensor h)
    {
        var span = new BranchMarker.Span();
        Tensor marked, f;
        using (ConnectionTimings.Time(TimedPart.Markers))
            marked = BranchMarker.Mark(h, span, end: true);
        using (marked)
        using (ConnectionTimings.Time(TimedPart.Branch))
            f = branch(marked);
        if (f is null)
            return null!;
        using (ConnectionTimings.Time(TimedPart.Markers))
            return BranchMarker.Mark(f, span, end: false);
    }

    /// <summary>
    /// The fused CPU kernels for CPU tensors; for CUDA tensors the device kernels where they apply (float32
    /// mappings, n ≤ 8, MHC-SPEC's convention, when the fused path is chosen); the reference composition everywhere else.
    /// </summary>
    private OpsImplementation ImplementationFor(Tensor streams, ScalarType computeType)
    {
        if (streams.device_type == DeviceType.CPU || Options.Implementation == OpsImplementation.Reference)
            return Options.Implementation;
        bool deviceKernels = streams.device_type == DeviceType.CUDA && computeType == ScalarType.Float32
            && Streams <= Gpu.Kernels.KernelSizes.MaxStreams && Options.Convention == ConnectionConvention.MhcSpec;
        return deviceKernels ? OpsImplementation.Device : OpsImplementation.Reference;
    }

    private static Tensor As(Tensor parameter, ScalarType type) => parameter.dtype == type ? parameter : parameter.to_type(type);

    /// <summary>
    /// Renumbers this site and re-applies the layer-dependent part of the init (which stream H_pre
    /// favours). Meant for model construction, before training.
    /// </summary>
    public void ResetLayerIndex(int layerIndex)
    {
        LayerIndex = layerIndex;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var pre = ConnectionInit.PreWeights(Streams, layerIndex);
        switch (Kind)
        {
            case ConnectionKind.Mhc:
                bias![TensorIndex.Slice(0, Streams)].copy_(tensor(pre.Select(p => (float)ConnectionInit.Logit(p)).ToArray()));
                break;
            case ConnectionKind.Hc:
                b_pre!.copy_(tensor(pre.Select(p => (float)p).ToArray()));
                break;
        }
    }

    public override string ToString() =>
        $"HyperConnection({GetName()}: {Kind}, n={Streams}, C={Channels}, layer {LayerIndex}" +
        (Kind == ConnectionKind.Mhc ? $", t={Options.SinkhornIterations}" : "") +
        (Options.Convention != ConnectionConvention.MhcSpec ? $", {Options.Convention} convention" : "") + ")";
}

using System.Diagnostics;
using Mhc.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Mhc.Benchmarks.Calls;

/// <summary>
/// A stack shaped like a GPT's decoding step at one token: per layer an attention-like branch (norm, the qkv and output
/// projections) and an MLP-like one (norm, C → 4C → C), 12·C² weights a layer as in the sample GPT, around plain
/// residual adds or mHC connections. Between two calls the branches' weights pass through the caches, as in the model,
/// which a tight loop of calls does not show. Times what the calls themselves cost: the adds, or each connection's work
/// before its branch runs (the mix: coefficients, Sinkhorn, pre-mix) and after it returns (the merge).
/// </summary>
internal sealed class DecodeStack : IDisposable
{
    private readonly Layer[] _layers;
    private readonly Tensor _token, _streams;
    private long _before, _after, _calls;

    public DecodeStack(long channels, int layers)
    {
        _layers = Enumerable.Range(0, layers).Select(_ => new Layer(channels)).ToArray();
        _token = randn(1, 1, channels);
        _streams = HyperStreams.Expand(_token, _layers[0].AttentionConnection.Streams);
    }

    /// <summary>Mean µs a call before the branch (the add: all of it) and after it, since the last <see cref="Reset"/>.</summary>
    public (double Before, double After) PerCall =>
        (_before * 1e6 / Stopwatch.Frequency / Math.Max(1, _calls), _after * 1e6 / Stopwatch.Frequency / Math.Max(1, _calls));

    public void Reset() => _before = _after = _calls = 0;

    /// <summary><paramref name="tokens"/> steps through the residual stack.</summary>
    public void Residual(int tokens) => Steps(tokens, _token, (layer, x) =>
    {
        x = Add(x, layer.Attention(x));
        return Add(x, layer.Mlp(x));
    });

    /// <summary><paramref name="tokens"/> steps through the mHC stack.</summary>
    public void Mhc(int tokens) => Steps(tokens, _streams, (layer, x) =>
    {
        x = Connect(layer.AttentionConnection, x, layer.Attention);
        return Connect(layer.MlpConnection, x, layer.Mlp);
    });

    private void Steps(int tokens, Tensor input, Func<Layer, Tensor, Tensor> layerStep)
    {
        using var noGrad = no_grad();
        for (int t = 0; t < tokens; t++)
        {
            using var scope = NewDisposeScope();
            var x = input;
            foreach (var layer in _layers)
                x = layerStep(layer, x);
        }
    }

    private Tensor Add(Tensor x, Tensor f)
    {
        long start = Stopwatch.GetTimestamp();
        var sum = x + f;
        _before += Stopwatch.GetTimestamp() - start;
        _calls++;
        return sum;
    }

    private Tensor Connect(HyperConnection connection, Tensor x, Func<Tensor, Tensor> branch)
    {
        long start = Stopwatch.GetTimestamp(), returned = 0;
        var result = connection.forward(x, h =>
        {
            long entered = Stopwatch.GetTimestamp();
            _before += entered - start;
            var f = branch(h);
            returned = Stopwatch.GetTimestamp();
            return f;
        });
        _after += Stopwatch.GetTimestamp() - returned;
        _calls++;
        return result;
    }

    public void Dispose()
    {
        foreach (var layer in _layers) layer.Dispose();
        _token.Dispose();
        _streams.Dispose();
    }

    private sealed class Layer : IDisposable
    {
        private readonly LayerNorm _norm1, _norm2;
        private readonly Linear _qkv, _projection, _up, _down;
        private readonly long _channels;

        public Layer(long channels)
        {
            _channels = channels;
            (_norm1, _norm2) = (LayerNorm(channels), LayerNorm(channels));
            (_qkv, _projection) = (Linear(channels, 3 * channels), Linear(channels, channels));
            (_up, _down) = (Linear(channels, 4 * channels), Linear(4 * channels, channels));
            AttentionConnection = new HyperConnection("attn", channels, new HyperConnectionOptions());
            MlpConnection = new HyperConnection("mlp", channels, new HyperConnectionOptions());
        }

        public HyperConnection AttentionConnection { get; }
        public HyperConnection MlpConnection { get; }

        public Tensor Attention(Tensor h) => _projection.forward(_qkv.forward(_norm1.forward(h)).narrow(-1, 0, _channels));

        public Tensor Mlp(Tensor h) => _down.forward(functional.gelu(_up.forward(_norm2.forward(h))));

        public void Dispose()
        {
            foreach (var module in new Module[] { _norm1, _norm2, _qkv, _projection, _up, _down, AttentionConnection, MlpConnection })
                module.Dispose();
        }
    }
}

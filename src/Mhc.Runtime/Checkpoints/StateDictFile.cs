using System.Collections;
using System.Text;
using System.Text.Json;
using Mhc.Runtime.Retrofit;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints;

/// <summary>
/// Reads and writes state dicts (name → tensor) as files of any <see cref="StateDictFormat"/>. PyTorch and
/// safetensors go through TorchSharp.PyBridge; this class adds what a user needs around it: the format
/// told from the file, checks that name the tensor a damaged file breaks, and writes that never leave
/// half a file behind.
/// </summary>
public static class StateDictFile
{
    /// <summary>Reads every tensor of <paramref name="path"/> onto the CPU. The caller owns (disposes) them.</summary>
    /// <exception cref="CheckpointException">The file is damaged or not of the format; the message names the tensor where one is to blame.</exception>
    public static Dictionary<string, Tensor> Read(string path, StateDictFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        var actual = format ?? StateDictFormats.Detect(path);
        return actual switch
        {
            StateDictFormat.TorchSharp => TorchSharpCheckpoint.Read(path),
            StateDictFormat.PyTorch => ReadPyTorch(path),
            StateDictFormat.Safetensors => ReadSafetensors(path),
            _ => throw new ArgumentOutOfRangeException(nameof(format), actual, "Unknown state-dict format."),
        };
    }

    /// <summary>
    /// Writes <paramref name="state"/> to <paramref name="path"/> in <paramref name="format"/> (default: from
    /// the extension, else TorchSharp's). The file appears whole or not at all: it is written beside the
    /// target and moved into place only once complete.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> state, StateDictFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(state);
        var actual = format ?? StateDictFormats.FromExtension(path) ?? StateDictFormat.TorchSharp;
        foreach (var (name, tensor) in state)
            RequireWritable(path, name, tensor, actual);

        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var staging = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(path)}.{Guid.NewGuid():N}.partial");
        using var scope = NewDisposeScope();
        // Contiguous CPU copies: both writers take the bytes of a tensor's memory as they lie.
        var ordered = state.ToDictionary(e => e.Key, e => e.Value.detach().cpu().contiguous(), StringComparer.Ordinal);
        try
        {
            using (var stream = File.Create(staging))
            {
                switch (actual)
                {
                    case StateDictFormat.TorchSharp: WriteTorchSharp(stream, ordered); break;
                    case StateDictFormat.PyTorch: PyTorchPickler.PickleStateDict(stream, ordered, leaveOpen: true); break;
                    case StateDictFormat.Safetensors: Safetensors.SaveStateDict(stream, ordered, leaveOpen: true); break;
                }
            }
            File.Move(staging, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(staging)) File.Delete(staging);
        }
    }

    private static void RequireWritable(string path, string name, Tensor tensor, StateDictFormat format)
    {
        if (string.IsNullOrEmpty(name))
            throw new CheckpointException($"Cannot write '{path}': a tensor has an empty name.", path);
        ArgumentNullException.ThrowIfNull(tensor, $"state[\"{name}\"]");
        // PyBridge's safetensors header records the name's length in characters; non-ASCII names would corrupt it.
        if (format == StateDictFormat.Safetensors && !Ascii.IsValid(name))
            throw new CheckpointException($"Cannot write '{path}': tensor '{name}' has a non-ASCII name, which safetensors files written here do not support; rename it.", path, name);
        if (format != StateDictFormat.TorchSharp && !PortableTypes.Contains(tensor.dtype))
            throw new CheckpointException($"Cannot write '{path}': tensor '{name}' is {tensor.dtype}, which {format} files do not hold; convert it to a float or integer type first.", path, name);
    }

    private static readonly HashSet<ScalarType> PortableTypes =
    [
        ScalarType.Float64, ScalarType.Float32, ScalarType.Float16, ScalarType.BFloat16,
        ScalarType.Int64, ScalarType.Int32, ScalarType.Int16, ScalarType.Int8, ScalarType.Byte, ScalarType.Bool,
    ];

    private static void WriteTorchSharp(Stream stream, Dictionary<string, Tensor> state)
    {
        // Module.save's format: LEB128 count, then per entry a length-prefixed name and the tensor.
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write7BitEncodedInt64(state.Count);
        foreach (var (name, tensor) in state)
        {
            writer.Write(name);
            tensor.Save(writer);
        }
    }

    private static Dictionary<string, Tensor> ReadPyTorch(string path)
    {
        Hashtable table;
        try
        {
            using var stream = File.OpenRead(path);
            table = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CheckpointException(
                $"'{path}' is not a complete PyTorch state dict (torch.save(model.state_dict()) in the zip format of PyTorch ≥ 1.6): {e.Message}. " +
                "A truncated or partly copied file reads like this; copy it again, or re-save it from PyTorch.", path, inner: e);
        }
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string name && entry.Value is Tensor tensor)
            {
                state[name] = tensor;
                continue;
            }
            foreach (var value in state.Values) value.Dispose();
            throw new CheckpointException($"'{path}' holds an entry '{entry.Key}' that is not a tensor ({entry.Value?.GetType().Name ?? "null"}); save only model.state_dict().", path, entry.Key?.ToString());
        }
        return state;
    }

    private static Dictionary<string, Tensor> ReadSafetensors(string path)
    {
        RequireCompleteSafetensors(path);
        try
        {
            return Safetensors.LoadStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not CheckpointException)
        {
            throw new CheckpointException($"'{path}' is not a readable safetensors file: {e.Message}", path, inner: e);
        }
    }

    /// <summary>
    /// Checks the header against the file before any tensor is read: PyBridge reads whatever bytes are
    /// there, so a truncated file would otherwise load with garbage in its last tensors.
    /// </summary>
    private static void RequireCompleteSafetensors(string path)
    {
        long fileLength = new FileInfo(path).Length;
        using var stream = File.OpenRead(path);
        Span<byte> lengthBytes = stackalloc byte[8];
        if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) < 8)
            throw new CheckpointException($"'{path}' is too short to be a safetensors file ({fileLength} bytes).", path);
        ulong headerLength = BitConverter.ToUInt64(lengthBytes);
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException($"'{path}' is truncated: its safetensors header claims {headerLength} bytes but the file has {fileLength - 8} after the length.", path);
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataLength = fileLength - 8 - (long)headerLength;

        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"'{path}' has a malformed safetensors header: {e.Message}", path, inner: e);
        }
        using (json)
        {
            foreach (var entry in json.RootElement.EnumerateObject())
            {
                if (entry.Name == "__metadata__") continue;
                var (dtype, shape, begin, end) = ReadEntry(path, entry);
                long elements = shape.Aggregate(1L, (a, b) => a * b);
                long expected = elements * ElementSize(path, entry.Name, dtype);
                if (end - begin != expected)
                    throw new CheckpointException($"'{path}': tensor '{entry.Name}' ({dtype} {StreamShape.Format(shape)}) needs {expected} bytes but its offsets span {end - begin}.", path, entry.Name);
                if (end > dataLength)
                    throw new CheckpointException($"'{path}' is truncated: tensor '{entry.Name}' ends at byte {end} of the data, which has only {dataLength}. Copy the file again.", path, entry.Name);
            }
        }
    }

    private static (string DType, long[] Shape, long Begin, long End) ReadEntry(string path, JsonProperty entry)
    {
        try
        {
            var value = entry.Value;
            string dtype = value.GetProperty("dtype").GetString()!;
            long[] shape = value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            long[] offsets = value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || shape.Any(d => d < 0))
                throw new FormatException("its shape or data_offsets are invalid");
            return (dtype, shape, offsets[0], offsets[1]);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"'{path}': the header entry of tensor '{entry.Name}' is malformed ({e.Message}).", path, entry.Name, e);
        }
    }

    private static long ElementSize(string path, string name, string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "I8" or "U8" or "BOOL" => 1,
        _ => throw new CheckpointException($"'{path}': tensor '{name}' has dtype {dtype}, which TorchSharp cannot hold; convert it in PyTorch first.", path, name),
    };
}

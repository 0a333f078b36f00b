using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Retrofit;

/// <summary>
/// Reads TorchSharp's own state-dict format (what <c>Module.save</c> writes: a LEB128 entry count,
/// then per entry a length-prefixed name and a tensor) into a dictionary, so a checkpoint can be
/// inspected and matched by name without the module it came from.
/// </summary>
internal static class TorchSharpCheckpoint
{
    public static Dictionary<string, Tensor> Read(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            long count = DecodeLength(reader);
            for (long i = 0; i < count; i++)
            {
                string key = reader.ReadString();
                state[key] = TensorExtensionMethods.Load(reader, skip: false);
            }
            return state;
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or FormatException or ArgumentException)
        {
            foreach (var tensor in state.Values) tensor.Dispose();
            throw new InvalidDataException($"'{path}' is not a checkpoint written by TorchSharp's Module.save (nor a PyTorch state dict or safetensors file, which are told by their content): {e.Message}", e);
        }
    }

    private static long DecodeLength(BinaryReader reader)
    {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = reader.ReadByte();
            value |= (long)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new FormatException("The entry count is malformed.");
    }
}

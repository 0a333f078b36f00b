namespace Mhc.Runtime.Checkpoints;

/// <summary>The file formats a state dict is read from and written to.</summary>
public enum StateDictFormat
{
    /// <summary>TorchSharp's own <c>Module.save</c> format.</summary>
    TorchSharp,
    /// <summary>What PyTorch's <c>torch.save(model.state_dict())</c> writes (<c>.bin</c>, <c>.pt</c>, <c>.pth</c>): a zip archive of a pickle and tensor storages.</summary>
    PyTorch,
    /// <summary>Hugging Face safetensors: a JSON header of names, dtypes, shapes and offsets, then raw little-endian data.</summary>
    Safetensors,
}

/// <summary>Tells the format of a state-dict file.</summary>
public static class StateDictFormats
{
    /// <summary>
    /// The format by content, never by name (TorchSharp checkpoints are often called <c>.bin</c> too): a zip
    /// archive or a bare pickle (PyTorch's legacy format) is PyTorch's, an 8-byte header length followed by
    /// '{' is safetensors, anything else is taken as TorchSharp's.
    /// </summary>
    public static StateDictFormat Detect(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Span<byte> head = stackalloc byte[9];
        int read;
        using (var stream = File.OpenRead(path))
            read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (read >= 4 && head[0] == 0x50 && head[1] == 0x4B && head[2] == 0x03 && head[3] == 0x04)
            return StateDictFormat.PyTorch;
        if (read == 9 && head[8] == (byte)'{')
            return StateDictFormat.Safetensors;
        if (read >= 2 && head[0] == 0x80 && head[1] <= 5)
            return StateDictFormat.PyTorch; // pickle protocol 2-5 opcode: PyBridge refuses it with its own explanation
        return StateDictFormat.TorchSharp;
    }

    /// <summary>The format a file name's extension names, or null when it names none.</summary>
    public static StateDictFormat? FromExtension(string path) =>
        Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".safetensors" => StateDictFormat.Safetensors,
            ".bin" or ".pt" or ".pth" => StateDictFormat.PyTorch,
            _ => null,
        };
}

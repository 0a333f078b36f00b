using Mhc.Runtime.Checkpoints;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Checkpoints;

public sealed class StateDictFileTests : CheckpointFileTest
{
    private static Dictionary<string, Tensor> SampleState()
    {
        manual_seed(11);
        return new Dictionary<string, Tensor>
        {
            ["a.weight"] = randn(5, 3),
            ["a.bias"] = randn(5, dtype: ScalarType.Float64),
            ["b.steps"] = tensor(new long[] { 3, -7, 1L << 40 }),
            ["c.half"] = randn(2, 2).to_type(ScalarType.BFloat16),
            ["d.transposed"] = randn(4, 6).t(), // not contiguous: written as its values
        };
    }

    [Theory]
    [InlineData("state.bin", StateDictFormat.PyTorch)]
    [InlineData("state.pt", StateDictFormat.PyTorch)]
    [InlineData("state.safetensors", StateDictFormat.Safetensors)]
    [InlineData("state.dat", StateDictFormat.TorchSharp)]
    public void EveryFormatRoundTripsBitExactAndIsRecognisedByContent(string name, StateDictFormat format)
    {
        var state = SampleState();
        var path = Files[name];
        StateDictFile.Write(path, state);

        Assert.Equal(format, StateDictFormats.Detect(path));
        var renamed = Files["no-extension"];
        File.Copy(path, renamed);
        var read = StateDictFile.Read(renamed);
        Assert.Equal(state.Keys.Order(), read.Keys.Order());
        foreach (var (key, expected) in state)
        {
            Assert.Equal(expected.dtype, read[key].dtype);
            Assert.Equal(expected.shape, read[key].shape);
            Assert.True(TensorAssert.BitEqual(expected, read[key]), key);
        }
    }

    [Fact]
    public void TruncatedSafetensorsNameTheFirstTensorPastTheEnd()
    {
        var path = Files["full.safetensors"];
        StateDictFile.Write(path, new Dictionary<string, Tensor> { ["first"] = zeros(4), ["second"] = ones(100) });

        var cut = Files.Truncated(path, new FileInfo(path).Length - 10);
        var error = Assert.Throws<CheckpointException>(() => StateDictFile.Read(cut));
        Assert.Equal("second", error.TensorName);
        Assert.Contains("truncated", error.Message);
        Assert.Contains("'second'", error.Message);
    }

    [Fact]
    public void TruncatedPyTorchArchiveSaysSoAndWhatToDo()
    {
        var path = Files["full.bin"];
        StateDictFile.Write(path, new Dictionary<string, Tensor> { ["w"] = ones(64) });

        var cut = Files.Truncated(path, new FileInfo(path).Length / 2);
        var error = Assert.Throws<CheckpointException>(() => StateDictFile.Read(cut));
        Assert.Contains("not a complete PyTorch state dict", error.Message);
        Assert.Contains("truncated", error.Message);
        Assert.Equal(cut, error.Path);
    }

    [Fact]
    public void AFailedWriteLeavesNoFileAndKeepsAnOldOne()
    {
        var path = Files["model.safetensors"];
        StateDictFile.Write(path, new Dictionary<string, Tensor> { ["kept"] = ones(2) });
        var before = File.ReadAllBytes(path);

        var error = Assert.Throws<CheckpointException>(() =>
            StateDictFile.Write(path, new Dictionary<string, Tensor> { ["ok"] = ones(2), ["größe"] = ones(2) }));
        Assert.Equal("größe", error.TensorName);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["model.safetensors"], Files.Listing);

        Assert.Throws<CheckpointException>(() =>
            StateDictFile.Write(Files["new.bin"], new Dictionary<string, Tensor> { ["c"] = ones(2, dtype: ScalarType.ComplexFloat32) }));
        Assert.Equal(["model.safetensors"], Files.Listing);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var error = Assert.Throws<FileNotFoundException>(() => StateDictFile.Read(Files["absent.bin"]));
        Assert.Contains("absent.bin", error.Message);
    }
}

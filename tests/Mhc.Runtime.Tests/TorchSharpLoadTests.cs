namespace Mhc.Runtime.Tests;

public class TorchSharpLoadTests
{
    [Fact]
    public void NativeLibraryLoadsAndComputes()
    {
        using var a = tensor(new float[] { 1, 2, 3 });
        using var s = a.sum();
        Assert.Equal(6f, s.item<float>());
    }
}

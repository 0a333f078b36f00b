using System.Buffers;
using System.Runtime.InteropServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Per-call scratch rented from the shared array pool and pinned while in use, so that kernels running
/// every step allocate nothing the GC has to collect. Contents start undefined.
/// </summary>
internal sealed unsafe class ScratchArray<T> : IDisposable where T : unmanaged
{
    private readonly T[] _array;
    private GCHandle _pin;

    public ScratchArray(long length)
    {
        Length = length;
        _array = ArrayPool<T>.Shared.Rent(checked((int)Math.Max(1, length)));
        _pin = GCHandle.Alloc(_array, GCHandleType.Pinned);
        Pointer = (T*)_pin.AddrOfPinnedObject();
    }

    public long Length { get; }

    public T* Pointer { get; }

    /// <summary>Zeroes elements [from, to).</summary>
    public void Clear(long from, long to) => new Span<T>(Pointer + from, checked((int)(to - from))).Clear();

    public void Dispose()
    {
        if (!_pin.IsAllocated)
            return;
        _pin.Free();
        ArrayPool<T>.Shared.Return(_array);
    }
}

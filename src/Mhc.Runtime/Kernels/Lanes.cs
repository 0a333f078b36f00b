using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// One SIMD register's worth of T, for kernels written once and specialised by the JIT at the width a machine runs
/// fastest: <see cref="Vector{T}"/> stays at 256 bits on AVX-512 hardware, where the register-blocked products of
/// <see cref="ProjectionTile{T, TLanes}"/> run about 1.6× faster on 512-bit registers. Struct type arguments make
/// every call below a direct, inlined instruction.
/// </summary>
internal unsafe interface ILanes<TSelf, T> where TSelf : struct, ILanes<TSelf, T> where T : unmanaged
{
    static abstract int Count { get; }
    static abstract TSelf Zero { get; }
    static abstract TSelf Load(T* source);
    static abstract void Store(T* destination, TSelf value);
    static abstract TSelf Broadcast(T value);
    /// <summary>a·b + c, fused where the hardware has the instruction.</summary>
    static abstract TSelf MultiplyAdd(TSelf a, TSelf b, TSelf c);
    static abstract TSelf Multiply(TSelf a, TSelf b);
    static abstract TSelf Add(TSelf a, TSelf b);
}

/// <summary>512-bit lanes (AVX-512).</summary>
internal readonly unsafe struct Lanes512<T>(Vector512<T> value) : ILanes<Lanes512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector512<T> _value = value;

    public static int Count => Vector512<T>.Count;
    public static Lanes512<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Load(T* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, Lanes512<T> value) => value._value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Broadcast(T value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> MultiplyAdd(Lanes512<T> a, Lanes512<T> b, Lanes512<T> c)
    {
        if (typeof(T) == typeof(float))
            return new(Vector512.FusedMultiplyAdd(a._value.AsSingle(), b._value.AsSingle(), c._value.AsSingle()).As<float, T>());
        if (typeof(T) == typeof(double))
            return new(Vector512.FusedMultiplyAdd(a._value.AsDouble(), b._value.AsDouble(), c._value.AsDouble()).As<double, T>());
        return new(a._value * b._value + c._value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Multiply(Lanes512<T> a, Lanes512<T> b) => new(a._value * b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Lanes512<T> Add(Lanes512<T> a, Lanes512<T> b) => new(a._value + b._value);

}

/// <summary>The lanes of <see cref="Vector{T}"/>: the width every other kernel here uses.</summary>
internal readonly unsafe struct VectorLanes<T>(Vector<T> value) : ILanes<VectorLanes<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Vector<T> _value = value;

    public static int Count => Vector<T>.Count;
    public static VectorLanes<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Load(T* source) => new(VectorMath<T>.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, VectorLanes<T> value) => VectorMath<T>.Store(destination, value._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Broadcast(T value) => new(new Vector<T>(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> MultiplyAdd(VectorLanes<T> a, VectorLanes<T> b, VectorLanes<T> c) => new(VectorMath<T>.MultiplyAdd(a._value, b._value, c._value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Multiply(VectorLanes<T> a, VectorLanes<T> b) => new(a._value * b._value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static VectorLanes<T> Add(VectorLanes<T> a, VectorLanes<T> b) => new(a._value + b._value);

}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// One SIMD register's worth of T, for kernels written once and specialised by the JIT at the width a machine runs
/// fastest: <see cref="Vector{T}"/> stays at 256 bits on AVX-512 hardware, where the register-blocked products of
/// <see cref="ProjectionTile{T, TLanes, TVector}"/> run about 1.6× faster on 512-bit registers. Struct type arguments make
/// every call below a direct, inlined instruction. The kernels hold the vector type itself (<typeparamref name="TVector"/>)
/// in their locals, not a struct around it: around a wrapper the JIT gave each multiply-add a register copy and left
/// broadcasts out of the instruction (three instructions where one does), which cost the products a third of their speed.
/// </summary>
internal unsafe interface ILanes<TVector, T> where TVector : struct where T : unmanaged
{
    static abstract int Count { get; }
    static abstract TVector Zero { get; }
    static abstract TVector Load(T* source);
    static abstract void Store(T* destination, TVector value);
    static abstract TVector Broadcast(T value);
    /// <summary>a·b + c, fused where the hardware has the instruction.</summary>
    static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);
    static abstract TVector Multiply(TVector a, TVector b);
    static abstract TVector Add(TVector a, TVector b);
    /// <summary>The sum of the lanes.</summary>
    static abstract T Sum(TVector value);
}

/// <summary>512-bit lanes (AVX-512).</summary>
internal readonly unsafe struct Lanes512<T> : ILanes<Vector512<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector512<T>.Count;
    public static Vector512<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T* source) => Vector512.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, Vector512<T> value) => value.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Broadcast(T value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float))
            return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector512<T> value) => Vector512.Sum(value);
}

/// <summary>The lanes of <see cref="Vector{T}"/>: the width every other kernel here uses.</summary>
internal readonly unsafe struct VectorLanes<T> : ILanes<Vector<T>, T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Count => Vector<T>.Count;
    public static Vector<T> Zero => default;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Load(T* source) => VectorMath<T>.Load(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* destination, Vector<T> value) => VectorMath<T>.Store(destination, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Broadcast(T value) => new(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MultiplyAdd(Vector<T> a, Vector<T> b, Vector<T> c) => VectorMath<T>.MultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Multiply(Vector<T> a, Vector<T> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Add(Vector<T> a, Vector<T> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Sum(Vector<T> value) => Vector.Sum(value);
}

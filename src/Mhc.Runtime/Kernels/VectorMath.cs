using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>Small SIMD helpers shared by the kernels, generic over float and double.</summary>
internal static unsafe class VectorMath<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static int Width => Vector<T>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Load(T* p) => Unsafe.ReadUnaligned<Vector<T>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(T* p, Vector<T> v) => Unsafe.WriteUnaligned(p, v);

    /// <summary>Element-wise e^v; the typeof checks fold away when the JIT specialises T.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp(Vector<T> v)
    {
        if (typeof(T) == typeof(float))
            return Vector.Exp(v.As<T, float>()).As<float, T>();
        if (typeof(T) == typeof(double))
            return Vector.Exp(v.As<T, double>()).As<double, T>();
        Span<T> lanes = stackalloc T[Vector<T>.Count];
        v.CopyTo(lanes);
        for (int i = 0; i < lanes.Length; i++)
            lanes[i] = T.Exp(lanes[i]);
        return new Vector<T>(lanes);
    }

    /// <summary>
    /// a·b + c, as one fused instruction where the hardware has one (one rounding instead of two, and
    /// half the instructions in the multiply-accumulate loops); plain arithmetic elsewhere, since the
    /// library's software fallback for fused multiply-add is slow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MultiplyAdd(Vector<T> a, Vector<T> b, Vector<T> c)
    {
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        }
        return a * b + c;
    }

    /// <summary>
    /// Σ a[i]·b[i] over <paramref name="length"/> elements, in four chains of multiply-adds: one chain waits out each
    /// multiply-add's latency, which made a token's ‖v‖² in the coefficients' pass cost more than its products.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T Dot(T* a, T* b, int length)
    {
        Vector<T> acc = Vector<T>.Zero, acc1 = Vector<T>.Zero, acc2 = Vector<T>.Zero, acc3 = Vector<T>.Zero;
        int i = 0, width = Width;
        for (; i <= length - 4 * width; i += 4 * width)
        {
            acc = MultiplyAdd(Load(a + i), Load(b + i), acc);
            acc1 = MultiplyAdd(Load(a + i + width), Load(b + i + width), acc1);
            acc2 = MultiplyAdd(Load(a + i + 2 * width), Load(b + i + 2 * width), acc2);
            acc3 = MultiplyAdd(Load(a + i + 3 * width), Load(b + i + 3 * width), acc3);
        }
        for (; i <= length - width; i += width)
            acc = MultiplyAdd(Load(a + i), Load(b + i), acc);
        T sum = Vector.Sum((acc + acc1) + (acc2 + acc3));
        for (; i < length; i++)
            sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y[i] = s·x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(T* y, T s, T* x, int length)
    {
        var sv = new Vector<T>(s);
        int i = 0;
        for (; i <= length - Width; i += Width)
            Store(y + i, sv * Load(x + i));
        for (; i < length; i++)
            y[i] = s * x[i];
    }

    /// <summary>y[i] += x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(T* y, T* x, int length)
    {
        int i = 0;
        for (; i <= length - Width; i += Width)
            Store(y + i, Load(y + i) + Load(x + i));
        for (; i < length; i++)
            y[i] += x[i];
    }

    public static T Sigmoid(T z) => T.One / (T.One + T.Exp(-z));

    /// <summary>z[i] = σ(z[i]) over <paramref name="length"/> elements, a vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Sigmoids(T* z, int length)
    {
        int i = 0;
        for (; i <= length - Width; i += Width)
            Store(z + i, Vector<T>.One / (Vector<T>.One + Exp(-Load(z + i))));
        for (; i < length; i++)
            z[i] = Sigmoid(z[i]);
    }
}

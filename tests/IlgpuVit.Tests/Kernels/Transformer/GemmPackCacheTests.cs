using FluentAssertions;
using ILGPU.Runtime;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

// The CPU GEMM keeps a weight's packed panels while the weight is unchanged: every way of changing it
// must be seen, or a product would silently use old weights.
public class GemmPackCacheTests
{
    private const int M = 19, N = 45, K = 37;

    private static double[] Linear(float[] x, float[] w)
    {
        var y = new double[M * N];
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double acc = 0;
                for (int k = 0; k < K; k++) acc += (double)x[i * K + k] * w[j * K + k];
                y[i * N + j] = acc;
            }
        return y;
    }

    private static float[] Product(Tensor<float> x, Tensor<float> w)
    {
        using var y = Tensor<float>.Zeros(x.Device, M, N);
        Ops.MatMul(x, w, y, new GemmOptions { TransposeB = true });
        return y.ToArray();
    }

    [Fact]
    public void A_weight_used_unchanged_is_kept_packed_and_every_kind_of_write_is_seen()
    {
        var device = Backends.Cpu;
        var x = TestData.Uniform(1, M * K);
        var w = TestData.Uniform(2, N * K);
        using var tx = device.FromArray(x, M, K);
        using var tw = device.FromArray(w, N, K);
        for (int call = 0; call < 3; call++) Check.Close(Product(tx, tw), Linear(x, w), 1e-4, 1e-4, $"call {call}");
        tw.Derived.Should().NotBeNull("the third use of an unchanged weight finds its panels kept");

        // A host copy.
        var w2 = TestData.Uniform(3, N * K);
        tw.CopyFrom(w2);
        Check.Close(Product(tx, tw), Linear(x, w2), 1e-4, 1e-4, "after CopyFrom");
        Check.Close(Product(tx, tw), Linear(x, w2), 1e-4, 1e-4, "after CopyFrom, kept again");
        Check.Close(Product(tx, tw), Linear(x, w2), 1e-4, 1e-4, "after CopyFrom, from the kept panels");

        // A launcher writing the weight in place (as an optimizer step does).
        Ops.Scale(tw, tw, 2f);
        Check.Close(Product(tx, tw), Linear(x, w2.Select(v => 2 * v).ToArray()), 1e-4, 1e-4, "after an in-place launcher");

        // A launcher writing through a reshaped view of the same memory.
        Product(tx, tw);
        Product(tx, tw);
        using (var flat = tw.Reshape(N * K))
        using (var source = device.FromArray(w, N * K))
            Ops.Copy(source, flat);
        Check.Close(Product(tx, tw), Linear(x, w), 1e-4, 1e-4, "after a write through a view");

        // A kernel of one's own through View, announced with MarkWritten.
        Product(tx, tw);
        Product(tx, tw);
        tw.View.CopyFromCPU(device.Accelerator.DefaultStream, w2);
        tw.MarkWritten();
        Check.Close(Product(tx, tw), Linear(x, w2), 1e-4, 1e-4, "after MarkWritten");
    }

    [Fact]
    public void Launchers_move_the_version_of_their_tensors_and_gemm_leaves_its_b_alone()
    {
        var device = Backends.Cpu;
        using var x = Tensor<float>.Zeros(device, M, K);
        using var w = Tensor<float>.Zeros(device, N, K);
        using var y = Tensor<float>.Zeros(device, M, N);
        long xv = x.Version, wv = w.Version, yv = y.Version;
        Ops.MatMul(x, w, y, new GemmOptions { TransposeB = true });
        w.Version.Should().Be(wv, "GEMM only reads B");
        y.Version.Should().BeGreaterThan(yv);
        x.Version.Should().BeGreaterThan(xv, "a launcher does not say which tensors it writes, so all but GEMM's B count");
        using var view = w.Reshape(N * K);
        Ops.Scale(view, view, 3f);
        w.Version.Should().BeGreaterThan(wv, "a view shares its tensor's count");
    }

    [Fact]
    public void Training_weights_are_never_kept_and_the_panels_go_with_the_tensor()
    {
        using var device = IlgpuVit.Runtime.Device.Open(Backend.Cpu);   // own device: other tests' tensors on the shared one move the pool's counters
        using var tx = device.FromArray(TestData.Uniform(1, M * K), M, K);
        var tw = device.FromArray(TestData.Uniform(2, N * K), N, K);
        long live = device.Pool.LiveBytes;
        for (int step = 0; step < 3; step++)
        {
            Product(tx, tw);
            Ops.Scale(tw, tw, 0.5f);    // the weight changes between uses, as in training
        }
        device.Pool.LiveBytes.Should().Be(live, "a weight that changes between uses keeps no panels");
        Product(tx, tw);
        Product(tx, tw);
        device.Pool.LiveBytes.Should().BeGreaterThan(live, "an unchanged weight keeps its panels");
        tw.Dispose();
        device.Pool.LiveBytes.Should().Be(live - 4L * TensorPool.SizeClass(N * K), "the panels are freed with the weight (and the weight's buffer, of its size class)");
    }
}

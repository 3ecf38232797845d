// The libtorch peer (TorchSharp-cpu, 2 threads): times one piece of work given on the command line
// and prints one JSON line, so IlgpuVit.Benchmarks `ratios` can run it alternately with the project
// in one script (docs/benchmarks.md). The models are built from torch modules with the maths of the
// project's ViT: pre-norm blocks, LayerNorm eps 1e-6, exact GELU, class token, learned positions.
//
//   vit   --image 224 --patch 16 --channels 3 --dim 384 --depth 12 --heads 6 --mlp 1536 --classes 1000 --batch 8 --runs 10 --warmup 3
//   train --image 28 --patch 4 --channels 1 --dim 64 --depth 6 --heads 4 --mlp 256 --classes 10 --batch 128 --runs 10 --warmup 5
//   gemm  --n 1024 --runs 10 --warmup 3
// With --backbone 2,2,2,2 (vit only) the patch projection becomes the hybrid's ResNetV2 backbone, as the
// project's vit_small_r26_s32_224 builds it (docs/models.md, "Hybrid ViT-S"): a weight-standardised
// 7x7 stem with TF SAME padding, GroupNorm(32) + ReLU, a SAME max pool, non-pre-activation
// bottlenecks (widths 256..2048, stride 2 from the second stage) and a 1x1 projection to the width.
using System.Diagnostics;
using System.Text.Json;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

class Attention : Module<Tensor, Tensor>
{
    readonly Linear qkv, proj; readonly int heads;
    public Attention(int dim, int heads) : base("attn")
    {
        this.heads = heads; qkv = Linear(dim, dim * 3); proj = Linear(dim, dim); RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        var t = qkv.forward(x).reshape(b, n, 3, heads, c / heads).permute(2, 0, 3, 1, 4);
        var o = F.scaled_dot_product_attention(t[0], t[1], t[2]).transpose(1, 2).reshape(b, n, c);
        return proj.forward(o).MoveToOuterDisposeScope();
    }
}

class Block : Module<Tensor, Tensor>
{
    readonly LayerNorm norm1, norm2; readonly Attention attn; readonly Linear fc1, fc2;
    public Block(int dim, int heads, int mlp) : base("block")
    {
        norm1 = LayerNorm(dim, 1e-6); norm2 = LayerNorm(dim, 1e-6); attn = new Attention(dim, heads);
        fc1 = Linear(dim, mlp); fc2 = Linear(mlp, dim); RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        x = x + attn.forward(norm1.forward(x));
        x = x + fc2.forward(F.gelu(fc1.forward(norm2.forward(x))));
        return x.MoveToOuterDisposeScope();
    }
}

// TF "SAME" padding for a k x k window with this stride: the output has ceil(H / s) rows; an odd total
// goes to the bottom / right.
static class Same
{
    public static long[] Pad(long h, long w, int k, int stride)
    {
        long Total(long size) => Math.Max(((size + stride - 1) / stride - 1) * stride + k - size, 0);
        long th = Total(h), tw = Total(w);
        return new[] { tw / 2, tw - tw / 2, th / 2, th - th / 2 };   // left, right, top, bottom
    }
}

class StdConvSame : Module<Tensor, Tensor>
{
    readonly Parameter weight; readonly int k, stride;
    public StdConvSame(int inputs, int outputs, int k, int stride) : base("stdconv")
    {
        this.k = k; this.stride = stride;
        weight = Parameter(randn(outputs, inputs, k, k) * (float)Math.Sqrt(2.0 / (outputs * k * k))); RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var mean = weight.mean(new long[] { 1, 2, 3 }, keepdim: true);
        var variance = weight.var(new long[] { 1, 2, 3 }, unbiased: false, keepdim: true);
        var w = (weight - mean) / (variance + 1e-8).sqrt();
        var padded = F.pad(x, Same.Pad(x.shape[2], x.shape[3], k, stride));
        return F.conv2d(padded, w, strides: new long[] { stride, stride }).MoveToOuterDisposeScope();
    }
}

class GroupNormAct : Module<Tensor, Tensor>
{
    readonly GroupNorm norm; readonly bool relu;
    public GroupNormAct(int channels, bool relu = true) : base("gn") { norm = GroupNorm(32, channels, 1e-5); this.relu = relu; RegisterComponents(); }
    public override Tensor forward(Tensor x) => relu ? F.relu(norm.forward(x)) : norm.forward(x);
}

class Bottleneck : Module<Tensor, Tensor>
{
    readonly StdConvSame conv1, conv2, conv3; readonly GroupNormAct norm1, norm2, norm3; readonly StdConvSame? down; readonly GroupNormAct? downNorm;
    public Bottleneck(int inputs, int outputs, int stride, bool downsample) : base("bottleneck")
    {
        int mid = outputs / 4;
        conv1 = new StdConvSame(inputs, mid, 1, 1); norm1 = new GroupNormAct(mid);
        conv2 = new StdConvSame(mid, mid, 3, stride); norm2 = new GroupNormAct(mid);
        conv3 = new StdConvSame(mid, outputs, 1, 1); norm3 = new GroupNormAct(outputs, relu: false);
        if (downsample) { down = new StdConvSame(inputs, outputs, 1, stride); downNorm = new GroupNormAct(outputs, relu: false); }
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shortcut = down is null ? x : downNorm!.forward(down.forward(x));
        var y = norm3.forward(conv3.forward(norm2.forward(conv2.forward(norm1.forward(conv1.forward(x))))));
        return F.relu(y + shortcut).MoveToOuterDisposeScope();
    }
}

class HybridBackbone : Module<Tensor, Tensor>
{
    static readonly int[] Widths = { 256, 512, 1024, 2048 };
    readonly StdConvSame stem; readonly GroupNormAct stemNorm; readonly ModuleList<Bottleneck> blocks; readonly Conv2d proj;
    public HybridBackbone(int channels, int[] layers, int dim) : base("backbone")
    {
        stem = new StdConvSame(channels, 64, 7, 2); stemNorm = new GroupNormAct(64);
        blocks = new ModuleList<Bottleneck>();
        int inputs = 64;
        for (int s = 0; s < layers.Length; s++)
            for (int b = 0; b < layers[s]; b++)
            {
                blocks.Add(new Bottleneck(inputs, Widths[s], b == 0 && s > 0 ? 2 : 1, b == 0));
                inputs = Widths[s];
            }
        proj = Conv2d(inputs, dim, 1);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = stemNorm.forward(stem.forward(x));
        y = F.max_pool2d(F.pad(y, Same.Pad(y.shape[2], y.shape[3], 3, 2), value: double.NegativeInfinity), 3, 2);
        foreach (var b in blocks) y = b.forward(y);
        return proj.forward(y).MoveToOuterDisposeScope();
    }
}

class VisionTransformer : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> patch; readonly Parameter cls, pos; readonly ModuleList<Block> blocks; readonly LayerNorm norm; readonly Linear head;
    public VisionTransformer(Shape s) : base("vit")
    {
        patch = s.Backbone.Length > 0 ? new HybridBackbone(s.Channels, s.Backbone, s.Dim) : Conv2d(s.Channels, s.Dim, s.Patch, stride: s.Patch);
        int tokens = (s.Image / s.Patch) * (s.Image / s.Patch) + 1;
        cls = Parameter(randn(1, 1, s.Dim) * 0.02f);
        pos = Parameter(randn(1, tokens, s.Dim) * 0.02f);
        blocks = new ModuleList<Block>();
        for (int i = 0; i < s.Depth; i++) blocks.Add(new Block(s.Dim, s.Heads, s.Mlp));
        norm = LayerNorm(s.Dim, 1e-6); head = Linear(s.Dim, s.Classes);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var t = patch.forward(x).flatten(2).transpose(1, 2);
        t = cat(new[] { cls.expand(t.shape[0], -1, -1), t }, 1) + pos;
        foreach (var b in blocks) t = b.forward(t);
        return head.forward(norm.forward(t).select(1, 0)).MoveToOuterDisposeScope();
    }
}

record Shape(int Image, int Patch, int Channels, int Dim, int Depth, int Heads, int Mlp, int Classes, int[] Backbone);

static class Peer
{
    static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: ts vit|train|gemm --option value ..."); return 2; }
        var options = new Dictionary<string, string>();
        for (int i = 1; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
        int Get(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v) : fallback;
        int[] backbone = options.TryGetValue("backbone", out var stages) ? stages.Split(',').Select(int.Parse).ToArray() : Array.Empty<int>();
        torch.set_num_threads(Get("threads", 2));
        torch.manual_seed(0);
        var shape = new Shape(Get("image", 224), Get("patch", 16), Get("channels", 3), Get("dim", 384), Get("depth", 12), Get("heads", 6),
            Get("mlp", 4 * Get("dim", 384)), Get("classes", 1000), backbone);
        int batch = Get("batch", 8), runs = Get("runs", 10), warmup = Get("warmup", 3);
        (List<double> times, long parameters) = args[0] switch
        {
            "vit" => Inference(shape, batch, runs, warmup),
            "train" => TrainStep(shape, batch, runs, warmup),
            "gemm" => (Gemm(Get("n", 1024), runs, warmup), 0L),
            _ => throw new ArgumentException($"unknown work '{args[0]}' (vit, train, gemm)"),
        };
        times.Sort();
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            peer = $"libtorch (TorchSharp {typeof(torch).Assembly.GetName().Version})", threads = torch.get_num_threads(),
            work = args[0], parameters, runs, medianMs = times[times.Count / 2], minMs = times[0], maxMs = times[^1], runsMs = times,
        }));
        return 0;
    }

    static List<double> Time(Action run, int runs, int warmup)
    {
        for (int i = 0; i < warmup; i++) run();
        var times = new List<double>();
        for (int i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return times;
    }

    static (List<double>, long) Inference(Shape s, int batch, int runs, int warmup)
    {
        var model = new VisionTransformer(s); model.eval();
        var x = randn(batch, s.Channels, s.Image, s.Image);
        using var mode = inference_mode();
        return (Time(() => { using var y = model.forward(x); }, runs, warmup), model.parameters().Sum(p => p.numel()));
    }

    static (List<double>, long) TrainStep(Shape s, int batch, int runs, int warmup)
    {
        var model = new VisionTransformer(s); model.train();
        var optimizer = optim.AdamW(model.parameters(), 1e-3);
        var x = randn(batch, s.Channels, s.Image, s.Image);
        var y = randint(0, s.Classes, new long[] { batch }, dtype: ScalarType.Int64);
        return (Time(() =>
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            F.cross_entropy(model.forward(x), y).backward();
            optimizer.step();
        }, runs, warmup), model.parameters().Sum(p => p.numel()));
    }

    static List<double> Gemm(int n, int runs, int warmup)
    {
        var a = randn(n, n); var b = randn(n, n);
        using var mode = no_grad();
        return Time(() => { using var c = a.matmul(b); }, runs, warmup);
    }
}

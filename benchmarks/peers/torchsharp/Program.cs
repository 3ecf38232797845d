// The libtorch peer (TorchSharp-cpu, 2 threads): times one piece of work given on the command line
// and prints one JSON line, so IlgpuVit.Benchmarks `ratios` can run it alternately with the project
// in one script (docs/benchmarks.md). The models are built from torch modules with the maths of the
// project's ViT: pre-norm blocks, LayerNorm eps 1e-6, exact GELU, class token, learned positions.
//
//   vit   --image 224 --patch 16 --channels 3 --dim 384 --depth 12 --heads 6 --mlp 1536 --classes 1000 --batch 8 --runs 10 --warmup 3
//   train --image 28 --patch 4 --channels 1 --dim 64 --depth 6 --heads 4 --mlp 256 --classes 10 --batch 128 --runs 10 --warmup 5
//   gemm  --n 1024 --runs 10 --warmup 3
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

class VisionTransformer : Module<Tensor, Tensor>
{
    readonly Conv2d patch; readonly Parameter cls, pos; readonly ModuleList<Block> blocks; readonly LayerNorm norm; readonly Linear head;
    public VisionTransformer(Shape s) : base("vit")
    {
        patch = Conv2d(s.Channels, s.Dim, s.Patch, stride: s.Patch);
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

record Shape(int Image, int Patch, int Channels, int Dim, int Depth, int Heads, int Mlp, int Classes);

static class Peer
{
    static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: ts vit|train|gemm --option value ..."); return 2; }
        var options = new Dictionary<string, int>();
        for (int i = 1; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = int.Parse(args[i + 1]);
        int Get(string name, int fallback) => options.TryGetValue(name, out var v) ? v : fallback;
        torch.set_num_threads(Get("threads", 2));
        torch.manual_seed(0);
        var shape = new Shape(Get("image", 224), Get("patch", 16), Get("channels", 3), Get("dim", 384), Get("depth", 12), Get("heads", 6),
            Get("mlp", 4 * Get("dim", 384)), Get("classes", 1000));
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

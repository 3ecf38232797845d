// ONNX export of a ViT (docs/onnx.md): the model's own objects (VisionTransformer, its blocks and each
// block's TokenReduction) become an opset-17 graph of standard operators, with the batch size symbolic
// and every later token count fixed by the reduction rate (docs/methods.md, "Rate semantics").
// Per block (docs/methods.md, "Where reduction happens"):
//   x = x + Proj(softmax(s Q Kᵀ + bias) V)      LayerNormalization, MatMul, Softmax; bias = λ log(size), (B, 1, 1, T)
//   x = reducer(x)                              Top-K family: ReduceMean of the CLS row, TopK, TopK again to
//                                               restore token order, GatherND of the kept rows
//   x = x + fc2(GELU(fc1(LN2(x))))              GELU exact, as 0.5 x (1 + erf(x / √2))
// Top-K + VPA moves dropped sizes with ArgMax (host), ScatterElements(reduction=add) and the score shares
// (docs/methods.md, method 3); EViT appends Σ score_j x_j over the dropped tokens as one MatMul (method 4).
// eTPS squeezes each pruned token into its most similar kept one with ArgMax and ScatterElements(add)
// (method 5). ToMe is refused by name (docs/onnx.md says why).

using Onnx;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;

namespace IlgpuVit.Onnx;

/// <summary>What the exporter writes besides the logits.</summary>
/// <param name="KeptTokens">Adds an int64 output "kept.{l}" (B, K + 1) per reducing block: CLS then the kept tokens in token order.</param>
public sealed record OnnxExportOptions(bool KeptTokens = false);

/// <summary>A model or method that ONNX's standard operators cannot express; the message names it and why.</summary>
public sealed class OnnxExportException(string message) : ArgumentException(message);

/// <summary>Writes a <see cref="VisionTransformer"/>, with the token reduction its blocks hold, as an ONNX model.</summary>
/// <example><code>ReductionMethod.Apply(model, "topk-vpa:rate=0.1"); OnnxExporter.Save(model, "vit.onnx", overwrite: false);</code></example>
public static class OnnxExporter
{
    /// <summary>The operator set the graph uses (ScatterElements with reduction=add needs 16; LayerNormalization 17).</summary>
    public const int Opset = 17;

    /// <summary>The graph input: images (batch, Cin, H, W), normalised as the model was trained.</summary>
    public const string InputName = "images";

    /// <summary>The graph output: logits (batch, classes).</summary>
    public const string OutputName = "logits";

    /// <summary>The ONNX model of <paramref name="model"/> and the reducers its blocks hold.</summary>
    /// <exception cref="OnnxExportException">The model has a CNN backbone, or a block holds a method ONNX cannot express.</exception>
    public static ModelProto Export(VisionTransformer model, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        var cfg = model.Config;
        if (model.PatchEmbed is not PatchEmbedding patch)
            throw new OnnxExportException(cfg.Stem == "conv"
                ? $"Model '{cfg.Name}' has a convolutional stem; the exporter writes patch-embedding ViTs only (docs/onnx.md)."
                : $"Model '{cfg.Name}' has a CNN backbone ({cfg.Backbone}); the exporter writes plain patch-embedding ViTs only.");
        var reductions = model.Blocks.Select(b => b.Reducer switch
        {
            null => null,
            TokenReduction r => Check(r),
            var other => throw new OnnxExportException($"Block {b.Index} holds a reducer of type {other.GetType().Name}; only TokenReduction is exported."),
        }).ToArray();

        var g = new OnnxGraph();
        var w = new Writer(g, model);
        string images = InputName;
        g.Graph.Input.Add(g.Value(images, true, null, cfg.InChannels, cfg.ImageSize, cfg.ImageSize));
        string batch = g.Node("Shape", [images], ("start", 0L), ("end", 1L));              // (1): the symbolic batch size

        // Patch embedding: a conv with kernel = stride = p, then (B, C, h, w) -> (B, P, C).
        string x = g.Node("Conv", [images, w.Param(patch.Weight), w.Param(patch.Bias)],
            ("kernel_shape", new long[] { patch.Patch, patch.Patch }), ("strides", new long[] { patch.Patch, patch.Patch }));
        x = g.Node("Transpose", [g.Node("Reshape", [x, g.Longs([0, cfg.EmbedDim, cfg.Patches])])], ("perm", new long[] { 0, 2, 1 }));
        string cls = g.Node("Expand", [w.Param(model.ClassToken), g.Node("Concat", [batch, g.Longs([1, cfg.EmbedDim])], ("axis", 0L))]);
        x = g.Node("Add", [g.Node("Concat", [cls, x], ("axis", 1L)), w.Param(model.PositionEmbedding)]);

        int tokens = cfg.Tokens;
        string? sizes = null, bias = null;
        var keptOutputs = new List<(string Name, int Count)>();
        foreach (var block in model.Blocks)
        {
            int l = block.Index;
            // Attention, with the key bias of the previous reducer.
            var attention = w.Attention(block, g.Node("LayerNormalization", [x, w.Param(block.Norm1.Weight), w.Param(block.Norm1.Bias)],
                ("axis", -1L), ("epsilon", block.Norm1.Eps)), tokens, bias);
            x = g.Node("Add", [x, attention.Output]);
            if (reductions[l] is { } reduction)
            {
                var planner = reduction.Spec.Planner;
                if (planner.TracksSizes)
                    sizes ??= g.Node("Expand", [g.Floats($"sizes.ones.{l}", Enumerable.Repeat(1f, tokens).ToArray(), 1, tokens),
                        g.Node("Concat", [batch, g.Longs([tokens])], ("axis", 0L))]);
                int removed = reduction.Rate.Removed(l, tokens);
                string? kept = null;
                switch (planner)
                {
                    case TopKPlanner when removed > 0:
                        (x, kept) = w.TopK(x, attention.Probabilities, tokens, tokens - 1 - removed);
                        if (sizes is not null) sizes = g.Node("GatherElements", [sizes, kept], ("axis", 1L));
                        tokens -= removed;
                        break;
                    case TopKVpaPlanner vpa:
                        if (removed > 0)
                        {
                            int keep = tokens - 1 - removed;
                            (x, kept) = w.TopK(x, attention.Probabilities, tokens, keep);
                            sizes = w.VpaSizes(vpa.Mode, sizes!, kept, attention, tokens, keep);
                            tokens -= removed;
                        }
                        // The next block's attention adds λ log(size) to every logit of key j; λ = 0 sets no bias.
                        float lambda = vpa.Lambda.At(l + 1, reduction.Depth);
                        bias = lambda == 0 ? null : g.Node("Mul", [g.Node("Log", [sizes!]), g.Scalar(lambda)]);
                        break;
                    case EtpsPlanner etps when removed > 0:
                        (x, kept, sizes) = w.Etps(x, attention.Probabilities, tokens, tokens - 1 - removed, sizes!, etps.Tau);
                        tokens -= removed;
                        break;
                    case EvitPlanner:
                        int evitKeep = Math.Max(1, tokens - 2 - removed);
                        if (removed == 0 || evitKeep + 1 >= tokens - 1) break;
                        (x, kept, sizes) = w.Evit(x, attention.Probabilities, tokens, evitKeep, sizes!);
                        tokens = evitKeep + 2;
                        break;
                }
                if (kept is not null && options.KeptTokens) keptOutputs.Add((g.Rename(kept, $"kept.{l}"), tokens - (planner is EvitPlanner ? 1 : 0)));
            }
            string h = g.Node("LayerNormalization", [x, w.Param(block.Norm2.Weight), w.Param(block.Norm2.Bias)], ("axis", -1L), ("epsilon", block.Norm2.Eps));
            h = w.Linear(h, block.Mlp.Fc1);
            // Exact GELU: 0.5 x (1 + erf(x / √2)).
            h = g.Node("Mul", [g.Node("Mul", [h, g.Scalar(0.5f)]),
                g.Node("Add", [g.Scalar(1f), g.Node("Erf", [g.Node("Mul", [h, g.Scalar(1f / MathF.Sqrt(2f))])])])]);
            x = g.Node("Add", [x, w.Linear(h, block.Mlp.Fc2)]);
        }

        // Head: the CLS token (norm), or the mean of the other tokens (fc_norm), as VisionTransformer.Forward.
        string pooled = cfg.GlobalPool == "avg"
            ? g.Node("ReduceMean", [g.Node("Slice", [x, g.Longs([1]), g.Longs([tokens]), g.Longs([1])])], ("axes", new long[] { 1 }), ("keepdims", 0L))
            : g.Node("Gather", [x, g.Longs([0], scalar: true)], ("axis", 1L));
        pooled = g.Node("LayerNormalization", [pooled, w.Param(model.Norm.Weight), w.Param(model.Norm.Bias)], ("axis", -1L), ("epsilon", model.Norm.Eps));
        g.Rename(w.Linear(pooled, model.Head), OutputName);
        g.Graph.Output.Add(g.Value(OutputName, true, null, cfg.Classes));
        foreach (var (name, count) in keptOutputs) g.Graph.Output.Add(g.Value(name, false, null, count));

        var onnx = new ModelProto { IrVersion = 8, ProducerName = "IlgpuVit", DocString = Describe(model, reductions), Graph = g.Graph };
        onnx.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "ilgpuvit.model", Value = System.Text.Json.JsonSerializer.Serialize(cfg) });
        onnx.MetadataProps.Add(new StringStringEntryProto { Key = "ilgpuvit.method", Value = reductions.FirstOrDefault(r => r is not null)?.Spec.ToString() ?? "none" });
        return onnx;
    }

    /// <summary>The serialised model.</summary>
    public static byte[] ToBytes(VisionTransformer model, OnnxExportOptions? options = null) => Google.Protobuf.MessageExtensions.ToByteArray(Export(model, options));

    /// <summary>
    /// Writes the model to <paramref name="path"/> through a temporary file renamed over it, so a reader or a crash never sees
    /// a partial model; an existing file is replaced only when <paramref name="overwrite"/>.
    /// </summary>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false.</exception>
    public static void Save(VisionTransformer model, string path, bool overwrite, OnnxExportOptions? options = null)
    {
        var bytes = ToBytes(model, options);                    // export first: a refusal writes nothing
        if (!overwrite && File.Exists(path))
            throw new IOException($"{path} exists; pass --force (overwrite: true) to replace it.");
        IlgpuVit.IO.AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static TokenReduction Check(TokenReduction reduction) => reduction.Spec.Planner switch
    {
        TopKPlanner or TopKVpaPlanner or EvitPlanner or EtpsPlanner => reduction,
        TomePlanner => throw new OnnxExportException(
            "ONNX export of ToMe is not supported: its bipartite soft matching (per-token partner, top-r merge, size-weighted mean and the " +
            "re-ordering of merged rows) is not exported yet; use topk, topk-vpa, evit or etps (docs/onnx.md)."),
        var p => throw new OnnxExportException($"ONNX export of method '{p.Name}' is not supported (docs/onnx.md)."),
    };

    private static string Describe(VisionTransformer model, TokenReduction?[] reductions) =>
        $"{model.Config.Name}, method {reductions.FirstOrDefault(r => r is not null)?.Spec.ToString() ?? "none"}, exported by IlgpuVit (docs/onnx.md)";

    /// <summary>Emits the parts of the graph that read the model's parameters.</summary>
    private sealed class Writer(OnnxGraph g, VisionTransformer model)
    {
        private readonly HashSet<string> _written = [];

        /// <summary>The parameter as an initializer named by its timm key.</summary>
        public string Param(IlgpuVit.Autodiff.Variable p)
        {
            string name = p.Name!;
            if (_written.Add(name)) g.Floats(name, p.Value.ToArray(), p.Shape.Dims.ToArray().Select(d => (long)d).ToArray());
            return name;
        }

        /// <summary>x Wᵀ + b with Wᵀ stored transposed (in, out), named "{weight}.T".</summary>
        public string Linear(string x, IlgpuVit.Nn.Linear layer)
        {
            string name = layer.Weight.Name + ".T";
            if (_written.Add(name))
            {
                int outputs = layer.Weight.Shape[0], inputs = layer.Weight.Shape[1];
                var wt = layer.Weight.Value.ToArray();
                var t = new float[wt.Length];
                for (int o = 0; o < outputs; o++)
                    for (int i = 0; i < inputs; i++) t[i * outputs + o] = wt[o * inputs + i];
                g.Floats(name, t, inputs, outputs);
            }
            return g.Node("Add", [g.Node("MatMul", [x, name]), Param(layer.Bias)]);
        }

        /// <summary>Proj(softmax(s Q Kᵀ + bias) V) of normalised tokens <paramref name="h"/> (B, T, C), with the probabilities and keys.</summary>
        public (string Output, string Probabilities, string Keys) Attention(Block block, string h, int tokens, string? bias)
        {
            int c = model.Config.EmbedDim, heads = block.Attn.Heads, d = c / heads;
            string qkv = Linear(h, block.Attn.Qkv);
            // (B, T, 3C) -> (3, B, H, T, d): q, k, v as timm splits them.
            qkv = g.Node("Transpose", [g.Node("Reshape", [qkv, g.Longs([0, tokens, 3, heads, d])])], ("perm", new long[] { 2, 0, 3, 1, 4 }));
            string q = g.Node("Gather", [qkv, g.Longs([0], scalar: true)], ("axis", 0L));
            string k = g.Node("Gather", [qkv, g.Longs([1], scalar: true)], ("axis", 0L));
            string v = g.Node("Gather", [qkv, g.Longs([2], scalar: true)], ("axis", 0L));
            string logits = g.Node("Mul", [g.Node("MatMul", [q, g.Node("Transpose", [k], ("perm", new long[] { 0, 1, 3, 2 }))]), g.Scalar(1f / MathF.Sqrt(d))]);
            if (bias is not null) logits = g.Node("Add", [logits, g.Node("Unsqueeze", [bias, g.Longs([1, 2])])]);
            string p = g.Node("Softmax", [logits], ("axis", -1L));
            string o = g.Node("Transpose", [g.Node("MatMul", [p, v])], ("perm", new long[] { 0, 2, 1, 3 }));
            return (Linear(g.Node("Reshape", [o, g.Longs([0, tokens, c])]), block.Attn.Proj), p, k);
        }

        /// <summary>Importance scores (B, T − 1): the head mean of the CLS attention row (docs/methods.md, "Importance score").</summary>
        public string Scores(string probabilities, int tokens) =>
            g.Node("ReduceMean", [g.Node("Slice", [probabilities, g.Longs([0, 1]), g.Longs([1, tokens]), g.Longs([2, 3])])],
                ("axes", new long[] { 1, 2 }), ("keepdims", 0L));

        /// <summary>
        /// The kept rows (B, K + 1), CLS then the <paramref name="keep"/> best-scoring tokens in token order, and the mask
        /// (B, T − 1) that is 1 on the dropped tokens.
        /// </summary>
        public (string Kept, string DroppedMask) Select(string scores, int tokens, int keep)
        {
            // TopK ranks ties to the lower index, as Ops.TopK; a second TopK over the indices puts them back in token order.
            string top = g.NodeOutputs("TopK", [scores, g.Longs([keep])], 2, ("axis", -1L), ("largest", 1L), ("sorted", 1L))[1];
            string ordered = g.NodeOutputs("TopK", [g.Node("Cast", [top], ("to", 1L)), g.Longs([keep])], 2, ("axis", -1L), ("largest", 0L), ("sorted", 1L))[0];
            string tokensKept = g.Node("Add", [g.Node("Cast", [ordered], ("to", 7L)), g.Longs([1])]);
            string cls = g.Node("Mul", [g.Node("Slice", [tokensKept, g.Longs([0]), g.Longs([1]), g.Longs([1])]), g.Longs([0])]);
            string kept = g.Node("Concat", [cls, tokensKept], ("axis", 1L));
            // 1 − Σ one-hot(top): 1 where a token was dropped.
            string hits = g.Node("ReduceSum", [g.Node("OneHot", [top, g.Longs([tokens - 1], scalar: true), g.Floats($"onehot.{top}", [0f, 1f], 2)], ("axis", -1L)),
                g.Longs([1])], ("keepdims", 0L));
            return (kept, g.Node("Sub", [g.Scalar(1f), hits]));
        }

        /// <summary>Rows <paramref name="kept"/> (B, K) of <paramref name="x"/> (B, T, C).</summary>
        public string Gather(string x, string kept) =>
            g.Node("GatherND", [x, g.Node("Unsqueeze", [kept, g.Longs([2])])], ("batch_dims", 1L));

        /// <summary>Top-K pruning (docs/methods.md, method 2): the kept rows and their indices.</summary>
        public (string X, string Kept) TopK(string x, string probabilities, int tokens, int keep)
        {
            var (kept, _) = Select(Scores(probabilities, tokens), tokens, keep);
            return (Gather(x, kept), kept);
        }

        /// <summary>VPA's new sizes (B, K + 1) (docs/methods.md, method 3), as SizeRedistribution computes them.</summary>
        public string VpaSizes(SizeMode mode, string sizes, string kept, (string Output, string Probabilities, string Keys) attention, int tokens, int keep)
        {
            string scores = Scores(attention.Probabilities, tokens);
            var (_, dropped) = Select(scores, tokens, keep);
            string keptSizes = g.Node("GatherElements", [sizes, kept], ("axis", 1L));
            string moved = g.Node("Mul", [g.Node("Slice", [sizes, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]), dropped]);   // (B, T − 1), 0 on kept tokens
            if (mode == SizeMode.Host)
            {
                // Keys averaged over heads, L2-normalised (Ops.HeadMeanKeys); each token's best kept host, CLS excluded (Ops.BestMatch).
                string keys = g.Node("ReduceMean", [attention.Keys], ("axes", new long[] { 1 }), ("keepdims", 0L));
                string norm = g.Node("Max", [g.Node("Sqrt", [g.Node("ReduceSum", [g.Node("Mul", [keys, keys]), g.Longs([-1])], ("keepdims", 1L))]), g.Scalar(1e-12f)]);
                keys = g.Node("Div", [keys, norm]);
                string guests = g.Node("Slice", [keys, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]);
                string hosts = Gather(keys, g.Node("Slice", [kept, g.Longs([1]), g.Longs([keep + 1]), g.Longs([1])]));
                string similarity = g.Node("MatMul", [guests, g.Node("Transpose", [hosts], ("perm", new long[] { 0, 2, 1 }))]);
                string host = g.Node("Add", [g.Node("ArgMax", [similarity], ("axis", -1L), ("keepdims", 0L)), g.Longs([1])]);   // kept row in [1, K]
                return g.Node("ScatterElements", [keptSizes, host, moved], ("axis", 1L), ("reduction", "add"));
            }
            string total = g.Node("ReduceSum", [moved, g.Longs([1])], ("keepdims", 1L));      // (B, 1)
            string uniform = g.Node("Div", [total, g.Scalar(keep)]);
            string share = uniform;
            if (mode == SizeMode.Attention)
            {
                // In proportion to the kept tokens' scores; uniformly when they sum to 0.
                string keptScores = g.Node("GatherElements", [scores, g.Node("Sub", [g.Node("Slice", [kept, g.Longs([1]), g.Longs([keep + 1]), g.Longs([1])]), g.Longs([1])])], ("axis", 1L));
                string sum = g.Node("ReduceSum", [keptScores, g.Longs([1])], ("keepdims", 1L));
                string proportional = g.Node("Div", [g.Node("Mul", [total, keptScores]), sum]);
                share = g.Node("Where", [g.Node("Greater", [sum, g.Scalar(0f)]), proportional, g.Node("Expand", [uniform, g.Node("Shape", [keptScores])])]);
            }
            else share = g.Node("Expand", [uniform, g.Node("Shape", [g.Node("Slice", [kept, g.Longs([1]), g.Longs([keep + 1]), g.Longs([1])])])]);
            string zero = g.Node("Mul", [g.Node("Slice", [keptSizes, g.Longs([0]), g.Longs([1]), g.Longs([1])]), g.Scalar(0f)]);
            return g.Node("Add", [keptSizes, g.Node("Concat", [zero, share], ("axis", 1L))]);
        }

        /// <summary>
        /// eTPS (docs/methods.md, method 5): each dropped token's host is the kept non-CLS token with the most cosine-similar row
        /// (norms floored at 1e-6); r_i' = (e r_i + Σ exp(c_j / τ) p_j) / (e + Σ exp(c_j / τ)) over its guests; sizes add to the host.
        /// </summary>
        public (string X, string Kept, string Sizes) Etps(string x, string probabilities, int tokens, int keep, string sizes, float tau)
        {
            var (kept, dropped) = Select(Scores(probabilities, tokens), tokens, keep);
            string norm = g.Node("Max", [g.Node("Sqrt", [g.Node("ReduceSum", [g.Node("Mul", [x, x]), g.Longs([-1])], ("keepdims", 1L))]), g.Scalar(1e-6f)]);
            string unit = g.Node("Div", [x, norm]);
            string guests = g.Node("Slice", [unit, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]);
            string hosts = Gather(unit, g.Node("Slice", [kept, g.Longs([1]), g.Longs([keep + 1]), g.Longs([1])]));
            string similarity = g.Node("MatMul", [guests, g.Node("Transpose", [hosts], ("perm", new long[] { 0, 2, 1 }))]);   // (B, T − 1, K)
            string host = g.Node("Add", [g.Node("ArgMax", [similarity], ("axis", -1L), ("keepdims", 0L)), g.Longs([1])]);      // kept row in [1, K]
            string best = g.Node("ReduceMax", [similarity], ("axes", new long[] { -1 }), ("keepdims", 0L));
            string weight = g.Node("Mul", [g.Node("Exp", [g.Node("Mul", [best, g.Scalar(1f / tau)])]), dropped]);              // 0 on kept tokens
            string rest = g.Node("Slice", [x, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]);
            string hostRows = g.Node("Expand", [g.Node("Unsqueeze", [host, g.Longs([2])]), g.Node("Shape", [rest])]);
            string e = g.Scalar(MathF.E);
            string numerator = g.Node("ScatterElements", [g.Node("Mul", [Gather(x, kept), e]), hostRows,
                g.Node("Mul", [rest, g.Node("Unsqueeze", [weight, g.Longs([2])])])], ("axis", 1L), ("reduction", "add"));
            string keptSizes = g.Node("GatherElements", [sizes, kept], ("axis", 1L));
            string denominator = g.Node("ScatterElements", [g.Node("Add", [g.Node("Mul", [keptSizes, g.Scalar(0f)]), e]), host, weight],
                ("axis", 1L), ("reduction", "add"));
            string moved = g.Node("Mul", [g.Node("Slice", [sizes, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]), dropped]);
            return (g.Node("Div", [numerator, g.Node("Unsqueeze", [denominator, g.Longs([2])])]), kept,
                g.Node("ScatterElements", [keptSizes, host, moved], ("axis", 1L), ("reduction", "add")));
        }

        /// <summary>EViT (docs/methods.md, method 4): the kept rows, then Σ score_j x_j over the dropped tokens appended last; sizes likewise.</summary>
        public (string X, string Kept, string Sizes) Evit(string x, string probabilities, int tokens, int keep, string sizes)
        {
            string scores = Scores(probabilities, tokens);
            var (kept, dropped) = Select(scores, tokens, keep);
            string weights = g.Node("Unsqueeze", [g.Node("Mul", [scores, dropped]), g.Longs([1])]);            // (B, 1, T − 1)
            string rest = g.Node("Slice", [x, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]);
            string fused = g.Node("MatMul", [weights, rest]);                                                      // (B, 1, C)
            string fusedSize = g.Node("ReduceSum", [g.Node("Mul", [g.Node("Slice", [sizes, g.Longs([1]), g.Longs([tokens]), g.Longs([1])]), dropped]),
                g.Longs([1])], ("keepdims", 1L));
            return (g.Node("Concat", [Gather(x, kept), fused], ("axis", 1L)), kept,
                g.Node("Concat", [g.Node("GatherElements", [sizes, kept], ("axis", 1L)), fusedSize], ("axis", 1L)));
        }
    }
}

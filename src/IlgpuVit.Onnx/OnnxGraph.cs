// A small builder of one ONNX graph (docs/onnx.md): nodes in topological order, float and int64
// initializers, unique value names. It fills the ONNX schema's protobuf classes (OnnxSharp's
// generated Onnx.* types on Google.Protobuf); no byte of the format is written by hand.

using Google.Protobuf;
using Onnx;

namespace IlgpuVit.Onnx;

/// <summary>Builds the nodes and initializers of one graph; every method returns the name of the value it made.</summary>
internal sealed class OnnxGraph
{
    private const int FloatType = (int)TensorProto.Types.DataType.Float;
    private const int Int64Type = (int)TensorProto.Types.DataType.Int64;
    private int _next;

    /// <summary>The graph being built.</summary>
    public GraphProto Graph { get; } = new() { Name = "ilgpuvit" };

    /// <summary>A float initializer <paramref name="name"/> of shape <paramref name="dims"/>.</summary>
    public string Floats(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = FloatType };
        tensor.Dims.AddRange(dims);
        var bytes = new byte[values.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(bytes);   // ONNX raw data is little-endian, as .NET on x64 and arm64
        tensor.RawData = ByteString.CopyFrom(bytes);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float scalar constant.</summary>
    public string Scalar(float value) => Floats(Fresh("const"), [value]);

    /// <summary>An int64 constant of shape (n) (or a scalar when <paramref name="scalar"/>).</summary>
    public string Longs(long[] values, bool scalar = false)
    {
        var tensor = new TensorProto { Name = Fresh("const"), DataType = Int64Type };
        if (!scalar) tensor.Dims.Add(values.Length);
        tensor.Int64Data.AddRange(values);
        Graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    /// <summary>Adds node <paramref name="op"/> with one output; attributes are (name, value) with value a long, float, or long[].</summary>
    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) =>
        NodeOutputs(op, inputs, 1, attributes)[0];

    /// <summary>Adds node <paramref name="op"/> with <paramref name="outputs"/> outputs.</summary>
    public string[] NodeOutputs(string op, string[] inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(op) };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(_ => Fresh(op.ToLowerInvariant())).ToArray();
        node.Output.AddRange(names);
        foreach (var (name, value) in attributes)
        {
            var attribute = new AttributeProto { Name = name };
            switch (value)
            {
                case long l: attribute.Type = AttributeProto.Types.AttributeType.Int; attribute.I = l; break;
                case int i: attribute.Type = AttributeProto.Types.AttributeType.Int; attribute.I = i; break;
                case float f: attribute.Type = AttributeProto.Types.AttributeType.Float; attribute.F = f; break;
                case string s: attribute.Type = AttributeProto.Types.AttributeType.String; attribute.S = ByteString.CopyFromUtf8(s); break;
                case long[] ls: attribute.Type = AttributeProto.Types.AttributeType.Ints; attribute.Ints.AddRange(ls); break;
                default: throw new ArgumentException($"attribute {name}: unsupported value {value}");
            }
            node.Attribute.Add(attribute);
        }
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Declares graph input or output <paramref name="name"/> of element type float (or int64) and shape; a null dim is symbolic ("batch").</summary>
    public ValueInfoProto Value(string name, bool isFloat, params long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is { } v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = isFloat ? FloatType : Int64Type, Shape = shape } },
        };
    }

    /// <summary>Renames the output of the last node that produced <paramref name="value"/> to <paramref name="name"/>.</summary>
    public string Rename(string value, string name)
    {
        foreach (var node in Graph.Node)
            for (int i = 0; i < node.Output.Count; i++)
                if (node.Output[i] == value) node.Output[i] = name;
        foreach (var node in Graph.Node)
            for (int i = 0; i < node.Input.Count; i++)
                if (node.Input[i] == value) node.Input[i] = name;
        return name;
    }

    private string Fresh(string stem) => $"{stem}_{_next++}";
}

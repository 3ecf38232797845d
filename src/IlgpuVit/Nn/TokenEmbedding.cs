// What turns images into the tokens a ViT's blocks see: the plain patch embedding (a conv with
// kernel = stride = patch) or a hybrid's CNN backbone.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Images (B, Cin, H, W) to tokens (B, P, C), CLS not included.</summary>
public interface ITokenEmbedding
{
    /// <summary>The tokens of <paramref name="images"/>.</summary>
    Variable Forward(Tape tape, Tensor<float> images);

    /// <summary>Its parameters, in timm's key order.</summary>
    IEnumerable<Variable> Parameters();
}

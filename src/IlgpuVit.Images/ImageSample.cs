// One entry of an ImageFolder: a file and its class, the (path, target) pair of torchvision's ImageFolder.
namespace IlgpuVit.Images;

/// <summary>An image file and the label of the class folder it lies in.</summary>
/// <param name="Path">Full path of the image file.</param>
/// <param name="Label">Index of its class in <see cref="ImageFolder.ClassNames"/>.</param>
public readonly record struct ImageSample(string Path, int Label);

// The errors a user meets at the runtime layer. Each message names the values involved, so the
// message alone tells what to fix.
namespace IlgpuVit.Runtime;

/// <summary>Two tensors, or a tensor and an operation, disagree on a shape.</summary>
public sealed class ShapeMismatchException(string message) : ArgumentException(message)
{
    /// <summary>Throws when <paramref name="actual"/> differs from <paramref name="expected"/>.</summary>
    public static void ThrowIfDifferent(string op, string what, Shape expected, Shape actual)
    {
        if (expected != actual)
            throw new ShapeMismatchException($"{op}: {what} has shape {actual}, expected {expected}.");
    }

    /// <summary>Throws with <paramref name="message"/> prefixed by the operation when <paramref name="condition"/> is false.</summary>
    public static void Require(bool condition, string op, string message)
    {
        if (!condition)
            throw new ShapeMismatchException($"{op}: {message}");
    }
}

/// <summary>The requested backend or device index is not present on this machine.</summary>
public sealed class BackendNotFoundException(string message) : InvalidOperationException(message);

/// <summary>The accelerator could not provide the memory a tensor asked for.</summary>
public sealed class DeviceOutOfMemoryException(string message, long requestedBytes, Exception inner)
    : InvalidOperationException(message, inner)
{
    /// <summary>The size of the failed request in bytes.</summary>
    public long RequestedBytes { get; } = requestedBytes;
}

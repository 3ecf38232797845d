// An ImageNet-layout folder: root/<class>/.../<image>.jpg|.jpeg|.png, listed the way torchvision's
// ImageFolder lists it (torchvision/datasets/folder.py: find_classes, make_dataset), so labels and
// order agree with the Python tools that made the weights: classes are the root's sub-folders sorted
// ordinally (label = position); inside a class folder, folders are walked recursively in ordinal order
// of their paths and files taken in ordinal order of their names; extensions match case-insensitively.
// Hidden entries count like any other, as in torchvision. Nothing is opened here: a bad image surfaces
// when it is decoded (ImageFolderLoader reports and skips it).
using IlgpuVit.Data;

namespace IlgpuVit.Images;

/// <summary>The images of an ImageNet-layout folder: one sub-folder per class.</summary>
public sealed class ImageFolder
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    private ImageFolder(string root, IReadOnlyList<string> classNames, IReadOnlyList<ImageSample> samples)
    {
        Root = root;
        ClassNames = classNames;
        Samples = samples;
    }

    /// <summary>The file extensions taken as images (compared case-insensitively).</summary>
    public static IReadOnlyList<string> Extensions => ImageExtensions;

    /// <summary>The folder that was scanned, as a full path.</summary>
    public string Root { get; }

    /// <summary>Class names, (Classes): the sub-folder names in ordinal order; a label indexes this list.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every image with its label, (Count), class by class in the order described above.</summary>
    public IReadOnlyList<ImageSample> Samples { get; }

    /// <summary>Number of images.</summary>
    public int Count => Samples.Count;

    /// <summary>Number of classes.</summary>
    public int Classes => ClassNames.Count;

    /// <summary>Lists the classes and images under <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="DatasetFormatException">The folder has no class sub-folders, or a class folder holds no image.</exception>
    public static ImageFolder Scan(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        string full = Path.GetFullPath(root);
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException(File.Exists(full)
                ? $"Image folder '{full}' is a file; expected a folder with one sub-folder per class."
                : $"Image folder '{full}' does not exist.");

        var classFolders = Directory.EnumerateDirectories(full, "*", Listing(recursive: false)).ToList();
        classFolders.Sort(StringComparer.Ordinal);
        if (classFolders.Count == 0)
            throw new DatasetFormatException(full,
                "has no class sub-folders; an ImageNet-layout folder holds one sub-folder of images per class.");

        var samples = new List<ImageSample>();
        var empty = new List<string>();
        var names = new string[classFolders.Count];
        for (int label = 0; label < classFolders.Count; label++)
        {
            names[label] = Path.GetFileName(classFolders[label]);
            int before = samples.Count;
            foreach (var file in ImagesUnder(classFolders[label]))
                samples.Add(new ImageSample(file, label));
            if (samples.Count == before) empty.Add(names[label]);
        }
        string kinds = string.Join(", ", ImageExtensions);
        if (samples.Count == 0)
            throw new DatasetFormatException(full,
                $"has {classFolders.Count} class folders but no image files ({kinds}) in any of them.");
        if (empty.Count > 0)
            throw new DatasetFormatException(full,
                $"{empty.Count} of {classFolders.Count} class folders hold no image files ({kinds}): " +
                string.Join(", ", empty.Take(10).Select(n => $"'{n}'")) + (empty.Count > 10 ? ", ..." : "") +
                ". Remove them or add images: every class folder needs at least one, as in torchvision's ImageFolder.");
        return new ImageFolder(full, names, samples);
    }

    /// <summary>Image counts per class, (Classes).</summary>
    public int[] ClassHistogram()
    {
        var histogram = new int[Classes];
        foreach (var sample in Samples) histogram[sample.Label]++;
        return histogram;
    }

    /// <summary>Whether <paramref name="path"/> has one of the <see cref="Extensions"/>.</summary>
    public static bool IsImageFile(string path)
    {
        var extension = Path.GetExtension(path);
        foreach (var known in ImageExtensions)
            if (extension.Equals(known, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>The image files of one class folder: folders by ordinal path, files by ordinal name, as sorted(os.walk).</summary>
    private static IEnumerable<string> ImagesUnder(string classFolder)
    {
        var folders = new List<string> { classFolder };
        folders.AddRange(Directory.EnumerateDirectories(classFolder, "*", Listing(recursive: true)));
        folders.Sort(StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            var files = Directory.EnumerateFiles(folder, "*", Listing(recursive: false)).Where(IsImageFile).ToList();
            files.Sort(StringComparer.Ordinal);
            foreach (var file in files) yield return file;
        }
    }

    /// <summary>Every entry, hidden ones included (as os.scandir), and an unreadable folder is an error, not silently skipped.</summary>
    private static EnumerationOptions Listing(bool recursive) =>
        new() { AttributesToSkip = 0, IgnoreInaccessible = false, RecurseSubdirectories = recursive };
}

// An ImageNet-layout folder: root/<class>/.../<image>.jpg|.jpeg|.png, listed the way torchvision's
// ImageFolder lists it (torchvision/datasets/folder.py: find_classes, make_dataset), so labels and
// order agree with the Python tools that made the weights: classes are the root's sub-folders sorted
// ordinally (label = position); inside a class folder, folders are walked recursively in ordinal order
// of their paths and files taken in ordinal order of their names; extensions match case-insensitively.
// Hidden entries count like any other, as in torchvision. Nothing is opened here: a bad image surfaces
// when it is decoded (ImageFolderLoader reports and skips it).
// With a class map (folder name to class index; docs/models.md, "Class indices") labels come from the map
// instead: a folder of a subset of ImageNet's classes keeps each class's index in the 1000-way head,
// every class folder must be in the map, and a class folder may be empty (a subset need not cover it).
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

    /// <summary>
    /// Lists the classes and images under <paramref name="root"/>; with <paramref name="classMap"/> (folder name to class index),
    /// labels are the map's indices and <see cref="ClassNames"/> has max index + 1 entries (the folder's name at its index, "" elsewhere).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="DatasetFormatException">The folder has no class sub-folders; without a map, a class folder holds no image; with one,
    /// a class folder is not in it, two folders share an index, or an index is negative.</exception>
    public static ImageFolder Scan(string root, IReadOnlyDictionary<string, int>? classMap = null)
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

        var folderNames = classFolders.Select(f => Path.GetFileName(f)!).ToArray();
        var labels = classMap is null ? Enumerable.Range(0, classFolders.Count).ToArray() : MappedLabels(full, folderNames, classMap);
        var samples = new List<ImageSample>();
        var empty = new List<string>();
        var names = new string[labels.DefaultIfEmpty(-1).Max() + 1];
        Array.Fill(names, "");
        for (int f = 0; f < classFolders.Count; f++)
        {
            names[labels[f]] = folderNames[f];
            int before = samples.Count;
            foreach (var file in ImagesUnder(classFolders[f]))
                samples.Add(new ImageSample(file, labels[f]));
            if (samples.Count == before) empty.Add(folderNames[f]);
        }
        string kinds = string.Join(", ", ImageExtensions);
        if (samples.Count == 0)
            throw new DatasetFormatException(full,
                $"has {classFolders.Count} class folders but no image files ({kinds}) in any of them.");
        if (empty.Count > 0 && classMap is null)
            throw new DatasetFormatException(full,
                $"{empty.Count} of {classFolders.Count} class folders hold no image files ({kinds}): " +
                string.Join(", ", empty.Take(10).Select(n => $"'{n}'")) + (empty.Count > 10 ? ", ..." : "") +
                ". Remove them or add images: every class folder needs at least one, as in torchvision's ImageFolder.");
        return new ImageFolder(full, names, samples);
    }

    /// <summary>The class map of folders named by their class index ("0", "17", "999"): each folder name to its number.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="DatasetFormatException">A class folder's name is not a non-negative integer.</exception>
    public static IReadOnlyDictionary<string, int> IndexNamedFolders(string root)
    {
        string full = Path.GetFullPath(root);
        if (!Directory.Exists(full)) throw new DirectoryNotFoundException($"Image folder '{full}' does not exist.");
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        var bad = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories(full, "*", Listing(recursive: false)))
        {
            string name = Path.GetFileName(folder);
            if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index)) map[name] = index;
            else bad.Add(name);
        }
        if (bad.Count > 0)
            throw new DatasetFormatException(full, $"class folders must be named by their class index (0, 1, ...) here; these are not: " +
                string.Join(", ", bad.Order(StringComparer.Ordinal).Take(10).Select(n => $"'{n}'")) + (bad.Count > 10 ? ", ..." : "") + ".");
        return map;
    }

    /// <summary>A class map from a JSON file: an object from folder name to class index, e.g. {"n01440764": 0, "n01443537": 1}.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">It is not such an object.</exception>
    public static IReadOnlyDictionary<string, int> ReadClassMap(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Class map '{path}' does not exist.", path);
        const string shape = "a class map is a JSON object from folder name to class index, e.g. {\"n01440764\": 0}";
        try
        {
            var map = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(path));
            return map is { Count: > 0 } ? map : throw new DatasetFormatException(path, $"is empty; {shape}.");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new DatasetFormatException(path, $"is not a class map ({e.Message}); {shape}.");
        }
    }

    /// <summary>Each folder's label from the map, in folder order.</summary>
    private static int[] MappedLabels(string root, string[] folders, IReadOnlyDictionary<string, int> map)
    {
        var missing = folders.Where(f => !map.ContainsKey(f)).ToList();
        if (missing.Count > 0)
            throw new DatasetFormatException(root, $"{missing.Count} class folders are not in the class map: " +
                string.Join(", ", missing.Take(10).Select(n => $"'{n}'")) + (missing.Count > 10 ? ", ..." : "") + ". Add them to the map or remove them.");
        var labels = folders.Select(f => map[f]).ToArray();
        if (labels.FirstOrDefault(l => l < 0, 0) is < 0 and var negative)
            throw new DatasetFormatException(root, $"the class map gives folder '{folders[Array.IndexOf(labels, negative)]}' index {negative}; indices are 0 or more.");
        var shared = labels.GroupBy(l => l).FirstOrDefault(g => g.Count() > 1);
        if (shared is not null)
            throw new DatasetFormatException(root, $"the class map gives index {shared.Key} to several folders: " +
                string.Join(", ", folders.Where((_, i) => labels[i] == shared.Key).Select(n => $"'{n}'")) + ".");
        return labels;
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

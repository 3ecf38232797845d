// "Did you mean" for tensor names: a checkpoint key off by a prefix or an index ("blocks.1" vs
// "blocks.01", "module.head.weight" vs "head.weight") is the usual reason a lookup fails, so the
// error lists the few names closest by edit distance.
namespace IlgpuVit.IO;

internal static class NameSuggestions
{
    /// <summary>A sentence naming up to <paramref name="count"/> of <paramref name="names"/> closest to <paramref name="wanted"/>.</summary>
    public static string Describe(string wanted, IEnumerable<string> names, int count = 3)
    {
        var closest = names
            .Select(n => (Name: n, Distance: EditDistance(wanted, n)))
            .OrderBy(c => c.Distance).ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(count)
            .Select(c => $"'{c.Name}'")
            .ToList();
        return closest.Count == 0 ? "The file holds no tensors." : $"Closest names: {string.Join(", ", closest)}.";
    }

    /// <summary>Levenshtein distance, two rows at a time.</summary>
    internal static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitute, Math.Min(previous[j], current[j - 1]) + 1);
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}

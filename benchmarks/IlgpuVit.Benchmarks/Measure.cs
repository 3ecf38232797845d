// Timing: warm up, then time repeated runs until both a minimum count and a time budget are met,
// and report the median (robust on a shared, noisy machine) with p10/p90.
using System.Diagnostics;

namespace IlgpuVit.Benchmarks;

public readonly record struct Timing(double MedianSeconds, double P10Seconds, double P90Seconds, int Runs);

public static class Measure
{
    public static Timing Time(Action run, int warmup = 2, int minRuns = 5, double budgetSeconds = 1.0)
    {
        for (int i = 0; i < warmup; i++) run();
        var samples = new List<double>();
        var total = Stopwatch.StartNew();
        while (samples.Count < minRuns || (total.Elapsed.TotalSeconds < budgetSeconds && samples.Count < 10_000))
        {
            long start = Stopwatch.GetTimestamp();
            run();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        samples.Sort();
        double At(double q) => samples[(int)Math.Round(q * (samples.Count - 1))];
        return new Timing(At(0.5), At(0.1), At(0.9), samples.Count);
    }
}

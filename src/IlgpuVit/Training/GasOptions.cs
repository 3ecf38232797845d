// Settings of Gradient-Aware Scaling (docs/methods.md, "Pruning-rate adjustment"): a controller over one
// global pruning rate p, stepped once per window of optimizer steps from the window's mean loss and
// mean gradient norm. Evidence for the defaults (eTPS on vit_micro_patch4_28, Fashion-MNIST, 4 epochs,
// unpruned 86.18%; `ilgpuvit train --epochs 4 --method etps --adjust gas --gas-eta E --gas-tol T`):
//   eta 0.01,  tol 0.01,  backoff 2: p ends 0.187, -46.7% FLOPs, 84.91%
//   eta 0.01,  tol 0.005, backoff 2: p ends 0.160, -41.6% FLOPs, 84.63%
//   eta 0.005, tol 0.01,  backoff 2: p ends 0.109, -32.4% FLOPs, 85.25%   <- the defaults
//   eta 0.01,  tol 0.003, backoff 3: p ends 0.020,  -6.6% FLOPs, 85.60%
//   eta 0.005, tol 0.002, backoff 2: p ends 0.014,  -6.6% FLOPs, 85.82%
// The training loss falls in most windows, so p climbs at about eta s per window until rising windows
// (>= tol) push it back: eta sets how far p gets in a short run, and a tol near the window loss's noise
// (0.2-0.3%) keeps p near zero. The defaults land in the -25 to -35% FLOPs range. The scale clamp [0.5, 2]
// is reached at both ends in these runs (s ~0.55 in the first epoch, 2 from the third on).

namespace IlgpuVit.Training;

/// <summary>GAS controller settings.</summary>
public sealed record GasOptions : AdjusterOptions
{
    /// <summary>Settings at their defaults (pMax 0.3).</summary>
    public GasOptions() => RateMax = 0.3;

    /// <summary>Base step of p per window (eta).</summary>
    public double Eta { get; init; } = 0.005;

    /// <summary>Relative loss change that counts as falling (≤ −tol) or rising (≥ +tol).</summary>
    public double Tolerance { get; init; } = 0.01;

    /// <summary>A rising loss steps p down by backoff · eta · s.</summary>
    public double Backoff { get; init; } = 2;

    /// <summary>Lower clamp of the gradient scale s = Gref / Gw.</summary>
    public double ScaleMin { get; init; } = 0.5;

    /// <summary>Upper clamp of the gradient scale.</summary>
    public double ScaleMax { get; init; } = 2;

    /// <summary>Windows at the start during which p stays at <see cref="AdjusterOptions.RateStart"/> (the first also sets Gref).</summary>
    public int WarmupWindows { get; init; } = 1;

    /// <summary>Checks the values.</summary>
    /// <exception cref="ArgumentException">A value is out of range (names which).</exception>
    public GasOptions Validate()
    {
        void Require(bool ok, string what) { if (!ok) throw new ArgumentException($"GAS options: {what}."); }
        Require(Eta > 0 && double.IsFinite(Eta), $"eta must be positive, got {Eta}");
        Require(Tolerance >= 0, $"tolerance must not be negative, got {Tolerance}");
        Require(Backoff >= 0, $"backoff must not be negative, got {Backoff}");
        Require(ScaleMin > 0 && ScaleMin <= ScaleMax, $"the scale clamp must satisfy 0 < min <= max, got [{ScaleMin}, {ScaleMax}]");
        Require(WarmupWindows >= 1, $"warm-up windows must be at least 1 (the first sets the reference gradient norm), got {WarmupWindows}");
        ValidateWindowAndRates(Require);
        return this;
    }
}

#!/usr/bin/python3
"""The kernel benchmark's shapes in libtorch (Debian's python3-torch), for a peer figure measured
on the same machine: /usr/bin/python3 benchmarks/peers/torch_kernels.py [--json PATH]"""
import json
import sys
import time

import torch

torch.set_num_threads(torch.get_num_threads())


def median_seconds(run, budget=1.0, min_runs=5):
    for _ in range(2):
        run()
    samples, start = [], time.perf_counter()
    while len(samples) < min_runs or time.perf_counter() - start < budget:
        t = time.perf_counter()
        run()
        samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[len(samples) // 2]


results = []


def report(kernel, shape, unit, work, seconds):
    rate = work / seconds / 1e9
    results.append({"kernel": kernel, "shape": shape, "unit": unit, "rate": rate, "medianMs": seconds * 1e3})
    print(f"{kernel:<24} {shape:<18} {rate:9.2f} {unit:<10} median {seconds * 1e3:9.4f} ms")


with torch.inference_mode():
    print(f"libtorch {torch.__version__}, {torch.get_num_threads()} threads")
    for n in (256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        report("gemm", f"{n}x{n}x{n}", "GFLOP/s", 2.0 * n ** 3, median_seconds(lambda: torch.mm(a, b)))
    for m, n, k, name in ((1576, 384, 384, "gemm (ViT-S proj)"), (1576, 1536, 384, "gemm (ViT-S fc1)")):
        a, w = torch.randn(m, k), torch.randn(n, k)
        report(name, f"{m}x{n}x{k}", "GFLOP/s", 2.0 * m * n * k, median_seconds(lambda: torch.nn.functional.linear(a, w)))
    q, k = torch.randn(8, 6, 197, 64), torch.randn(8, 6, 197, 64)
    report("gemm (attention q.kT)", "8x6x197^2x64", "GFLOP/s", 2.0 * 8 * 6 * 197 * 197 * 64, median_seconds(lambda: q @ k.transpose(-1, -2)))
    for rows, n in ((9456, 197), (4096, 1024)):
        x = torch.randn(rows, n)
        report("softmax", f"{rows}x{n}", "Gelem/s", rows * n, median_seconds(lambda: torch.softmax(x, -1)))
    for rows, n in ((1576, 384), (12608, 768)):
        x, g, b = torch.randn(rows, n), torch.randn(n), torch.randn(n)
        report("layernorm", f"{rows}x{n}", "Gelem/s", rows * n, median_seconds(lambda: torch.nn.functional.layer_norm(x, (n,), g, b, 1e-6)))
    x = torch.randn(2420736)
    report("gelu (exact, erf)", "2420736", "Gelem/s", x.numel(), median_seconds(lambda: torch.nn.functional.gelu(x)))

if "--json" in sys.argv:
    with open(sys.argv[sys.argv.index("--json") + 1], "w") as f:
        json.dump({"peer": f"libtorch {torch.__version__}", "results": results}, f, indent=2)

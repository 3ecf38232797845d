#!/usr/bin/python3
"""Writes tests/IlgpuVit.Tests/Fixtures/tome_merge.safetensors: ToMe's bipartite soft matching and
size-weighted merge on random tokens, keys and sizes, with the gradient of a random linear function of
the merged tokens with respect to the input tokens: the oracle for the C# ToMe planner (TomePlanner).

The algorithm is written here after ToMe's published code (facebookresearch/ToMe, tome/merge.py:
bipartite_soft_matching with class_token=True, merge_wavg; tome/patch/timm.py: metric = k.mean(1)),
in torch, independently of the C# kernels: metric = keys averaged over heads and L2-normalised;
A = even tokens, B = odd; the CLS row scores -inf; each A token's best B partner; the r A tokens with
the highest best score merge into their partners by sum(size * x) / sum(size); output = unmerged A in
token order (ToMe sorts them when there is a class token), then B. Random data, so no ties.

Cases are stored as "caseN.<tensor>" (computed in float64, stored as F32): x (B,T,C), k (B,H,T,d),
sizes (B,T), r (I64 scalar), merged (B,T-r,C), merged_sizes (B,T-r), upstream (B,T-r,C) and
grad_x (B,T,C) = d sum(upstream * merged) / dx.

Run: /usr/bin/python3 scripts/make_tome_fixtures.py   (torch 1.13)
"""
import math
import os

import numpy as np
import torch

from make_parity_fixtures import write_safetensors

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "IlgpuVit.Tests", "Fixtures",
                   "tome_merge.safetensors")
# (batch, tokens, channels, heads, r, random sizes): odd and even token counts, r up to its clamp.
CASES = [(2, 17, 12, 3, 5, False), (3, 50, 16, 2, 30, True), (1, 197, 24, 6, 8, True), (2, 9, 8, 1, 1, True)]


def bipartite_soft_matching(metric, r):
    """ToMe's matching with a class token: returns merge(x, mode) as in tome/merge.py."""
    t = metric.shape[1]
    r = min(r, (t - 1) // 2)
    with torch.no_grad():
        metric = metric / metric.norm(dim=-1, keepdim=True)
        a, b = metric[..., ::2, :], metric[..., 1::2, :]
        scores = a @ b.transpose(-1, -2)
        scores[..., 0, :] = -math.inf
        node_max, node_idx = scores.max(dim=-1)
        edge_idx = node_max.argsort(dim=-1, descending=True)[..., None]
        unm_idx = edge_idx[..., r:, :].sort(dim=1)[0]   # class token first, then token order
        src_idx = edge_idx[..., :r, :]
        dst_idx = node_idx[..., None].gather(dim=-2, index=src_idx)

    def merge(x, mode):
        src, dst = x[..., ::2, :], x[..., 1::2, :]
        n, t1, c = src.shape
        unm = src.gather(dim=-2, index=unm_idx.expand(n, t1 - r, c))
        src = src.gather(dim=-2, index=src_idx.expand(n, r, c))
        dst = dst.scatter_reduce(-2, dst_idx.expand(n, r, c), src, reduce=mode)
        return torch.cat([unm, dst], dim=1)

    return merge, r


def merge_wavg(merge, x, size):
    x = merge(x * size, "sum")
    size = merge(size, "sum")
    return x / size, size


def main():
    torch.manual_seed(0)
    f32 = lambda t: t.detach().to(torch.float32).numpy()
    tensors = []
    for i, (batch, tokens, channels, heads, r, random_sizes) in enumerate(CASES):
        d = channels // heads
        x = torch.randn(batch, tokens, channels, dtype=torch.float64, requires_grad=True)
        k = torch.randn(batch, heads, tokens, d, dtype=torch.float64)
        sizes = (1 + 3 * torch.rand(batch, tokens, 1, dtype=torch.float64)) if random_sizes \
            else torch.ones(batch, tokens, 1, dtype=torch.float64)
        merge, r = bipartite_soft_matching(k.mean(1), r)
        merged, merged_sizes = merge_wavg(merge, x, sizes)
        upstream = torch.randn_like(merged)
        (upstream * merged).sum().backward()
        assert merged.shape == (batch, tokens - r, channels)
        assert torch.allclose(merged_sizes.sum(1), sizes.sum(1)), "sizes are conserved"
        tensors += [("case%d.x" % i, f32(x)), ("case%d.k" % i, f32(k)), ("case%d.sizes" % i, f32(sizes[..., 0])),
                    ("case%d.r" % i, np.array(r, dtype=np.int64)), ("case%d.merged" % i, f32(merged)),
                    ("case%d.merged_sizes" % i, f32(merged_sizes[..., 0])), ("case%d.upstream" % i, f32(upstream)),
                    ("case%d.grad_x" % i, f32(x.grad))]
        print("case %d: B=%d T=%d C=%d H=%d r=%d -> %d tokens" % (i, batch, tokens, channels, heads, r, tokens - r))
    metadata = {"cases": str(len(CASES)), "torch": torch.__version__, "dtype": "computed in float64, stored as float32",
                "source": "after facebookresearch/ToMe tome/merge.py (bipartite_soft_matching, merge_wavg)"}
    write_safetensors(OUT, tensors, metadata)
    print("wrote %s (%d bytes)" % (os.path.normpath(OUT), os.path.getsize(OUT)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Same-run peer for the train-step benchmark: one AdamW step of a timm-style ViT in Debian's torch
(python3-torch, CPU, 2 threads). Args: image patch in_ch embed depth heads mlp classes batch.
Prints JSON {"torch": version, "step_ms": median}. torchvision's VisionTransformer is 3-channel, so
the model is built from torch.nn pieces with the same maths (pre-norm, exact GELU, eps 1e-6)."""
import json, sys, time
import torch
import torch.nn as nn

image, patch, in_ch, embed, depth, heads, mlp, classes, batch = map(int, sys.argv[1:10])
torch.set_num_threads(2)
torch.manual_seed(0)

class ViT(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, embed, patch, patch)
        n = (image // patch) ** 2 + 1
        self.cls = nn.Parameter(torch.zeros(1, 1, embed))
        self.pos = nn.Parameter(torch.randn(1, n, embed) * 0.02)
        layer = lambda: nn.TransformerEncoderLayer(embed, heads, mlp, dropout=0.0, activation="gelu",
                                                   layer_norm_eps=1e-6, batch_first=True, norm_first=True)
        self.blocks = nn.ModuleList([layer() for _ in range(depth)])
        self.norm = nn.LayerNorm(embed, eps=1e-6)
        self.head = nn.Linear(embed, classes)

    def forward(self, x):
        x = self.proj(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for b in self.blocks:
            x = b(x)
        return self.head(self.norm(x[:, 0]))

model = ViT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
x = torch.randn(batch, in_ch, image, image)
y = torch.randint(0, classes, (batch,))
loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)

def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()

for _ in range(3):
    step()
times = []
for _ in range(10):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"torch": torch.__version__, "step_ms": times[len(times) // 2] * 1e3}))

#!/usr/bin/python3
"""Writes tests/IlgpuVit.Tests/Fixtures/torchvision_vit.safetensors: a tiny torchvision ViT's parameters,
an input batch, labels, logits, loss and every parameter gradient, as the oracle for the C# forward and
backward passes, and an independent writer for the C# safetensors reader.

Conventions: computed in float64, stored as F32 (labels I64); every parameter is replaced by random values
(LayerNorm weights 1 +/- 0.1, everything else std 0.2) so biases, the class token and the position
embedding all influence the result. The safetensors file is written by hand with struct + json (no
safetensors package here), following https://github.com/huggingface/safetensors: u64 LE header length,
JSON header with sorted keys padded with spaces to 8 bytes, then the data. The data is deliberately laid
out in a different order from the keys, since readers must not assume key order.

Run: /usr/bin/python3 scripts/make_parity_fixtures.py   (torch 1.13, torchvision 0.14)
"""
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torchvision.models import VisionTransformer

CONFIG = dict(image_size=12, patch_size=4, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=64, num_classes=5)
LABEL_SMOOTHING = 0.1
BATCH = 3
LABELS = [1, 4, 0]
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "IlgpuVit.Tests", "Fixtures",
                   "torchvision_vit.safetensors")


def build_model():
    torch.manual_seed(0)
    model = VisionTransformer(**CONFIG, dropout=0.0, attention_dropout=0.0).double().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_layernorm_weight = p.dim() == 1 and (".ln" in name or "ln_" in name) and name.endswith("weight")
            if is_layernorm_weight:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return model


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array) in data order; the header lists them with sorted keys."""
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}
    header, blobs, offset = {}, [], 0
    for name, array in tensors:
        data = array.astype(array.dtype.newbyteorder("<")).tobytes(order="C")   # keeps a 0-d loss 0-d
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    os.replace(tmp, path)


def main():
    model = build_model()
    torch.manual_seed(1)
    images = torch.randn(BATCH, 3, CONFIG["image_size"], CONFIG["image_size"], dtype=torch.float64)
    labels = torch.tensor(LABELS, dtype=torch.int64)

    logits = model(images)
    loss = F.cross_entropy(logits, labels, label_smoothing=LABEL_SMOOTHING)
    loss.backward()

    state = model.state_dict()
    params = dict(model.named_parameters())
    assert set(state) == set(params), "state_dict holds buffers beyond parameters: " + str(set(state) ^ set(params))
    print("state_dict keys (torchvision %s):" % torchvision.__version__)
    for name, value in state.items():
        print("  %-55s %s" % (name, list(value.shape)))

    f32 = lambda t: t.detach().to(torch.float32).numpy()
    tensors = [("check", np.array([1.5, -2.25, 3.0], dtype=np.float32))]
    tensors += [(name, f32(value)) for name, value in state.items()]
    tensors += [("input", f32(images)), ("labels", labels.numpy()), ("logits", f32(logits)), ("loss", f32(loss))]
    tensors += [("grad." + name, f32(p.grad)) for name, p in params.items()]
    tensors.reverse()   # data order unlike key order
    metadata = {key: str(value) for key, value in CONFIG.items()}
    metadata.update(label_smoothing=str(LABEL_SMOOTHING), batch=str(BATCH), torch=torch.__version__,
                    torchvision=torchvision.__version__, dtype="computed in float64, stored as float32")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    write_safetensors(OUT, tensors, metadata)
    print("loss %.10f" % loss.item())
    print("wrote %s (%d bytes, %d tensors)" % (os.path.normpath(OUT), os.path.getsize(OUT), len(tensors)))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Writes tests/IlgpuVit.Tests/Fixtures/pil_resize/: small input images and what timm's evaluation
transform makes of them with PIL, the oracle for IlgpuVit.Images' preprocessing.

timm's eval transform (timm/data/transforms_factory.py, transforms_imagenet_eval) is
Resize(floor(224 / crop_pct), BICUBIC) then CenterCrop(224) on a PIL image opened with .convert("RGB");
torchvision's Resize keeps the aspect ratio (short side -> size, long side -> int(size * long / short))
and calls PIL's Image.resize, whose BICUBIC is the Keys cubic with a = -0.5, widened by the scale
factor when it shrinks (antialiased), rounded to bytes after the horizontal and after the vertical pass.
torchvision's CenterCrop takes top = int(round((h - crop) / 2)), left likewise (round half to even).
Both steps are written out here with PIL 9.4 alone (torchvision is not installed), after torchvision 0.14's
functional.resize / center_crop.

Each case is an input (PNG, or JPEG to measure decoder differences) and the expected crop as a lossless
PNG (uint8 RGB, before ToTensor / Normalize); manifest.json lists the cases with resize_to and crop.
Inputs are seeded noise (the hardest case for a resampler: every tap matters) and a smooth scene with
hard edges. Grey and RGBA inputs check the RGB conversion (PIL drops alpha, it does not composite).

Run: /usr/bin/python3 scripts/make_image_fixtures.py   (PIL 9.4, numpy)
"""
import json
import os

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "IlgpuVit.Tests", "Fixtures",
                   "pil_resize")


def noise(rng, height, width, channels):
    shape = (height, width) if channels == 1 else (height, width, channels)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def scene(height, width):
    """A smooth colour field with a disc and a bar: gradients and hard edges at non-integer positions."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / width * 5.1) * np.cos(y / height * 3.3)
    g = 40 + 180 * (x + y) / (width + height)
    b = 128 + 90 * np.cos((x - 0.3 * y) / 23.0)
    img = np.stack([r, g, b], axis=-1)
    disc = (x - width * 0.41) ** 2 + (y - height * 0.57) ** 2 < (min(width, height) * 0.23) ** 2
    img[disc] = [250, 20, 60]
    bar = (np.abs(x - width * 0.7) < 3.5) & (y > height * 0.1)
    img[bar] = [10, 10, 10]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def timm_eval(image, resize_to, crop):
    """Resize(resize_to, BICUBIC) + CenterCrop(crop) as torchvision 0.14 does them on a PIL image."""
    image = image.convert("RGB")
    w, h = image.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = resize_to, int(resize_to * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    if (new_w, new_h) != (w, h):
        image = image.resize((new_w, new_h), Image.BICUBIC)
    top = int(round((new_h - crop) / 2.0))
    left = int(round((new_w - crop) / 2.0))
    return image.crop((left, top, left + crop, top + crop))


def main():
    rng = np.random.default_rng(20261127)
    os.makedirs(OUT, exist_ok=True)
    # (name, pixels, PIL mode, file format, resize_to, crop)
    cases = [
        ("noise_97x61", noise(rng, 61, 97, 3), "RGB", "png", 40, 33),       # shrink 1.53x, odd sizes
        ("noise_61x173", noise(rng, 173, 61, 3), "RGB", "png", 97, 89),     # enlarge 1.59x, tall
        ("grey_45x45", noise(rng, 45, 45, 1), "L", "png", 31, 31),          # grey -> RGB, square
        ("rgba_50x70", noise(rng, 70, 50, 4), "RGBA", "png", 33, 33),       # alpha dropped
        ("noise_7x5", noise(rng, 5, 7, 3), "RGB", "png", 1, 1),             # down to one pixel
        ("scene_300x200", scene(200, 300), "RGB", "png", 248, 224),         # timm's sizes, enlarge
        ("scene_517x389", scene(389, 517), "RGB", "png", 248, 224),         # timm's sizes, shrink
        ("scene_517x389_q90", scene(389, 517), "RGB", "jpg", 248, 224),     # same, through JPEG
    ]
    manifest = []
    for name, pixels, mode, fmt, resize_to, crop in cases:
        source = os.path.join(OUT, f"{name}.{fmt}")
        image = Image.fromarray(pixels, mode)
        if fmt == "jpg":
            image.save(source, quality=90)
        else:
            image.save(source, optimize=True)
        expected = timm_eval(Image.open(source), resize_to, crop)
        expected.save(os.path.join(OUT, f"{name}.expected.png"), optimize=True)
        manifest.append({"input": f"{name}.{fmt}", "expected": f"{name}.expected.png",
                         "resize_to": resize_to, "crop": crop})
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

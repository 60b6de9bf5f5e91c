"""Training throughput of the chosen recipe (bf16 autocast + channels_last) against plain fp32, same run.

Prints images/s of ResNet-18 training steps (forward + backward + AdamW) at 128 px, batch 32, for
1 and 2 torch threads, and the ratio chosen/fp32; plus the data pipeline rate (augment + to_model_input
of one stored 256-px pattern). The machine's 2 cores are shared with teammates: numbers are noisy.
Usage: .venv/bin/python bench/bench_train.py [--steps N] [--size PX]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch

from sadpnet.model.registry import build_model


def steps_per_s(threads: int, recipe: str, size: int, batch: int, steps: int) -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_model("resnet18", 5)
    x = torch.rand(batch, 1, size, size)
    y = torch.randint(0, 5, (batch,))
    if recipe == "bf16+channels_last":
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
        ctx = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    else:
        ctx = contextlib.nullcontext
    opt = torch.optim.AdamW(net.parameters(), 1e-3)
    net.train()

    def step():
        with ctx():
            loss = torch.nn.functional.cross_entropy(net(x).float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t)


def pipeline_rate(n: int = 100) -> float:
    from sadpnet.model.augment import augment
    from sadpnet.model.preprocess import to_model_input

    rng = np.random.default_rng(0)
    img = np.zeros((256, 256), np.uint8)
    img[rng.integers(0, 256, 200), rng.integers(0, 256, 200)] = 200
    t = time.perf_counter()
    for _ in range(n):
        a, cal, c, m = augment(img, 0.0133, rng)
        to_model_input(a, cal, centre_xy=c, mask=m, size_px=128)
    return n / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(1)
    print(f"data pipeline (augment + to_model_input, 256 -> {a.size} px, 1 thread): {pipeline_rate():.0f} patterns/s")
    for threads in (1, 2):
        fp32 = steps_per_s(threads, "fp32", a.size, a.batch, a.steps)
        chosen = steps_per_s(threads, "bf16+channels_last", a.size, a.batch, a.steps)
        print(f"threads={threads}: fp32 {fp32:.1f} img/s | bf16+channels_last {chosen:.1f} img/s | "
              f"ratio {chosen / fp32:.2f}x")


if __name__ == "__main__":
    main()

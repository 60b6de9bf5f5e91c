"""CPU thread settings for torch, chosen deliberately (the machine's cores are shared).

``SADPNET_TORCH_THREADS`` overrides the number of intra-op threads; by default inference uses 1 thread
(one 128-px image is too small to gain from more, and a busy second core slows 2-thread runs several-fold)
and training uses what the caller passes (see bench/bench_train.py for the measurement).
"""

from __future__ import annotations

import contextlib
import os


def chosen_threads(default: int = 1) -> int:
    v = os.environ.get("SADPNET_TORCH_THREADS")
    try:
        return max(1, int(v)) if v else default
    except ValueError:
        return default


@contextlib.contextmanager
def inference_threads(n: int | None = None):
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n or chosen_threads(1))
    try:
        yield
    finally:
        torch.set_num_threads(old)

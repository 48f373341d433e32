"""Seeds, deterministic kernels, and the random states that checkpoints carry.

Every rank seeds Python's ``random``, numpy's global generator and torch from ``(seed, rank)``,
so rank 0 of a distributed run starts exactly like a single process with the same seed (same
initial weights). The data pipeline does not depend on these global states: the sampler and
each sample's augmentation are seeded from (seed, epoch, index) by skel-data.
"""

from __future__ import annotations

import os
import random
from typing import Any

import numpy as np
import torch


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed ``random``, numpy and torch (CPU and CUDA) of this process from (seed, rank)."""
    first, second = np.random.SeedSequence([seed, rank]).generate_state(2)
    random.seed(int(first))
    np.random.seed(int(first))
    torch.manual_seed(int(first) << 32 | int(second))


def make_deterministic() -> None:
    """Use deterministic algorithms only (an op without one raises), as ``--deterministic``.

    Settings are process-wide; cuBLAS needs its workspace configured before CUDA starts.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def capture_rng(device: torch.device) -> dict[str, Any]:
    """This process's random states (torch CPU, CUDA of ``device``, numpy, Python)."""
    state = {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Put back the random states :func:`capture_rng` took."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)

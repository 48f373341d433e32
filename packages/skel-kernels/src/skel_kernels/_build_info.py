"""What the op library was built with, and which backends can run here."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import torch


def build_info(library: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The build configuration of ``library`` plus the runtime facts that decide what runs."""
    return {
        **config,
        "cuda_archs": list(config["cuda_archs"]),
        "library": str(library),
        "torch_runtime_version": torch.__version__,
        "torch_matches": config["torch_version"] == torch.__version__,
        "num_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
    }


def available_backends(config: dict[str, Any]) -> dict[str, bool]:
    """Which implementations of the ops can run in this process.

    ``reference`` (plain PyTorch) and ``cpu`` (the C++ kernels) always can; ``cuda`` needs
    kernels built with CUDA and a visible GPU; ``triton`` needs triton and either a GPU or
    ``TRITON_INTERPRET=1`` (triton's CPU interpreter, which must be set before kernels are
    defined).
    """
    gpu = torch.cuda.is_available()
    triton_can_run = gpu or os.environ.get("TRITON_INTERPRET") == "1"
    return {
        "reference": True,
        "cpu": True,
        "cuda": config["cuda_built"] and gpu,
        "triton": triton_can_run and importlib.util.find_spec("triton") is not None,
    }

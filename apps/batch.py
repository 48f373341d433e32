"""What the model reads from a collated batch, shared by training, evaluation and benchmarks.

A pipeline's ``Collect`` keeps the model input under ``keypoint`` (GCN models: (B, num_clips,
M, T, V, C)) or ``imgs`` (3D-CNN models: (B, num_clips, C, T, H, W)), and the class under
``label``.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from skel_core.errors import ConfigError

INPUT_KEYS = ("keypoint", "imgs")


def model_input(batch: Mapping, device: torch.device | str = "cpu") -> torch.Tensor:
    """The input tensor of ``batch`` on ``device``, clips dimension kept: (B, num_clips, ...)."""
    for key in INPUT_KEYS:
        if key in batch:
            value = batch[key]
            if not isinstance(value, torch.Tensor):
                raise ConfigError(
                    f"batch['{key}'] is a {type(value).__name__}, not a tensor: end the "
                    f"pipeline with ToTensor(keys=['{key}'])"
                )
            return value.to(device, non_blocking=True)
    raise ConfigError(
        f"the batch holds none of the model input keys {list(INPUT_KEYS)} (it has "
        f"{sorted(batch)}); the pipeline's Collect must keep one of them"
    )


def batch_labels(batch: Mapping, device: torch.device | str = "cpu") -> torch.Tensor:
    """The class labels of ``batch`` as a 1-D int64 tensor on ``device``."""
    if "label" not in batch:
        raise ConfigError(
            f"the batch has no 'label' (it has {sorted(batch)}); add 'label' to Collect's keys"
        )
    return torch.as_tensor(batch["label"]).reshape(-1).to(device, torch.int64, non_blocking=True)

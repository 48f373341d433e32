"""Build the objects of a run (datasets, loaders, model, optimiser, schedule) from a config.

This is the edge where PYSKL-style ``dict(type=...)`` configs meet skel's plain classes; the
libraries themselves take ordinary arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch.utils.data import DataLoader

from skel_core.errors import ConfigError
from skel_data.registry import DATASETS
from skel_models.registry import build_model

__all__ = ["build_dataset", "build_loader", "build_model", "build_optimizer", "build_lr_lambda"]


def build_dataset(cfg: Mapping, seed: int = 0):
    """A dataset from ``data.train``/``data.val``/``data.test``; the run's seed reaches the
    innermost dataset unless the config sets one (``RepeatDataset`` wraps another dataset)."""
    if cfg.get("type") == "RepeatDataset":
        return DATASETS.build({**cfg, "dataset": {"seed": seed, **cfg["dataset"]}})
    return DATASETS.build({"seed": seed, **cfg})


def build_loader(dataset, data_cfg: Mapping, *, train: bool, seed: int = 0) -> DataLoader:
    """A DataLoader with PYSKL's ``videos_per_gpu``/``workers_per_gpu`` settings."""
    batch = data_cfg.get("videos_per_gpu", 16)
    workers = data_cfg.get("workers_per_gpu", 2)
    if not train:
        override = data_cfg.get("test_dataloader", {})
        batch = override.get("videos_per_gpu", batch)
        workers = override.get("workers_per_gpu", workers)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch,
        shuffle=train,
        num_workers=workers,
        drop_last=False,
        generator=generator,
        persistent_workers=False,
    )


def build_optimizer(model: torch.nn.Module, cfg: Mapping) -> torch.optim.Optimizer:
    """SGD or AdamW from ``optimizer=dict(type=..., lr=..., ...)``."""
    cfg = dict(cfg)
    kind = cfg.pop("type", None)
    params = [p for p in model.parameters() if p.requires_grad]
    if kind == "SGD":
        return torch.optim.SGD(params, **cfg)
    if kind == "AdamW":
        return torch.optim.AdamW(params, **cfg)
    raise ConfigError(f"optimizer.type must be 'SGD' or 'AdamW', got {kind!r}")


def build_lr_lambda(cfg: Mapping, total_iters: int, base_lr: float):
    """Per-iteration multiplier of the base learning rate for ``lr_config``.

    ``policy='CosineAnnealing'`` (with ``min_lr``) or ``'step'`` (with ``step`` in iterations
    when ``by_epoch=False``, else epochs; ``gamma`` default 0.1).
    """
    policy = cfg.get("policy", "CosineAnnealing")
    if policy == "CosineAnnealing":
        floor = cfg.get("min_lr", 0.0) / base_lr

        def cosine(it: int) -> float:
            return floor + (1 - floor) * 0.5 * (
                1 + math.cos(math.pi * min(it, total_iters) / total_iters)
            )

        return cosine
    raise ConfigError(f"lr_config.policy {policy!r} is not supported yet; use 'CosineAnnealing'")

"""Build the objects every command needs (datasets, loaders, models) from a config.

This is the edge where PYSKL-style ``dict(type=...)`` configs meet skel's plain classes; the
libraries themselves take ordinary arguments. Training-only objects (optimiser, schedule) are
built in :mod:`skel_apps.train`.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch.utils.data import DataLoader, Dataset

from skel_data.loader import build_dataloader
from skel_data.registry import DATASETS
from skel_models.registry import build_model

from .config_keys import check_keys

__all__ = ["LOADER_KEYS", "build_dataset", "build_loader", "build_model"]

# Keys of data.train_dataloader / val_dataloader / test_dataloader, which override the settings
# at data's top level (videos_per_gpu, workers_per_gpu) for one split.
LOADER_KEYS = (
    "videos_per_gpu",
    "workers_per_gpu",
    "drop_last",
    "persistent_workers",
    "class_balanced",
)


def build_dataset(cfg: Mapping, seed: int = 0) -> Dataset:
    """A dataset from ``data.train``/``data.val``/``data.test``; the run's seed reaches the
    innermost dataset unless the config sets one (``RepeatDataset`` wraps another dataset)."""
    if cfg.get("type") == "RepeatDataset":
        return DATASETS.build({**cfg, "dataset": {"seed": seed, **cfg["dataset"]}})
    return DATASETS.build({"seed": seed, **cfg})


def build_loader(dataset: Dataset, data_cfg: Mapping, split: str, seed: int = 0) -> DataLoader:
    """The DataLoader of ``split`` ('train', 'val' or 'test') with PYSKL's settings.

    ``videos_per_gpu`` is the batch of one process (a run on N processes has a global batch N
    times larger) and ``workers_per_gpu`` its number of workers; ``data.<split>_dataloader``
    overrides them for one split, and may also set ``drop_last``, ``persistent_workers`` and
    ``class_balanced``. Only the training loader shuffles. Under torch.distributed each rank
    reads its own shard (:func:`skel_data.loader.build_dataloader`).
    """
    override = dict(data_cfg.get(f"{split}_dataloader") or {})
    check_keys(override, LOADER_KEYS, f"data.{split}_dataloader")
    settings = {
        "videos_per_gpu": data_cfg.get("videos_per_gpu", 16),
        "workers_per_gpu": data_cfg.get("workers_per_gpu", 2),
        **override,
    }
    return build_dataloader(
        dataset,
        batch_size=settings["videos_per_gpu"],
        shuffle=split == "train",
        num_workers=settings["workers_per_gpu"],
        seed=seed,
        drop_last=settings.get("drop_last", False),
        persistent_workers=settings.get("persistent_workers", False),
        class_balanced=settings.get("class_balanced", False),
    )

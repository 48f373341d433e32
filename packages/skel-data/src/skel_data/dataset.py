"""Datasets of skeleton clips: one record per clip, run through a transform pipeline.

The record for index ``i`` is copied (shallowly; transforms never modify arrays) and given a
``numpy.random.Generator`` seeded by ``(seed, epoch, i)``, so what a sample looks like depends
only on the seed, the epoch and the index: not on the number of DataLoader workers, which
worker draws it, or the process's global random state. An index past the end wraps around to
the records again with its own random draws; that is how :class:`RepeatDataset` repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
from torch.utils.data import Dataset

from skel_core.annotations import load_annotations, validate_annotations

from .synthetic import ACTIONS, SyntheticConfig, generate_annotations
from .transforms import Compose


class PoseDataset(Dataset):
    """Clips of a PYSKL/MMAction2 pose annotation file (``ann_file``), or the given records.

    ``split`` selects the clips listed under that name in the file's ``split`` dict.
    """

    def __init__(
        self,
        ann_file: str | None = None,
        pipeline: Iterable[Callable | Mapping] = (),
        split: str | None = None,
        *,
        records: list[dict] | None = None,
        class_names: list[str] | None = None,
        test_mode: bool = False,
        seed: int = 0,
    ):
        if (ann_file is None) == (records is None):
            raise ValueError("PoseDataset needs exactly one of ann_file= and records=")
        if records is None:
            ann = load_annotations(ann_file)
            records = ann.select(split) if split is not None else ann.annotations
        if not records:
            where = ann_file or "the given records"
            raise ValueError(f"PoseDataset: split {split!r} of {where} holds no clips")
        self.records = records
        self.pipeline = Compose(pipeline)
        self.class_names = class_names
        self.test_mode = test_mode
        self.seed = seed
        self.epoch = 0

    @property
    def labels(self) -> np.ndarray:
        return np.array([r["label"] for r in self.records], dtype=np.int64)

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.class_names else int(self.labels.max()) + 1

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of the training transforms for a new epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict:
        if index < 0:
            raise IndexError(f"{type(self).__name__}: negative index {index}")
        results = dict(self.records[index % len(self.records)])
        results["rng"] = np.random.default_rng((self.seed, self.epoch, index))
        results["test_mode"] = self.test_mode
        return self.pipeline(results)


class RepeatDataset(Dataset):
    """``times`` passes over ``dataset`` per epoch (PYSKL's ``RepeatDataset``).

    Each repetition of a clip gets its own random draws (its index in the repeated dataset seeds
    them), so five repetitions are five different augmentations, as in PYSKL.
    """

    def __init__(self, dataset: PoseDataset, times: int):
        if times < 1:
            raise ValueError(f"RepeatDataset: times must be >= 1, got {times}")
        self.dataset = dataset
        self.times = times

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)

    def __len__(self) -> int:
        return self.times * len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(f"RepeatDataset: index {index} out of range [0, {len(self)})")
        return self.dataset[index]


class SyntheticPoseDataset(PoseDataset):
    """The built-in procedural dataset (:mod:`skel_data.synthetic`), split ``'train'``/``'test'``.

    Needs no files: the clips are generated from ``data_seed`` when the dataset is built.
    """

    def __init__(
        self,
        pipeline: Iterable[Callable | Mapping] = (),
        split: str = "train",
        *,
        num_samples: int = 800,
        data_seed: int = 0,
        test_mode: bool = False,
        seed: int = 0,
    ):
        ann = generate_annotations(SyntheticConfig(num_clips=num_samples, seed=data_seed))
        if split not in ann["split"]:
            raise ValueError(f"SyntheticPoseDataset: split must be one of {sorted(ann['split'])}")
        validate_annotations(
            ann["annotations"], layout=17, num_classes=len(ACTIONS), source="synthetic"
        )
        wanted = set(ann["split"][split])
        records = [r for r in ann["annotations"] if r["frame_dir"] in wanted]
        super().__init__(
            records=records,
            pipeline=pipeline,
            class_names=list(ACTIONS),
            test_mode=test_mode,
            seed=seed,
        )

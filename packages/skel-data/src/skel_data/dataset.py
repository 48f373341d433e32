"""Datasets of skeleton clips: one record per clip, run through a transform pipeline.

The record for index ``i`` is copied (shallowly; transforms never modify arrays) and given a
``numpy.random.Generator`` seeded by ``(seed, epoch, i)``, so what a sample looks like depends
only on the seed, the epoch and the index: not on the number of DataLoader workers, which
worker draws it, or the process's global random state. An index past the end wraps around to
the records again with its own random draws; that is how :class:`RepeatDataset` repeats.

The epoch lives in a one-element shared-memory tensor, so :meth:`PoseDataset.set_epoch` in the
main process reaches DataLoader workers that already exist (``persistent_workers=True``) as
well as new ones. Call it before iterating the epoch; :class:`skel_data.loader.EpochSampler`'s
``set_epoch`` does so for its dataset.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from skel_core.annotations import load_annotations
from skel_core.errors import AnnotationError, ConfigError
from skel_core.layouts import get_layout

from .packed import PackedAnnotations
from .records import MISSING, RecordList
from .synthetic import ACTIONS, SyntheticConfig, generate_annotations
from .transforms import Compose

logger = logging.getLogger(__name__)

MEMMAP_MIN_BYTES = 128 * 2**20
"""Annotation files at least this large are packed and memory-mapped unless ``memmap=False``."""

BOX_THRESHOLDS = ("0.5", "0.6", "0.7", "0.8", "0.9")


def read_class_names(path: str | os.PathLike) -> list[str]:
    """Class names from a label-map file, one per line in label order (PYSKL's label_map txt)."""
    lines = Path(path).read_text().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    if not names or not all(names):
        raise AnnotationError(f"label map {path}: expected one non-empty class name per line",
                              os.fspath(path))
    return names


class PoseDataset(Dataset):
    """Clips of a PYSKL/MMAction2 pose annotation file (``ann_file``), or the given records.

    Args:
        ann_file: the annotation pickle (read with the safe loader).
        pipeline: transforms, as callables or PYSKL ``dict(type=...)`` configs.
        split: keep the clips listed under this name in the file's ``split`` dict (in file
            order, as PYSKL does).
        records: annotation records to use instead of a file.
        class_names: the class names in label order, or a label-map file with one per line.
        num_classes: labels must lie in ``[0, num_classes)`` (default: ``len(class_names)``
            when given; otherwise only negative labels are refused).
        layout: a layout name or joint count; a file whose clips have another V is refused.
        test_mode: put into every sample as ``results['test_mode']``.
        seed: with the epoch and the index, seeds each sample's ``results['rng']``.
        valid_ratio, box_thr: PYSKL's filter for Kinetics-style files: keep a clip if
            ``valid / total_frames >= valid_ratio``, where ``valid`` is the record's
            ``valid_frames`` (no ``box_thr``), its ``valid@<box_thr>`` key (PYSKL) or its
            ``valid[box_thr]`` (MMAction2). With ``box_thr`` above '0.5' each sample also gets
            ``anno_inds``, the indices of its boxes scoring at least ``box_thr``. The number
            of clips removed is ``num_filtered`` (and logged).
        class_prob: per-class sampling multipliers (a list by label or a dict), used by
            :func:`skel_data.loader.build_dataloader`, as in PYSKL.
        data_prefix: joined in front of each sample's ``frame_dir`` (PYSKL's ``data_prefix``).
        invalid: ``'raise'`` (default) refuses a file with any bad clip, listing every problem;
            ``'skip'`` drops the bad clips, warns how many and why, and keeps them in
            ``skipped``. Bad clips: those the annotation validator refuses (missing keys, wrong
            ranks, NaN/inf, T = 0, negative labels), labels outside ``num_classes``, (V, C)
            differing from the file's first clip, empty clips (no score above 0, or 3D
            coordinates all 0), duplicated ``frame_dir`` and split entries without a record.
            One-frame clips and persons missing in some frames are valid.
        memmap: read the clips from a memory-mapped pack of ``ann_file``
            (:mod:`skel_data.packed`) instead of holding them in memory; default: when the
            file is at least :data:`MEMMAP_MIN_BYTES`.
        cache_dir: where packs go (default: beside ``ann_file``).
    """

    def __init__(
        self,
        ann_file: str | os.PathLike | None = None,
        pipeline: Iterable[Callable | Mapping] = (),
        split: str | None = None,
        *,
        records: list[dict] | None = None,
        class_names: Sequence[str] | str | os.PathLike | None = None,
        num_classes: int | None = None,
        layout: Any = None,
        test_mode: bool = False,
        seed: int = 0,
        valid_ratio: float | None = None,
        box_thr: str | float | None = None,
        class_prob: Sequence[float] | Mapping[int, float] | None = None,
        data_prefix: str = "",
        invalid: str = "raise",
        memmap: bool | None = None,
        cache_dir: str | os.PathLike | None = None,
    ):
        if (ann_file is None) == (records is None):
            raise ConfigError("PoseDataset needs exactly one of ann_file= and records=")
        if invalid not in ("raise", "skip"):
            raise ConfigError(f"PoseDataset: invalid must be 'raise' or 'skip', got {invalid!r}")
        self.box_thr = _check_box_thr(box_thr)
        if valid_ratio is not None and not (isinstance(valid_ratio, (int, float))
                                            and 0 <= valid_ratio <= 1):
            raise ConfigError(f"PoseDataset: valid_ratio must be a fraction in [0, 1], "
                              f"got {valid_ratio!r}")
        self.valid_ratio = valid_ratio
        if records is not None:
            if split is not None:
                raise ConfigError("PoseDataset: split= selects from an ann_file; pass only the "
                                  "wanted records= instead")
            self.store = RecordList(records)
        else:
            size = os.path.getsize(ann_file)
            if memmap if memmap is not None else size >= MEMMAP_MIN_BYTES:
                self.store = PackedAnnotations.from_file(ann_file, cache_dir)
            else:
                content = load_annotations(ann_file, validate=False)
                self.store = RecordList(content.annotations, content.split, content.source)
        if isinstance(class_names, (str, os.PathLike)):
            class_names = read_class_names(class_names)
        self.class_names = list(class_names) if class_names is not None else None
        self._num_classes = num_classes if num_classes is not None else (
            len(self.class_names) if self.class_names is not None else None)
        self.layout = get_layout(layout) if isinstance(layout, str) else layout
        self.split = split
        self.pipeline = Compose(pipeline)
        self.test_mode = test_mode
        self.seed = seed
        self.class_prob = class_prob
        self.data_prefix = data_prefix
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

        self._check_layout()
        selected, problems = self._select(split)
        self.skipped: dict[str, list[str]] = {}
        if problems:
            self._handle_problems(selected, problems, invalid)
            selected = [i for i in selected if i not in problems]
        selected, self.num_filtered = self._filter_valid(selected)
        if not selected:
            what = f"split {split!r} of " if split is not None else ""
            after = " after skipping the bad clips" if self.skipped else ""
            after += " after valid_ratio filtering" if self.num_filtered else ""
            raise AnnotationError(f"{what}{self.store.source} holds no clips{after}",
                                  self.store.source)
        self.indices = np.asarray(selected, dtype=np.int64)

    def _select(self, split: str | None) -> tuple[list[int], dict[int, list[str]]]:
        """Indices of the split's records (file order) and the problems of those records.

        Problems of a split entry without a record are keyed by -1 - (its position)."""
        names = [str(name) for name in self.store.frame_dirs]
        if split is None:
            selected = list(range(len(names)))
            problems: dict[int, list[str]] = {}
        else:
            table = self.store.split
            if not table:
                raise AnnotationError(f"split {split!r} requested but the file has no split",
                                      self.store.source)
            if split not in table:
                raise AnnotationError(f"no split {split!r}; available splits: "
                                      f"{', '.join(map(repr, table))}", self.store.source)
            members = set(table[split])
            selected = [i for i, name in enumerate(names) if name in members]
            missing = sorted(members - set(names))
            problems = {-1 - k: [f"split {split!r}: frame_dir {name!r} has no annotation"]
                        for k, name in enumerate(missing)}
        stored = self.store.problems
        for i in selected:
            if i in stored:
                problems[i] = list(stored[i])
        labels = self.store.labels
        seen: dict[str, int] = {}
        for i in selected:
            if self._num_classes is not None and labels[i] >= self._num_classes:
                problems.setdefault(i, []).append(
                    f"frame_dir {names[i]!r}: key 'label': label {labels[i]} out of range for "
                    f"num_classes={self._num_classes} (valid: 0..{self._num_classes - 1})")
            if names[i] in seen:
                problems.setdefault(i, []).append(
                    f"frame_dir {names[i]!r}: key 'frame_dir': duplicated, at annotation "
                    f"indices {[seen[names[i]], i]}")
            seen.setdefault(names[i], i)
        return selected, problems

    def _check_layout(self) -> None:
        if self.layout is None or self.store.joint_shape is None:
            return
        expected = self.layout if isinstance(self.layout, int) else self.layout.num_joints
        if self.store.joint_shape[0] != expected:
            raise AnnotationError(f"clips have V = {self.store.joint_shape[0]} joints but the "
                                  f"layout {self.layout!r} has {expected}", self.store.source)

    def _handle_problems(self, selected: list[int], problems: dict[int, list[str]],
                         invalid: str) -> None:
        ordered = sorted(problems, key=lambda i: (i < 0, abs(i)))
        lines = [line for i in ordered for line in problems[i]]
        if invalid == "raise":
            lines.append("(PoseDataset(invalid='skip') drops these clips instead)")
            raise AnnotationError(lines, self.store.source)
        names = self.store.frame_dirs
        self.skipped = {str(names[i]) if i >= 0 else f"split entry #{-1 - i}": problems[i]
                        for i in ordered}
        shown = "\n".join(f"  - {line}" for line in lines[:10])
        more = f"\n  ... and {len(lines) - 10} more" if len(lines) > 10 else ""
        warnings.warn(f"PoseDataset: skipped {len(problems)} bad clip(s) of {len(selected)} in "
                      f"{self.store.source} (see .skipped):\n{shown}{more}", stacklevel=3)

    def _filter_valid(self, selected: list[int]) -> tuple[list[int], int]:
        """PYSKL's ``valid_ratio`` thresholding; returns the kept indices and how many went."""
        if self.valid_ratio is None:
            return selected, 0
        if self.box_thr is None:
            rows = self.store.values(("total_frames", "valid_frames"), selected)
            totals, counts = zip(*rows, strict=True) if rows else ((), ())
        else:
            rows = self.store.values(("total_frames", "valid", f"valid@{self.box_thr}"),
                                     selected)
            totals = [total for total, _, _ in rows]
            counts = [valid.get(float(self.box_thr), MISSING) if isinstance(valid, dict)
                      else keyed for _, valid, keyed in rows]
        lacking = [str(self.store.frame_dirs[i]) for i, n in zip(selected, counts, strict=True)
                   if n is MISSING]
        if lacking:
            key = "valid_frames" if self.box_thr is None \
                else f"valid@{self.box_thr} (or valid[{self.box_thr}])"
            raise AnnotationError([f"frame_dir {name!r}: key {key!r}: missing, needed by "
                                   f"valid_ratio={self.valid_ratio}" for name in lacking],
                                  self.store.source)
        kept = [i for i, n, t in zip(selected, counts, totals, strict=True)
                if n / t >= self.valid_ratio]
        logger.info("%s: %d of %d clips remain after valid_ratio=%s thresholding",
                    self.store.source, len(kept), len(selected), self.valid_ratio)
        return kept, len(selected) - len(kept)

    @property
    def labels(self) -> np.ndarray:
        """The label of every clip, in dataset order (int64)."""
        return np.asarray(self.store.labels[self.indices], dtype=np.int64)

    @property
    def frame_dirs(self) -> list[str]:
        """The ``frame_dir`` of every clip, in dataset order."""
        names = self.store.frame_dirs
        return [str(names[i]) for i in self.indices]

    @property
    def num_classes(self) -> int:
        if self._num_classes is not None:
            return self._num_classes
        return int(self.labels.max()) + 1

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Change the random draws of the training transforms for a new epoch (reaches
        existing DataLoader workers too)."""
        self._epoch.fill_(epoch)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> dict:
        if index < 0:
            raise IndexError(f"{type(self).__name__}: negative index {index}")
        results = self.store.record(int(self.indices[index % len(self.indices)]))
        if self.box_thr not in (None, "0.5") and self.valid_ratio is not None:
            if "box_score" not in results:
                raise AnnotationError(f"frame_dir {results.get('frame_dir')!r}: key "
                                      f"'box_score': missing, needed by box_thr={self.box_thr}",
                                      self.store.source)
            results["anno_inds"] = np.flatnonzero(results["box_score"] >= float(self.box_thr))
        if self.data_prefix:
            results["frame_dir"] = os.path.join(self.data_prefix, results["frame_dir"])
        results["rng"] = np.random.default_rng((self.seed, self.epoch, index))
        results["test_mode"] = self.test_mode
        results["start_index"] = 0
        results["modality"] = "Pose"
        return self.pipeline(results)


def _check_box_thr(box_thr: str | float | None) -> str | None:
    """``box_thr`` as PYSKL's string ('0.5' ... '0.9'); floats (MMAction2) are accepted."""
    if box_thr is None:
        return None
    text = str(box_thr) if isinstance(box_thr, float) else box_thr
    if text not in BOX_THRESHOLDS:
        raise ConfigError(f"PoseDataset: box_thr must be one of {BOX_THRESHOLDS}, "
                          f"got {box_thr!r}")
    return text


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

    @property
    def labels(self) -> np.ndarray:
        return np.tile(self.dataset.labels, self.times)

    @property
    def class_prob(self) -> Sequence[float] | Mapping[int, float] | None:
        return getattr(self.dataset, "class_prob", None)

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

    Needs no files: the clips are generated from ``data_seed`` when the dataset is built, as
    COCO-17 2D keypoints (``layout='coco'``) or NTU RGB+D 3D joints (``layout='nturgb+d'``).
    """

    def __init__(
        self,
        pipeline: Iterable[Callable | Mapping] = (),
        split: str = "train",
        *,
        num_samples: int = 800,
        data_seed: int = 0,
        layout: str = "coco",
        test_mode: bool = False,
        seed: int = 0,
    ):
        config = SyntheticConfig(num_clips=num_samples, seed=data_seed, layout=layout)
        ann = generate_annotations(config)
        if split not in ann["split"]:
            raise ValueError(f"SyntheticPoseDataset: split must be one of {sorted(ann['split'])}")
        wanted = set(ann["split"][split])
        records = [r for r in ann["annotations"] if r["frame_dir"] in wanted]
        super().__init__(
            records=records,
            pipeline=pipeline,
            class_names=list(ACTIONS),
            layout=config.layout,
            test_mode=test_mode,
            seed=seed,
        )

"""Annotation records held in memory, and the per-record checks every record store shares.

A record store is what :class:`~skel_data.dataset.PoseDataset` reads clips from. Two kinds
exist: :class:`RecordList` here (the records of a pickle, in memory) and
:class:`~skel_data.packed.PackedAnnotations` (the same records in memory-mapped arrays). Both
offer ``source``, ``split``, ``frame_dirs``, ``labels``, ``problems``, ``joint_shape``,
``len()``, ``record(i)`` and ``values(keys, indices)``.

``problems`` maps a record's index to what is wrong with it, each line naming the sample and
the key. The checks are skel_core's :func:`~skel_core.annotations.validate_annotations` (types,
ranks, NaN/inf, empty clips, negative labels...) plus two a file-wide check needs: every
clip's (V, C) must equal the first clip's, and a clip must show someone: a 2D clip whose scores
are all 0, or a 3D clip whose coordinates are all 0, is reported as empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skel_core.annotations import Split, validate_annotations
from skel_core.errors import AnnotationError


def record_name(index: int, record: Any) -> str:
    """How problems name a record, as the validator does: ``frame_dir 'x'`` or ``annotation #i``."""
    frame_dir = record.get("frame_dir") if isinstance(record, dict) else None
    return f"frame_dir {frame_dir!r}" if isinstance(frame_dir, str) else f"annotation #{index}"


def keypoint_shape(record: Any) -> tuple[int, int, int, int] | None:
    """(M, T, V, C) of a record's keypoint array; None if it has no usable numeric 4-D one."""
    kp = record.get("keypoint") if isinstance(record, dict) else None
    if isinstance(kp, np.ndarray) and kp.ndim == 4 and kp.dtype.kind in "iuf":
        return tuple(int(n) for n in kp.shape)
    return None


def usable_score(record: dict, shape: tuple[int, ...]) -> bool:
    """Whether the record has a numeric ``keypoint_score`` of shape (M, T, V)."""
    score = record.get("keypoint_score")
    return isinstance(score, np.ndarray) and score.dtype.kind in "iuf" \
        and score.shape == shape[:3]


def _validator_problems(index: int, record: Any) -> list[str]:
    try:
        validate_annotations([record])
    except AnnotationError as error:
        # The validator saw a one-record list: put the record's real index back in its name.
        return [line.replace("annotation #0", f"annotation #{index}", 1)
                for line in error.problems]
    return []


def check_records(records: Sequence[Any]) -> tuple[dict[int, list[str]], tuple[int, int] | None]:
    """The problems of each record (by index) and the file's (V, C), taken from its first clip
    with a usable keypoint array (None when no clip has one)."""
    problems: dict[int, list[str]] = {}
    joint_shape = None
    for index, record in enumerate(records):
        lines = _validator_problems(index, record)
        shape = keypoint_shape(record)
        if shape is not None:
            if joint_shape is None:
                joint_shape = shape[2:]
            elif shape[2:] != joint_shape:
                lines.append(f"{record_name(index, record)}: key 'keypoint': "
                             f"(V, C) = {shape[2:]} but the file's first clip has {joint_shape}")
            if not lines and _is_empty(record):
                what = "scores are" if "keypoint_score" in record else "coordinates are"
                lines.append(f"{record_name(index, record)}: key 'keypoint': empty "
                             f"clip, all keypoint {what} 0 (no person in any frame)")
        if lines:
            problems[index] = lines
    return problems, joint_shape


def _is_empty(record: dict) -> bool:
    if "keypoint_score" in record:
        return not np.any(record["keypoint_score"] > 0)
    return not np.any(record["keypoint"])


def _label_or_missing(record: Any) -> int:
    label = record.get("label") if isinstance(record, dict) else None
    valid = isinstance(label, (int, np.integer)) and not isinstance(label, bool)
    return int(label) if valid else -1


class RecordList:
    """The records of an annotation file (or a converter's output) held in memory."""

    def __init__(self, records: list, split: Split | None = None, source: str = "<memory>"):
        if not isinstance(records, list):
            raise AnnotationError(f"annotations must be a list of dicts, got "
                                  f"{type(records).__name__}", source)
        self.records = records
        self.split = split
        self.source = source
        self.problems, self.joint_shape = check_records(records)
        self.frame_dirs = [
            r["frame_dir"] if isinstance(r, dict) and isinstance(r.get("frame_dir"), str)
            else f"annotation #{i}"
            for i, r in enumerate(records)
        ]
        self.labels = np.array([_label_or_missing(r) for r in records], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.records)

    def record(self, index: int) -> dict:
        """A shallow copy of record ``index`` (its arrays are shared: never modify them)."""
        return dict(self.records[index])

    def values(self, keys: Sequence[str], indices: Sequence[int]) -> list[tuple]:
        """``(record[key] for key in keys)`` of each record in ``indices``; :data:`MISSING`
        where a record lacks a key."""
        return [tuple(self.records[i].get(key, MISSING) for key in keys) for i in indices]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()
"""What :meth:`RecordList.values` gives for a record that lacks the key."""

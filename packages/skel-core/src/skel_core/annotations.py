"""The PYSKL / MMAction2 pose annotation format: load, validate and save annotation files.

An annotation file is a pickle holding either ``{'split': {name: [frame_dir, ...]},
'annotations': [record, ...]}`` (PYSKL's format) or the bare list of records that custom
extraction scripts write. One record describes one clip:

==================  =============================================================
``frame_dir``       str, the clip's unique identifier
``label``           int, the class index (0-based)
``total_frames``    int, the number of frames T (> 0)
``keypoint``        array (M, T, V, C): persons, frames, joints, C = 2 (pixels) or 3 (metres)
``keypoint_score``  array (M, T, V), confidence per joint; required for 2D keypoints only
``img_shape``       (height, width) of the frames, optional; ``original_shape`` likewise
==================  =============================================================

Other keys are kept untouched. Kinetics-style kp-file records (``frame_inds``, ``box_score``,
``valid``, ``raw_file``) keep their keypoints in separate files and may omit ``keypoint``; their
``frame_inds`` are 1-based in the published files, so they are checked against
``0..total_frames``. Arrays are kept in the dtype they were stored in (float16 on disk is fine).
"""

from __future__ import annotations

import os
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

from skel_core.atomic import atomic_write
from skel_core.errors import AnnotationError, CorruptFileError, LayoutError
from skel_core.safe_pickle import safe_load, trusted_load

Record = dict[str, Any]
Split = dict[str, list[str]]

REQUIRED_KEYS = ("frame_dir", "label", "total_frames")
KPFILE_KEYS = ("raw_file", "frame_inds")
"""A record holding one of these keys may keep its keypoints outside the annotation file."""


@dataclass
class AnnotationFile:
    """The content of an annotation file: its records, its split (if any) and where it came from."""

    annotations: list[Record]
    split: Split | None = None
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.annotations)

    def select(self, split_name: str) -> list[Record]:
        """The records of split ``split_name``, in the split's order."""
        if not self.split:
            raise AnnotationError(f"split {split_name!r} requested but the file has no split",
                                  self.source)
        if split_name not in self.split:
            available = ", ".join(repr(name) for name in self.split)
            raise AnnotationError(f"no split {split_name!r}; available splits: {available}",
                                  self.source)
        by_name = {record.get("frame_dir"): record for record in self.annotations}
        members = self.split[split_name]
        missing = [name for name in members if name not in by_name]
        if missing:
            raise AnnotationError(
                [f"split {split_name!r}: frame_dir {name!r} has no annotation" for name in missing],
                self.source,
            )
        return [by_name[name] for name in members]

    @property
    def labels(self) -> np.ndarray:
        """The label of every record, in file order, as int64."""
        unlabelled = [i for i, record in enumerate(self.annotations) if "label" not in record]
        if unlabelled:
            raise AnnotationError([f"annotation #{i}: key 'label': missing" for i in unlabelled],
                                  self.source)
        return np.array([record["label"] for record in self.annotations], dtype=np.int64)

    @property
    def num_classes(self) -> int:
        """The smallest class count the labels fit in: ``max(label) + 1`` (0 when empty)."""
        labels = self.labels
        return int(labels.max()) + 1 if labels.size else 0


def load_annotations(
    path: str | os.PathLike,
    *,
    layout: Any = None,
    num_classes: int | None = None,
    split: str | None = None,
    validate: bool = True,
    allow_unsafe: bool = False,
) -> AnnotationFile:
    """Read an annotation pickle, validate it, and optionally keep one split.

    ``layout`` (a joint count, a layout name or an object with ``num_joints``) and
    ``num_classes`` tighten validation (see :func:`validate_annotations`), which covers the
    whole file. With ``split`` the result holds only that split's records, in split order.

    The pickle is read with :func:`skel_core.safe_pickle.safe_load`, which refuses anything but
    numpy arrays and builtin values. ``allow_unsafe=True`` uses plain ``pickle`` instead, which
    is DANGEROUS: the file can run any code. Only use it for files you wrote yourself.
    """
    source = os.fspath(path)
    content = trusted_load(path) if allow_unsafe else safe_load(path)
    records, file_split = _unpack(content, source)
    result = AnnotationFile(records, file_split, source)
    if validate:
        validate_annotations(records, layout=layout, num_classes=num_classes, split=file_split,
                             source=source)
    if split is not None:
        selected = result.select(split)
        result = AnnotationFile(selected, {split: list(result.split[split])}, source)
    return result


def save_annotations(
    path: str | os.PathLike,
    annotations: list[Record] | AnnotationFile,
    split: Split | None = None,
) -> None:
    """Validate ``annotations`` and write them atomically as a pickle (protocol 4).

    With a split (given, or taken from an :class:`AnnotationFile`) the file has PYSKL's
    ``{'split', 'annotations'}`` layout; without one it is the bare list of records, which is
    what PYSKL reads when its dataset has ``split=None``. Either way :func:`load_annotations`
    gives back the same records with the same dtypes. Extra keys are written as they are: keep
    them to numpy arrays and builtin values, or the safe loader will refuse the file.
    """
    if isinstance(annotations, AnnotationFile):
        split = annotations.split if split is None else split
        annotations = annotations.annotations
    validate_annotations(annotations, split=split, source=os.fspath(path))
    records = list(annotations)
    content = records if split is None else {"split": split, "annotations": records}
    with atomic_write(path) as file:
        pickle.dump(content, file, protocol=4)


def validate_annotations(
    records: list[Record],
    *,
    layout: Any = None,
    num_classes: int | None = None,
    split: Split | None = None,
    source: str | None = None,
) -> None:
    """Check every record and raise one :class:`AnnotationError` listing all problems.

    Each problem names the sample (its ``frame_dir``, or its index when it has none) and the
    key. Checked: required keys; array types, numeric dtypes and ranks; C in {2, 3};
    V equal to the layout's joint count; keypoint and keypoint_score agreeing on (M, T, V);
    T equal to ``total_frames`` and non-zero; integer labels in ``[0, num_classes)``; no NaN or
    inf; unique ``frame_dir``; every split entry annotated. Nothing is modified.
    """
    num_joints = _joint_count(layout)
    if not isinstance(records, (list, tuple)):
        raise AnnotationError(f"annotations must be a list of dicts, got {type(records).__name__}",
                              source)
    problems: list[str] = []
    indices_by_name: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        problems += _record_problems(index, record, num_joints, num_classes)
        frame_dir = record.get("frame_dir") if isinstance(record, dict) else None
        if isinstance(frame_dir, str):
            indices_by_name.setdefault(frame_dir, []).append(index)
    for name, indices in indices_by_name.items():
        if len(indices) > 1:
            problems.append(f"frame_dir {name!r}: key 'frame_dir': duplicated, at annotation "
                            f"indices {indices}")
    if split is not None:
        problems += _split_problems(split, indices_by_name)
    if problems:
        raise AnnotationError(problems, source)


def _unpack(content: Any, source: str) -> tuple[list[Record], Split | None]:
    """The records and split of a loaded pickle, or CorruptFileError if it is neither format."""
    if isinstance(content, list):
        return content, None
    if isinstance(content, dict) and "annotations" in content:
        records, split = content["annotations"], content.get("split")
        if not isinstance(records, list):
            raise CorruptFileError(f"{source}: 'annotations' must be a list of dicts, "
                                   f"got {type(records).__name__}")
        if split is not None and not isinstance(split, dict):
            raise CorruptFileError(f"{source}: 'split' must be a dict of split name -> list of "
                                   f"frame_dir, got {type(split).__name__}")
        return records, split
    found = f"a dict with keys {sorted(map(str, content))}" if isinstance(content, dict) \
        else f"a {type(content).__name__}"
    raise CorruptFileError(f"{source}: not an annotation file: expected a dict with "
                           f"'annotations' (and 'split') or a list of records, found {found}")


def _joint_count(layout: Any) -> int | None:
    if layout is None:
        return None
    if isinstance(layout, str):
        # Imported here so that loading annotations never requires the layout tables.
        from skel_core.layouts import get_layout

        layout = get_layout(layout)
    count = layout if _is_int(layout) else getattr(layout, "num_joints", None)
    if not _is_int(count) or count <= 0:
        raise LayoutError(f"layout must be a positive joint count, a layout name or an object "
                          f"with num_joints; got {layout!r}")
    return int(count)


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class _Problems:
    """Problems of one record, each prefixed with the sample's name and the key."""

    def __init__(self, who: str):
        self.who = who
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.lines.append(f"{self.who}: key {key!r}: {message}")


def _record_problems(index: int, record: Any, num_joints: int | None,
                     num_classes: int | None) -> list[str]:
    if not isinstance(record, dict):
        return [f"annotation #{index}: is a {type(record).__name__}, not a dict"]
    frame_dir = record.get("frame_dir")
    report = _Problems(f"frame_dir {frame_dir!r}" if isinstance(frame_dir, str)
                       else f"annotation #{index}")
    for key in REQUIRED_KEYS:
        if key not in record:
            report.add(key, "missing")
    if "keypoint" not in record and not any(key in record for key in KPFILE_KEYS):
        report.add("keypoint", "missing (only kp-file records, with 'raw_file' or "
                               "'frame_inds', may keep keypoints elsewhere)")
    if "frame_dir" in record and not isinstance(frame_dir, str):
        report.add("frame_dir", f"must be a str, got {type(frame_dir).__name__}")
    _check_label(report, record.get("label"), num_classes)
    total_frames = _check_total_frames(report, record.get("total_frames"))
    _check_keypoints(report, record, num_joints, total_frames)
    _check_kpfile_fields(report, record, total_frames)
    for key in ("img_shape", "original_shape"):
        if key in record:
            shape = record[key]
            if not (isinstance(shape, (tuple, list)) and len(shape) == 2
                    and all(_is_int(x) and x > 0 for x in shape)):
                report.add(key, f"must be (height, width) positive integers, got {shape!r}")
    return report.lines


def _check_label(report: _Problems, label: Any, num_classes: int | None) -> None:
    if label is None:
        return
    if not _is_int(label):
        report.add("label", f"must be an integer, got {type(label).__name__} {label!r}")
    elif label < 0:
        report.add("label", f"negative label {label}")
    elif num_classes is not None and label >= num_classes:
        report.add("label", f"label {label} out of range for num_classes={num_classes} "
                            f"(valid: 0..{num_classes - 1})")


def _check_total_frames(report: _Problems, total_frames: Any) -> int | None:
    """Report a bad ``total_frames``; return it when it is usable for shape checks."""
    if total_frames is None:
        return None
    if not _is_int(total_frames):
        report.add("total_frames", f"must be an integer, got {type(total_frames).__name__}")
        return None
    if total_frames <= 0:
        report.add("total_frames", f"empty clip (total_frames = {total_frames})")
        return None
    return int(total_frames)


def _array_problem(value: Any, rank: int, meaning: str) -> str | None:
    if not isinstance(value, np.ndarray):
        return f"must be a numpy array {meaning}, got {type(value).__name__}"
    if value.dtype.kind not in "iuf":
        return f"non-numeric dtype {value.dtype} (need integer or float)"
    if value.ndim != rank:
        return f"must have rank {rank} {meaning}, got shape {value.shape}"
    return None


def _non_finite_problem(array: np.ndarray) -> str | None:
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return None
    count = array.size - int(np.count_nonzero(np.isfinite(array)))
    return f"{count} NaN/inf value(s)"


def _check_keypoints(report: _Problems, record: Record, num_joints: int | None,
                     total_frames: int | None) -> None:
    shape = None
    if "keypoint" in record:
        keypoint = record["keypoint"]
        problem = _array_problem(keypoint, 4, "(M, T, V, C)")
        if problem is None:
            shape = keypoint.shape
            _, frames, joints, channels = shape
            if channels not in (2, 3):
                report.add("keypoint", f"C = {channels} coordinates per joint; must be 2 or 3")
            if num_joints is not None and joints != num_joints:
                report.add("keypoint", f"V = {joints} joints but the layout has {num_joints}")
            if frames == 0:
                report.add("keypoint", "empty clip (T = 0 frames)")
            elif total_frames is not None and frames != total_frames:
                report.add("keypoint", f"T = {frames} frames but total_frames = {total_frames}")
            problem = _non_finite_problem(keypoint)
        if problem is not None:
            report.add("keypoint", problem)
    if "keypoint_score" in record:
        score = record["keypoint_score"]
        problem = _array_problem(score, 3, "(M, T, V)")
        if problem is None and shape is not None and score.shape != shape[:3]:
            problem = f"shape {score.shape} does not match keypoint's (M, T, V) = {shape[:3]}"
        if problem is None:
            problem = _non_finite_problem(score)
        if problem is not None:
            report.add("keypoint_score", problem)
    elif shape is not None and shape[3] == 2:
        report.add("keypoint_score", "missing (required with 2D keypoints)")


def _check_kpfile_fields(report: _Problems, record: Record, total_frames: int | None) -> None:
    if "raw_file" in record and not isinstance(record["raw_file"], str):
        report.add("raw_file", f"must be a str path, got {type(record['raw_file']).__name__}")
    frame_inds = record.get("frame_inds")
    if frame_inds is not None:
        problem = _array_problem(frame_inds, 1, "(N,)")
        if problem is None and frame_inds.dtype.kind == "f":
            problem = f"must hold integers, got dtype {frame_inds.dtype}"
        if problem is None and frame_inds.size and total_frames is not None \
                and (frame_inds.min() < 0 or frame_inds.max() > total_frames):
            problem = (f"indices {frame_inds.min()}..{frame_inds.max()} outside "
                       f"0..total_frames = {total_frames}")
        if problem is not None:
            report.add("frame_inds", problem)
            frame_inds = None
    if "box_score" in record:
        box_score = record["box_score"]
        problem = _array_problem(box_score, 1, "(N,)")
        if problem is None and frame_inds is not None and box_score.shape != frame_inds.shape:
            problem = f"{box_score.size} scores but {frame_inds.size} frame_inds"
        if problem is None:
            problem = _non_finite_problem(box_score)
        if problem is not None:
            report.add("box_score", problem)


def _split_problems(split: Any, indices_by_name: dict[str, list[int]]) -> list[str]:
    if not isinstance(split, dict):
        return [f"split: must be a dict of split name -> list of frame_dir, "
                f"got {type(split).__name__}"]
    problems = []
    for name, members in split.items():
        if not isinstance(members, (list, tuple)):
            problems.append(f"split {name!r}: must be a list of frame_dir, "
                            f"got {type(members).__name__}")
            continue
        problems += [f"split {name!r}: frame_dir {member!r} has no annotation"
                     for member in members
                     if not isinstance(member, str) or member not in indices_by_name]
    return problems

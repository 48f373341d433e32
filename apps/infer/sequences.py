"""The skeleton sequences ``skel-infer`` reads, as annotation records checked before use.

An input is a file or a directory of files (not searched recursively), each one of:

* an annotation pickle in PYSKL's format (``{'split', 'annotations'}`` or a bare list of
  records; read with the safe loader): one sequence per record, named ``FILE:frame_dir``;
* ``.npz``: arrays ``keypoint`` (M, T, V, C) (or (T, V, C) for one person), optional
  ``keypoint_score`` (M, T, V) (or (T, V)), ``img_shape`` (height, width) and ``label``;
  other arrays are ignored;
* ``.json``: an object with the same keys, arrays written as nested lists.

C is 2 (pixels) or 3 (metres). A 2D sequence without scores gets score 1 for every joint;
without ``img_shape``, a GCN pipeline's default frame size applies (``PreNormalize2D``'s,
PYSKL's 1080 x 1920). A PoseC3D (heatmap) model's pipeline needs 2D keypoints and the
``img_shape`` their pixel coordinates refer to (its crops and resizes read it); it refuses a
sequence without them, naming it.

Every sequence is checked as an annotation record (:func:`skel_core.annotations.
validate_annotations`, and empty clips as :class:`skel_data.PoseDataset` refuses them): a wrong
joint count V, NaN/inf, no frames or no person in any frame raise AnnotationError, and an
unreadable file CorruptFileError, both naming the file.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skel_core.annotations import load_annotations, validate_annotations
from skel_core.errors import AnnotationError, CorruptFileError
from skel_data.records import check_records

PICKLE_SUFFIXES = (".pkl", ".pickle")
ARRAY_SUFFIXES = (".npz", ".json")
SUFFIXES = PICKLE_SUFFIXES + ARRAY_SUFFIXES
OPTIONAL_KEYS = ("keypoint_score", "img_shape", "label")


@dataclass
class InputSequence:
    """One sequence to recognise: ``record`` is a PYSKL annotation record (its ``label`` is 0
    when the input gives none: test pipelines collect a label), ``label`` the true class when
    the input gives one."""

    name: str
    record: dict[str, Any]
    label: int | None


def load_sequences(path: str | Path, num_joints: int | None = None) -> list[InputSequence]:
    """The sequences of a file or of the files of a directory, in name order, each checked to
    have ``num_joints`` joints when given."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
        if not files:
            raise AnnotationError(f"directory holds no {', '.join(SUFFIXES)} files",
                                  str(path))
        return [seq for file in files for seq in load_sequences(file, num_joints)]
    if not path.is_file():
        raise FileNotFoundError(f"input not found: {path}")
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        records = load_annotations(path, validate=False).annotations
        if not records:
            raise AnnotationError("the annotation file holds no records", str(path))
        names = [f"{path.name}:{_frame_dir(record, i)}" for i, record in enumerate(records)]
        labels = [_plain(record.get("label")) if isinstance(record, dict) else None
                  for record in records]
    elif suffix in ARRAY_SUFFIXES:
        fields = _read_npz(path) if suffix == ".npz" else _read_json(path)
        records, names = [_array_record(fields, path)], [path.name]
        labels = [_plain(fields["label"]) if "label" in fields else None]
    else:
        raise CorruptFileError(f"{path}: unknown input type {path.suffix!r}; skel-infer reads "
                               f"{', '.join(SUFFIXES)} files or a directory of them")
    _check(records, num_joints, path)
    return [InputSequence(name, record, label)
            for name, record, label in zip(names, records, labels, strict=True)]


def _frame_dir(record: Any, index: int) -> str:
    frame_dir = record.get("frame_dir") if isinstance(record, dict) else None
    return frame_dir if isinstance(frame_dir, str) else f"#{index}"


def _read_npz(path: Path) -> dict[str, Any]:
    if not zipfile.is_zipfile(path):  # np.load would try it as a pickle and say so
        raise CorruptFileError(f"{path}: not a readable .npz archive (no zip structure; "
                               "truncated or not an npz file)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise CorruptFileError(f"{path}: not a readable .npz archive "
                               f"({type(error).__name__}: {error})") from error


def _read_json(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptFileError(f"{path}: not a readable JSON file "
                               f"({type(error).__name__}: {error})") from error
    if not isinstance(content, dict):
        raise CorruptFileError(f"{path}: expected a JSON object with 'keypoint', got a "
                               f"{type(content).__name__}")
    fields = {}
    for key in ("keypoint", "keypoint_score"):
        if key in content:
            try:
                fields[key] = np.asarray(content[key], dtype=np.float32)
            except (TypeError, ValueError) as error:
                raise CorruptFileError(f"{path}: key {key!r} is not a regular array of "
                                       f"numbers ({error})") from error
    fields.update({key: content[key] for key in ("img_shape", "label") if key in content})
    return fields


def _array_record(fields: dict[str, Any], path: Path) -> dict[str, Any]:
    """The annotation record of an npz/json sequence (its problems are left to the check)."""
    if "keypoint" not in fields:
        raise AnnotationError(f"key 'keypoint': missing; a sequence file holds keypoint "
                              f"(M, T, V, C) and optionally {', '.join(OPTIONAL_KEYS)}",
                              str(path))
    keypoint = fields["keypoint"]
    record: dict[str, Any] = {"frame_dir": path.name, "label": 0}
    if "label" in fields:
        record["label"] = _plain(fields["label"])
    if "img_shape" in fields:
        record["img_shape"] = tuple(_plain(x) for x in np.asarray(fields["img_shape"]).ravel())
    single = keypoint.ndim == 3  # (T, V, C): one person
    record["keypoint"] = keypoint[None] if single else keypoint
    if "keypoint_score" in fields:
        score = fields["keypoint_score"]
        record["keypoint_score"] = score[None] if single and score.ndim == 2 else score
    elif keypoint.ndim in (3, 4) and keypoint.shape[-1] == 2:
        record["keypoint_score"] = np.ones(record["keypoint"].shape[:3], dtype=np.float32)
    if record["keypoint"].ndim == 4:
        record["total_frames"] = record["keypoint"].shape[1]
    return record


def _plain(value: Any) -> Any:
    """A numpy scalar or 0-d array as the Python number it holds."""
    return value.item() if isinstance(value, np.generic | np.ndarray) and value.size == 1 \
        else value


def _check(records: list, num_joints: int | None, path: Path) -> None:
    validate_annotations(records, layout=num_joints, source=str(path))
    problems, _ = check_records(records)
    lines = [line for index in sorted(problems) for line in problems[index]]
    lines += [f"annotation #{i}: key 'keypoint': missing; skel-infer needs the keypoints in "
              f"the file" for i, record in enumerate(records) if "keypoint" not in record]
    if lines:
        raise AnnotationError(lines, str(path))

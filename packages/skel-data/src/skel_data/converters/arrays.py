"""Your own skeletons as plain arrays (``.npz``) or tables (``.csv``) -> an annotation pickle.

One file is one clip, named by its file name without the extension (its ``frame_dir``):

* ``.npz``: ``keypoint`` (M, T, V, C) with C = 2 (pixels) or 3 (metres), optionally
  ``keypoint_score`` (M, T, V), ``label`` (an integer) and ``img_shape`` (height, width).
* ``.csv``: a header line, then one line per joint seen: columns ``frame``, ``person``,
  ``joint`` (0-based integers), ``x``, ``y``, optionally ``z`` and ``score`` (any order, case
  ignored). T and M are the largest frame and person + 1; V is the layout's joint count (or the
  largest joint + 1 without a layout). Joints not listed are missing: zeros with score 0.

2D clips without scores get score 1 for every joint given (counted in the summary), as PYSKL's
2D pipelines need ``keypoint_score``. Labels come from the clip (``label`` of an ``.npz``) or
from ``labels`` (a mapping, or a CSV file of ``name,label`` lines); where both exist they must
agree. ``src`` is one file or a directory; clips in its subdirectories form one split per
subdirectory (``src/train/*.npz`` -> split ``train``), clips directly in it belong to none.
Malformed input raises :class:`AnnotationError` naming the file and the key or line.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from skel_core.annotations import Record
from skel_core.errors import AnnotationError, CorruptFileError
from skel_core.layouts import get_layout

from .summary import ConversionLog, Summary, write_converted

SUFFIXES = (".npz", ".csv")
CSV_REQUIRED = ("frame", "person", "joint", "x", "y")
CSV_OPTIONAL = ("z", "score")

Clip = dict[str, Any]
"""A clip as read: ``keypoint``, and where the file has them ``keypoint_score``, ``label`` and
``img_shape``."""


def read_npz(path: str | os.PathLike) -> Clip:
    """The clip of one ``.npz`` file, checked; AnnotationError names the file and key."""
    source = os.fspath(path)
    try:
        content = np.load(path, allow_pickle=False)
        if not isinstance(content, np.lib.npyio.NpzFile):
            raise ValueError(f"found a single {type(content).__name__}, not an archive of arrays")
        with content:
            arrays = {key: content[key] for key in content.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise CorruptFileError(f"{source}: not a readable .npz file without pickled objects "
                               f"({error})") from None
    if "keypoint" not in arrays:
        raise AnnotationError(f"key 'keypoint': missing (found {sorted(arrays)})", source)
    problems = []
    keypoint = arrays["keypoint"]
    if keypoint.ndim != 4 or keypoint.shape[-1] not in (2, 3) or keypoint.dtype.kind not in "iuf":
        problems.append(f"key 'keypoint': must be numeric (M, T, V, C) with C = 2 or 3, got "
                        f"{keypoint.dtype} {keypoint.shape}")
    clip: Clip = {"keypoint": keypoint}
    if "keypoint_score" in arrays:
        score = arrays["keypoint_score"]
        if score.shape != keypoint.shape[:-1] or score.dtype.kind not in "iuf":
            problems.append(f"key 'keypoint_score': must be numeric (M, T, V) = "
                            f"{keypoint.shape[:-1]}, got {score.dtype} {score.shape}")
        clip["keypoint_score"] = score
    if "label" in arrays:
        label = arrays["label"]
        if label.shape != () or label.dtype.kind not in "iu":
            problems.append(f"key 'label': must be one integer, got {label.dtype} {label.shape}")
        else:
            clip["label"] = int(label)
    if "img_shape" in arrays:
        shape = arrays["img_shape"]
        if shape.shape != (2,) or shape.dtype.kind not in "iu" or (shape <= 0).any():
            problems.append(f"key 'img_shape': must be (height, width) positive integers, got "
                            f"{shape.tolist()}")
        else:
            clip["img_shape"] = (int(shape[0]), int(shape[1]))
    if problems:
        raise AnnotationError(problems, source)
    for key in ("keypoint", "keypoint_score"):
        if key in clip:
            clip[key] = clip[key].astype(np.float32)
    return clip


def _csv_rows(path: str | os.PathLike) -> Iterator[list[str]]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # -sig: drops a BOM from Excel
    except UnicodeDecodeError as error:
        raise CorruptFileError(f"{os.fspath(path)}: not a UTF-8 text file ({error})") from None
    return csv.reader(text.splitlines())


def read_csv(path: str | os.PathLike, num_joints: int | None = None) -> Clip:
    """The clip of one ``.csv`` file (see the module docstring); errors name the line."""
    source = os.fspath(path)
    lines = _csv_rows(path)
    header = [name.strip().lower() for name in next(lines, [])]
    unknown = [name for name in header if name not in CSV_REQUIRED + CSV_OPTIONAL]
    missing = [name for name in CSV_REQUIRED if name not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise AnnotationError(f"line 1: the header must name the columns {CSV_REQUIRED} and "
                              f"optionally {CSV_OPTIONAL}, each once; got {header}", source)
    index_columns = [header.index(name) for name in ("frame", "person", "joint")]
    value_names = [name for name in ("x", "y", "z", "score") if name in header]
    value_columns = [header.index(name) for name in value_names]
    where: dict[tuple[int, int, int], int] = {}
    values = []
    for line_number, row in enumerate(lines, start=2):
        if not any(field.strip() for field in row):
            continue
        if len(row) != len(header):
            raise AnnotationError(f"line {line_number}: {len(row)} fields but the header "
                                  f"has {len(header)}", source)
        key = tuple(_csv_index(row[c], header[c], line_number, num_joints, source)
                    for c in index_columns)
        if key in where:
            raise AnnotationError(f"line {line_number}: frame {key[0]}, person {key[1]}, "
                                  f"joint {key[2]} repeats line {where[key]}", source)
        where[key] = line_number
        values.append([_csv_number(row[c], header[c], line_number, source)
                       for c in value_columns])
    if not where:
        raise AnnotationError("no joint lines after the header", source)
    frame, person, joint = np.array(list(where)).T
    table = np.array(values, np.float32)
    num_coords = 3 if "z" in value_names else 2
    shape = (person.max() + 1, frame.max() + 1, num_joints or joint.max() + 1)
    keypoint = np.zeros((*shape, num_coords), np.float32)
    keypoint[person, frame, joint] = table[:, :num_coords]
    clip: Clip = {"keypoint": keypoint}
    if "score" in value_names or num_coords == 2:
        score = np.zeros(shape, np.float32)
        score[person, frame, joint] = table[:, -1] if "score" in value_names else 1.0
        clip["keypoint_score"] = score
    return clip


def _csv_index(text: str, column: str, line: int, num_joints: int | None, source: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise AnnotationError(f"line {line}: column {column!r}: {text.strip()!r} is not a "
                              f"0-based integer index", source)
    if column == "joint" and num_joints is not None and value >= num_joints:
        raise AnnotationError(f"line {line}: column 'joint': {value} is out of range for the "
                              f"layout's {num_joints} joints (0..{num_joints - 1})", source)
    return value


def _csv_number(text: str, column: str, line: int, source: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise AnnotationError(f"line {line}: column {column!r}: {text.strip()!r} is not a finite "
                              f"number (leave a missing joint's line out)", source)
    return value


def read_labels(path: str | os.PathLike) -> dict[str, int]:
    """``name,label`` lines of a CSV file (a header line is allowed) as a dict."""
    source = os.fspath(path)
    labels: dict[str, int] = {}
    for line_number, row in enumerate(_csv_rows(path), start=1):
        if not any(field.strip() for field in row):
            continue
        fields = [field.strip() for field in row]
        if len(fields) == 2 and fields[1].isdigit():
            if fields[0] in labels:
                raise AnnotationError(f"line {line_number}: {fields[0]!r} is labelled twice",
                                      source)
            labels[fields[0]] = int(fields[1])
        elif line_number > 1:
            raise AnnotationError(f"line {line_number}: expected 'name,label' with a "
                                  f"non-negative integer label, got {row}", source)
    return labels


def _clip_files(src: Path) -> list[tuple[Path, str | None]]:
    """Each clip file under ``src`` with its split (the subdirectory's name; None at the top)."""
    if src.is_file():
        if src.suffix not in SUFFIXES:
            raise CorruptFileError(f"{src}: a clip file must end in .npz or .csv")
        return [(src, None)]
    files = [(path, None) for path in sorted(src.iterdir()) if path.suffix in SUFFIXES]
    for folder in sorted(p for p in src.iterdir() if p.is_dir()):
        files += [(path, folder.name) for path in sorted(folder.iterdir())
                  if path.suffix in SUFFIXES]
    return files


def convert_arrays(
    src: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    layout: str | None = None,
    labels: Mapping[str, int] | str | os.PathLike | None = None,
    img_shape: tuple[int, int] | None = None,
) -> Summary:
    """Convert ``.npz`` / ``.csv`` clips (see the module docstring) to ``out_path``.

    Args:
        src: one clip file, or a directory of them (subdirectories = splits).
        out_path: the annotation pickle to write (atomically).
        layout: the skeleton layout's name; checks V (and sets it for CSV clips).
        labels: clip name -> label, as a mapping or a CSV file of ``name,label`` lines.
        img_shape: (height, width) of the frames, for clips that do not give their own.
    """
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"clip file or directory not found: {src}")
    num_joints = None if layout is None else get_layout(layout).num_joints
    label_of = read_labels(labels) if isinstance(labels, (str, os.PathLike)) else dict(labels or {})
    log = ConversionLog()
    records: list[Record] = []
    split: dict[str, list[str]] = {}
    for path, split_name in _clip_files(src):
        clip = read_npz(path) if path.suffix == ".npz" else read_csv(path, num_joints)
        name = path.stem
        label = _label(clip.get("label"), label_of.get(name), path)
        record = {"frame_dir": name, "label": label, "total_frames": clip["keypoint"].shape[1],
                  "keypoint": clip["keypoint"]}
        if "keypoint_score" in clip:
            record["keypoint_score"] = clip["keypoint_score"]
        elif clip["keypoint"].shape[-1] == 2:
            record["keypoint_score"] = np.ones(clip["keypoint"].shape[:-1], np.float32)
            log.note("2D clips without scores (score 1 given)")
        shape = clip.get("img_shape", img_shape)
        if shape is not None:
            record["img_shape"] = record["original_shape"] = tuple(int(x) for x in shape)
        records.append(record)
        if split_name is not None:
            split.setdefault(split_name, []).append(name)
    if not records:
        raise FileNotFoundError(f"no .npz or .csv clip in {src} or its subdirectories")
    return write_converted(out_path, records, split or None, log, dataset="arrays",
                           layout=layout, source=src)


def _label(own: int | None, listed: int | None, path: Path) -> int:
    if own is None and listed is None:
        raise AnnotationError(f"no label: the clip has no 'label' and the labels do not list "
                              f"{path.stem!r}", str(path))
    if own is not None and listed is not None and own != listed:
        raise AnnotationError(f"the clip's label {own} differs from the label listed for "
                              f"{path.stem!r}: {listed}", str(path))
    return own if own is not None else listed

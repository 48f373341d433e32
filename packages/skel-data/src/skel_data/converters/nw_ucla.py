"""NW-UCLA Multiview Action 3D (CTR-GCN's ``all_sqe/*.json`` release) -> a 3D annotation pickle.

Each JSON file holds one clip: ``file_name`` (``aAA_sSS_eEE_vVV``: action, subject, take,
view), ``label`` (1..10, the index of the action in :data:`NW_UCLA_CLASSES` plus one) and
``skeletons``, T frames of the 20 Kinect v1 joints in metres (layout ``kinect_v1``). The output
has one person (M = 1), labels 0..9, and the cross-view protocol: views 1 and 2 are ``train``,
view 3 is ``test`` (1020 and 464 clips for the full release).

Two clips of the release are a single frame long. They are kept by default, because the
published protocol (and CTR-GCN's test list) counts them and frame samplers handle a 1-frame clip
by repeating it; ``min_frames`` skips shorter clips instead, and the summary counts them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from skel_core.annotations import Record
from skel_core.errors import AnnotationError, CorruptFileError

from .summary import ConversionLog, Summary, write_converted

NUM_JOINTS = 20
TRAIN_VIEWS = frozenset({1, 2})
TEST_VIEWS = frozenset({3})
# The ten actions, in label order, with their action numbers in the file names.
NW_UCLA_CLASSES = ("pick up with one hand", "pick up with two hands", "drop trash",
                   "walk around", "sit down", "stand up", "donning", "doffing", "throw", "carry")
ACTION_NUMBERS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)

_CLIP_NAME = re.compile(r"a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})")


def _read_clip(path: Path) -> tuple[np.ndarray, int, int]:
    """The (T, 20, 3) skeletons, 0-based label and view of one JSON file."""
    match = _CLIP_NAME.fullmatch(path.stem)
    if match is None:
        raise CorruptFileError(f"{path}: the file name is not an NW-UCLA clip name "
                               f"(aAA_sSS_eEE_vVV.json)")
    action, view = int(match[1]), int(match[4])
    try:
        content = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptFileError(f"{path}: not a JSON file ({error})") from None
    if not isinstance(content, dict):
        raise CorruptFileError(f"{path}: expected a JSON object with 'file_name', 'label' and "
                               f"'skeletons', got a {type(content).__name__}")
    problems = [f"key {key!r}: missing" for key in ("file_name", "label", "skeletons")
                if key not in content]
    if problems:
        raise AnnotationError(problems, str(path))
    if content["file_name"] != path.stem:
        problems.append(f"key 'file_name': {content['file_name']!r} differs from the file name")
    label = content["label"]
    if type(label) is not int or not 1 <= label <= len(NW_UCLA_CLASSES):
        problems.append(f"key 'label': must be an integer in 1..{len(NW_UCLA_CLASSES)}, "
                        f"got {label!r}")
    elif ACTION_NUMBERS[label - 1] != action:
        problems.append(f"key 'label': {label} means action a{ACTION_NUMBERS[label - 1]:02d}, "
                        f"but the file name says a{action:02d}")
    if view not in TRAIN_VIEWS | TEST_VIEWS:
        problems.append(f"view v{view:02d} is not one of NW-UCLA's views 1, 2, 3")
    try:
        skeletons = np.asarray(content["skeletons"], dtype=np.float32)
    except (TypeError, ValueError):
        skeletons = None
    if skeletons is None or skeletons.ndim != 3 or skeletons.shape[1:] != (NUM_JOINTS, 3):
        found = "ragged or non-numeric lists" if skeletons is None else f"shape {skeletons.shape}"
        problems.append(f"key 'skeletons': must be T frames x {NUM_JOINTS} joints x 3 "
                        f"coordinates, got {found}")
    if problems:
        raise AnnotationError(problems, str(path))
    return skeletons, label - 1, view


def convert_nw_ucla(
    src: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    min_frames: int = 1,
) -> Summary:
    """Convert the ``all_sqe`` directory of NW-UCLA JSON files to ``out_path``.

    Clips with fewer than ``min_frames`` frames (and empty ones, always) are skipped and
    counted in the returned :class:`Summary`.
    """
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"NW-UCLA directory not found: {src}")
    log = ConversionLog()
    records: list[Record] = []
    views: dict[str, int] = {}
    for path in sorted(src.glob("*.json")):
        skeletons, label, view = _read_clip(path)
        frames = len(skeletons)
        if frames < max(min_frames, 1):
            log.skip(path.stem, f"shorter than {max(min_frames, 1)} frame(s)")
            continue
        if frames == 1:
            log.note("1-frame clips (kept)")
        records.append({"frame_dir": path.stem, "label": label, "keypoint": skeletons[None],
                        "total_frames": frames})
        views[path.stem] = view
    split = {"train": [name for name, view in views.items() if view in TRAIN_VIEWS],
             "test": [name for name, view in views.items() if view in TEST_VIEWS]}
    return write_converted(out_path, records, split, log, dataset="nw-ucla", layout="kinect_v1",
                           class_names=NW_UCLA_CLASSES, source=src)

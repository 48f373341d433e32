"""Penn Action (``labels/NNNN.mat``) -> a 2D annotation pickle, in the ``coco`` or ``penn`` layout.

Each MATLAB file holds one clip: ``x`` and ``y`` (T, 13) pixel coordinates of the joints of the
``penn`` layout, ``visibility`` (T, 13) 0/1, ``action`` (one of :data:`PENN_ACTION_CLASSES`),
``train`` (+1 train, -1 test; 1258 / 1068 clips) and ``dimensions`` (height, width, frames).
``nframes`` is stored as uint8 and wraps above 255 frames, so T is taken from the arrays.

The visibility becomes ``keypoint_score`` (0 = missing; the annotated coordinates of invisible
joints are kept). In the ``coco`` layout the head becomes the nose and the eyes and ears, which
Penn Action does not annotate, are zeros with score 0. Labels index the alphabetical
:data:`PENN_ACTION_CLASSES`, the same whichever files are converted. ``img_shape`` and
``original_shape`` are (height, width) from ``dimensions``. Reading ``.mat`` files needs scipy.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skel_core.annotations import Record
from skel_core.errors import AnnotationError, CorruptFileError
from skel_core.layouts import COCO, PENN, Layout, get_layout

from .summary import ConversionLog, Summary, write_converted

PENN_ACTION_CLASSES = ("baseball_pitch", "baseball_swing", "bench_press", "bowl",
                       "clean_and_jerk", "golf_swing", "jump_rope", "jumping_jacks", "pullup",
                       "pushup", "situp", "squat", "strum_guitar", "tennis_forehand",
                       "tennis_serve")
LAYOUTS = ("coco", "penn")
_SPLIT_OF_TRAIN_FLAG = {1: "train", -1: "test"}


def _joint_map(target: Layout) -> np.ndarray:
    """Index in ``target`` of each Penn Action joint, matched by name (head -> nose)."""
    names = {"head": "nose"} if target is COCO else {}
    return np.array([target.joints.index(names.get(name, name)) for name in PENN.joints])


def _scipy_loadmat() -> Callable[..., dict[str, Any]]:
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ImportError("reading Penn Action's .mat files needs scipy: pip install scipy "
                          "(or skel-data[penn])") from None
    return loadmat


def _read_clip(path: Path, loadmat: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """The fields of one ``.mat`` file, checked; AnnotationError lists every problem."""
    try:
        mat = loadmat(path)
    except Exception as error:  # scipy raises several types for unreadable files
        raise CorruptFileError(f"{path}: not a readable MATLAB file ({error})") from None
    missing = [f"key {key!r}: missing" for key in ("x", "y", "visibility", "action", "train",
                                                   "dimensions") if key not in mat]
    if missing:
        raise AnnotationError(missing, str(path))
    problems = []
    x, y, visibility = (np.asarray(mat[key]) for key in ("x", "y", "visibility"))
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != PENN.num_joints:
        problems.append(f"key 'x': must be (T, {PENN.num_joints}) with T > 0, got {x.shape}")
    for key, value in (("y", y), ("visibility", visibility)):
        if value.shape != x.shape:
            problems.append(f"key {key!r}: shape {value.shape} differs from x's {x.shape}")
    action = np.ravel(mat["action"])
    action = str(action[0]) if action.size == 1 else None
    if action not in PENN_ACTION_CLASSES:
        problems.append(f"key 'action': {action!r} is not a Penn Action class "
                        f"({', '.join(PENN_ACTION_CLASSES)})")
    train = np.ravel(mat["train"])
    if train.size != 1 or int(train[0]) not in _SPLIT_OF_TRAIN_FLAG:
        problems.append(f"key 'train': must be 1 (train) or -1 (test), got {train.tolist()}")
    dimensions = np.ravel(mat["dimensions"])
    if dimensions.size < 2 or (dimensions[:2] <= 0).any():
        problems.append(f"key 'dimensions': must start with height, width > 0, got "
                        f"{dimensions.tolist()}")
    if problems:
        raise AnnotationError(problems, str(path))
    return {"x": x, "y": y, "visibility": visibility, "label": PENN_ACTION_CLASSES.index(action),
            "split": _SPLIT_OF_TRAIN_FLAG[int(train[0])],
            "img_shape": (int(dimensions[0]), int(dimensions[1]))}


def convert_penn(
    src: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    layout: str = "coco",
) -> Summary:
    """Convert Penn Action's ``labels`` directory of ``.mat`` files to ``out_path``.

    ``layout`` is 'coco' (17 joints, for models and pipelines built for COCO keypoints) or
    'penn' (the 13 annotated joints as they are). The splits are ``train`` and ``test``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"Penn Action labels directory not found: {src}")
    loadmat = _scipy_loadmat()
    target = get_layout(layout)
    joint_map = _joint_map(target)
    records: list[Record] = []
    split: dict[str, list[str]] = {"train": [], "test": []}
    for path in sorted(src.glob("*.mat")):
        clip = _read_clip(path, loadmat)
        frames = clip["x"].shape[0]
        keypoint = np.zeros((1, frames, target.num_joints, 2), np.float32)
        keypoint[0][:, joint_map] = np.stack([clip["x"], clip["y"]], axis=-1)
        score = np.zeros((1, frames, target.num_joints), np.float32)
        score[0][:, joint_map] = clip["visibility"] > 0
        records.append({"frame_dir": path.stem, "label": clip["label"], "total_frames": frames,
                        "img_shape": clip["img_shape"], "original_shape": clip["img_shape"],
                        "keypoint": keypoint, "keypoint_score": score})
        split[clip["split"]].append(path.stem)
    return write_converted(out_path, records, split, ConversionLog(), dataset="penn-action",
                           layout=layout, class_names=PENN_ACTION_CLASSES, source=src)

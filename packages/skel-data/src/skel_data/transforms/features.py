"""Skeleton feature streams: joints (j), bones (b) and their motions (jm, bm)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from skel_core.layouts import get_layout

_FEATS = ("j", "b", "jm", "bm")


def joints_to_bones(keypoint: np.ndarray, pairs: Sequence[tuple[int, int]], with_score: bool):
    """Bone vectors ``kp[v] - kp[parent(v)]`` for each (v, parent) pair; other joints stay 0.

    With ``with_score`` the last channel is a confidence, and a bone's confidence is the mean of
    its two joints' (PYSKL's rule for 2D layouts).
    """
    bone = np.zeros_like(keypoint)
    child = np.array([c for c, _ in pairs], dtype=np.int64)
    parent = np.array([p for _, p in pairs], dtype=np.int64)
    bone[..., child, :] = keypoint[..., child, :] - keypoint[..., parent, :]
    if with_score:
        bone[..., child, -1] = (keypoint[..., child, -1] + keypoint[..., parent, -1]) / 2
    return bone


def to_motion(feature: np.ndarray, with_score: bool) -> np.ndarray:
    """Frame differences along T (axis 1); the last frame's motion is 0 (PYSKL's ``ToMotion``)."""
    motion = np.zeros_like(feature)
    motion[:, :-1] = feature[:, 1:] - feature[:, :-1]
    if with_score:
        motion[:, :-1, :, -1] = (feature[:, 1:, :, -1] + feature[:, :-1, :, -1]) / 2
    return motion


class GenSkeFeat:
    """Build the feature streams named in ``feats`` and concatenate them along ``axis``.

    For 2D data the keypoint score is appended to the coordinates first (C = 3), and
    ``keypoint_score`` is consumed, as in PYSKL. ``dataset`` names the layout whose bones are used.
    """

    def __init__(self, dataset: str = "nturgb+d", feats: Sequence[str] = ("j",), axis: int = -1):
        unknown = [f for f in feats if f not in _FEATS]
        if unknown or not feats:
            raise ValueError(
                f"GenSkeFeat: feats must be a non-empty subset of {_FEATS}, got {feats}"
            )
        self.dataset = dataset
        self.layout = get_layout(dataset)
        self.feats = tuple(feats)
        self.axis = axis

    def __call__(self, results: dict) -> dict:
        results = dict(results)
        kp = results["keypoint"].astype(np.float32)
        with_score = "keypoint_score" in results
        if with_score:
            if kp.shape[-1] != 2:
                raise ValueError(
                    f"sample {results.get('frame_dir', '?')!r}: keypoint_score given with "
                    f"{kp.shape[-1]}-channel keypoints; scores go with 2D keypoints"
                )
            kp = np.concatenate([kp, results.pop("keypoint_score")[..., None]], axis=-1)
        if kp.shape[-2] != self.layout.num_joints:
            raise ValueError(
                f"sample {results.get('frame_dir', '?')!r}: {kp.shape[-2]} joints but layout "
                f"{self.dataset!r} has {self.layout.num_joints}"
            )
        streams = {"j": kp}
        if "b" in self.feats or "bm" in self.feats:
            streams["b"] = joints_to_bones(kp, self.layout.bone_pairs, with_score)
        if "jm" in self.feats:
            streams["jm"] = to_motion(kp, with_score)
        if "bm" in self.feats:
            streams["bm"] = to_motion(streams["b"], with_score)
        results["keypoint"] = np.concatenate([streams[f] for f in self.feats], axis=self.axis)
        return results

    def __repr__(self) -> str:
        return f"GenSkeFeat(dataset={self.dataset!r}, feats={list(self.feats)}, axis={self.axis})"

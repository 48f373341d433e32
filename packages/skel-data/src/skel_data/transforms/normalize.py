"""Coordinate normalisation of keypoints: 2D pixels to [-1, 1], 3D bodies to a canonical pose."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .gcn_checks import float_dtype, keypoint_array
from .pose_checks import sample_error


class PreNormalize2D:
    """Map pixel coordinates to [-1, 1]: ``x' = (x - w/2) / (w/2)``, same for y with h.

    ``img_shape`` (h, w) is taken from the sample when it has one, else from the argument
    (PYSKL's default is 1080 x 1920). When the keypoints carry their score as a third channel,
    joints scoring at most ``threshold`` get (0, 0), as in PYSKL. ``mode`` is PYSKL's argument;
    its only value is ``'fix'``. Returns new arrays; the caller's are left untouched.
    """

    def __init__(self, img_shape: tuple[int, int] = (1080, 1920), threshold: float = 0.01,
                 mode: str = "fix"):
        if mode != "fix":
            raise ValueError(f"PreNormalize2D: mode must be 'fix', got {mode!r}")
        self.img_shape = tuple(img_shape)
        self.threshold = threshold
        self.mode = mode

    def __call__(self, results: dict) -> dict:
        h, w = results.get("img_shape", self.img_shape)
        half = np.array([w / 2, h / 2], dtype=np.float32)
        results = dict(results)
        kp = results["keypoint"]
        normalised = kp.astype(np.float32, copy=True)
        normalised[..., :2] = (kp[..., :2] - half) / half
        if kp.shape[-1] == 3:
            normalised[..., :2][kp[..., 2] <= self.threshold] = 0
        results["keypoint"] = normalised
        return results

    def __repr__(self) -> str:
        return f"PreNormalize2D(img_shape={self.img_shape}, threshold={self.threshold})"


def rotation_onto(vector: np.ndarray, target: Sequence[float]) -> np.ndarray:
    """The smallest rotation (3 x 3, for column vectors) turning ``vector`` toward ``target``.

    It turns about ``vector x target`` by the angle between them (Rodrigues' formula). Like
    PYSKL, it is the identity when ``vector`` is (nearly) zero, when the angle is below 1e-6,
    or when the two are (anti-)parallel: an upside-down spine stays upside down.
    """
    target = np.asarray(target, dtype=np.float64)
    if np.abs(vector).sum() < 1e-6:
        return np.eye(3)
    axis = np.cross(vector, target)
    cosine = np.dot(vector, target) / (np.linalg.norm(vector) * np.linalg.norm(target))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    if np.abs(axis).sum() < 1e-6 or angle < 1e-6:
        return np.eye(3)
    x, y, z = axis / np.linalg.norm(axis)
    cross = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


class PreNormalize3D:
    """Put a 3D (NTU RGB+D) skeleton in a canonical position (PYSKL's ``PreNormalize3D``).

    In order, as in PYSKL (which follows 2s-AGCN):

    1. The person present in the most frames becomes person 0 (ties keep the original order;
       PYSKL swaps the two persons of a 2-person clip the same way) and only the frames where
       that person is present (not all zeros) are kept; ``total_frames`` becomes their count.
    2. ``align_center``: subtract the main person's joint 1 (NTU's spine_mid) in the first
       kept frame when V = 25, else its last joint, from every joint that is not missing
       (all-zero joints stay zero). That centre is returned as ``body_center``.
    3. ``align_spine``: rotate everything so that the main person's first-frame bone
       ``zaxis[0] -> zaxis[1]`` (spine_base -> spine_mid) points along +z, then so that
       ``xaxis[1] -> xaxis[0]`` (left -> right shoulder) points along +x.

    A clip with no person in any frame is returned as it is. Unlike PYSKL this also accepts
    more than two persons, and ``align_center=False`` does not crash.
    """

    def __init__(
        self,
        zaxis: Sequence[int] = (0, 1),
        xaxis: Sequence[int] = (8, 4),
        align_spine: bool = True,
        align_center: bool = True,
    ):
        for name, pair in (("zaxis", zaxis), ("xaxis", xaxis)):
            if len(pair) != 2 or not all(isinstance(j, int) and j >= 0 for j in pair):
                raise ValueError(f"PreNormalize3D: {name} must be two joint indices, "
                                 f"got {pair!r}")
        self.zaxis = tuple(zaxis)
        self.xaxis = tuple(xaxis)
        self.align_spine = align_spine
        self.align_center = align_center

    def __call__(self, results: dict) -> dict:
        kp = keypoint_array(results, "PreNormalize3D", channels=(3,))
        _, frames, joints, _ = kp.shape
        if results.get("total_frames", frames) != frames:
            raise sample_error(results, "PreNormalize3D",
                               f"keypoint has T = {frames} frames but total_frames = "
                               f"{results['total_frames']}")
        needed = max(self.zaxis + self.xaxis) if self.align_spine else 0
        if needed >= joints:
            raise sample_error(results, "PreNormalize3D",
                               f"keypoint has V = {joints} joints, but zaxis="
                               f"{list(self.zaxis)} and xaxis={list(self.xaxis)} name joint "
                               f"{needed}")
        present = ~np.all(np.isclose(kp, 0), axis=(2, 3))  # (M, T)
        counts = present.sum(axis=1)
        if not counts.any():
            return results
        main = int(np.argmax(counts))
        order = [main] + [p for p in range(kp.shape[0]) if p != main]
        skeleton = kp[order][:, present[main]].astype(np.float64)
        results = dict(results)
        if self.align_center:
            center = skeleton[0, 0, 1 if joints == 25 else -1].copy()
            missing = ~(skeleton != 0).any(axis=-1, keepdims=True)
            skeleton = np.where(missing, 0.0, skeleton - center)
            results["body_center"] = center.astype(float_dtype(kp))
        if self.align_spine:
            bottom, top = skeleton[0, 0, self.zaxis[0]], skeleton[0, 0, self.zaxis[1]]
            skeleton = skeleton @ rotation_onto(top - bottom, (0, 0, 1)).T
            right, left = skeleton[0, 0, self.xaxis[0]], skeleton[0, 0, self.xaxis[1]]
            skeleton = skeleton @ rotation_onto(right - left, (1, 0, 0)).T
        results["keypoint"] = skeleton.astype(float_dtype(kp))
        results["total_frames"] = skeleton.shape[1]
        return results

    def __repr__(self) -> str:
        return (f"PreNormalize3D(zaxis={list(self.zaxis)}, xaxis={list(self.xaxis)}, "
                f"align_spine={self.align_spine}, align_center={self.align_center})")

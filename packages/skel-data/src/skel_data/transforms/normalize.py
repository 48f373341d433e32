"""Coordinate normalisation of keypoints."""

from __future__ import annotations

import numpy as np


class PreNormalize2D:
    """Map pixel coordinates to [-1, 1]: ``x' = (x - w/2) / (w/2)``, same for y with h.

    ``img_shape`` (h, w) is taken from the sample when it has one, else from the argument
    (PYSKL's default is 1080 x 1920). Returns new arrays; the caller's are left untouched.
    """

    def __init__(self, img_shape: tuple[int, int] = (1080, 1920)):
        self.img_shape = tuple(img_shape)

    def __call__(self, results: dict) -> dict:
        h, w = results.get("img_shape", self.img_shape)
        half = np.array([w / 2, h / 2], dtype=np.float32)
        results = dict(results)
        kp = results["keypoint"]
        normalised = kp.astype(np.float32, copy=True)
        normalised[..., :2] = (kp[..., :2] - half) / half
        results["keypoint"] = normalised
        return results

    def __repr__(self) -> str:
        return f"PreNormalize2D(img_shape={self.img_shape})"

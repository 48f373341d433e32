"""Random horizontal flip of keypoints (PYSKL's ``Flip``), in pixel-centre coordinates.

A frame ``W`` pixels wide has its pixel centres at x = 0, 1, ..., W - 1 (that is where the
heatmaps are evaluated), so mirroring it maps x to ``W - 1 - x``. PYSKL's training ``Flip``
uses ``W - x``, one pixel off from its own test-time flip (which mirrors the rendered heatmap,
i.e. ``W - 1 - x``); skel uses ``W - 1 - x`` in both places, so the heatmaps of flipped
keypoints are the mirror images of the heatmaps of the original ones (up to the truncation of
each Gaussian's window; see :class:`~skel_data.transforms.GeneratePoseTarget`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .pose_checks import (
    checked_img_shape,
    checked_keypoints,
    checked_scores,
    generator,
    index_pairs,
    swap_permutation,
)


def mirror_x(keypoint: np.ndarray, width: int) -> np.ndarray:
    """``keypoint`` (..., 2) with x mirrored in a ``width``-pixel frame: x -> width - 1 - x."""
    mirrored = np.array(keypoint, dtype=np.float32)
    mirrored[..., 0] = width - 1 - mirrored[..., 0]
    return mirrored


class Flip:
    """Flip the keypoints horizontally with probability ``flip_ratio``.

    x becomes ``W - 1 - x`` (see the module docstring; PYSKL uses ``W - x``), except that an x of
    0, PYSKL's "missing", stays 0; keypoints (and their scores) ``left_kp[k]`` and
    ``right_kp[k]`` swap places. ``flip_label_map`` relabels flipped samples. The decision is
    drawn from ``results['rng']`` and recorded in ``flip`` and ``flip_direction``. Only
    ``direction='horizontal'`` exists for keypoints (PYSKL refuses vertical flips of them too).
    """

    def __init__(
        self,
        flip_ratio: float = 0.5,
        direction: str = "horizontal",
        flip_label_map: Mapping[int, int] | None = None,
        left_kp: Sequence[int] | None = None,
        right_kp: Sequence[int] | None = None,
    ):
        if direction != "horizontal":
            raise ValueError(
                f"Flip: only direction='horizontal' flips keypoints, got {direction!r}"
            )
        if not 0 <= flip_ratio <= 1:
            raise ValueError(f"Flip: flip_ratio must be in [0, 1], got {flip_ratio}")
        self.flip_ratio = flip_ratio
        self.direction = direction
        self.flip_label_map = dict(flip_label_map) if flip_label_map else None
        self.left_kp, self.right_kp = index_pairs("Flip", left_kp or (), right_kp or ())

    def __call__(self, results: dict) -> dict:
        keypoint = checked_keypoints(results, "Flip")
        scores = checked_scores(results, "Flip", keypoint)
        _, width = checked_img_shape(results, "Flip")
        order = swap_permutation(
            results, "Flip", self.left_kp, self.right_kp, keypoint.shape[2], "keypoint"
        )
        flip = bool(generator(results, "Flip").random() < self.flip_ratio)
        results = dict(results)
        results["flip"] = flip
        results["flip_direction"] = self.direction
        if not flip:
            return results
        mirrored = mirror_x(keypoint, width)
        mirrored[..., 0] = np.where(keypoint[..., 0] == 0, 0, mirrored[..., 0])
        results["keypoint"] = mirrored[:, :, order]
        if scores is not None:
            results["keypoint_score"] = scores[:, :, order]
        if self.flip_label_map is not None and "label" in results:
            results["label"] = self.flip_label_map.get(results["label"], results["label"])
        return results

    def __repr__(self) -> str:
        return (
            f"Flip(flip_ratio={self.flip_ratio}, direction={self.direction!r}, "
            f"flip_label_map={self.flip_label_map}, left_kp={list(self.left_kp)}, "
            f"right_kp={list(self.right_kp)})"
        )

"""Resize of the frame that keypoints live in (PYSKL's ``Resize``, keypoints only)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from .pose_checks import checked_img_shape, checked_keypoints, sample_error


def _positive_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0


class Resize:
    """Scale the frame, and the keypoints with it, as PYSKL's (mmcv's) ``Resize`` does.

    ``scale`` is read as in PYSKL:

    * a number: every side is multiplied by it;
    * a pair with ``keep_ratio=True``: the largest size keeping the aspect ratio whose long side
      is at most ``max(scale)`` and short side at most ``min(scale)``; a -1 in the pair leaves
      that side free, so ``(-1, 64)`` makes the short side 64;
    * a pair ``(w, h)`` with ``keep_ratio=False``: exactly that size.

    New sides are rounded half up (``int(side * factor + 0.5)``). The keypoints are multiplied by
    the per-axis factors ``new / old``; ``scale_factor`` accumulates them over several resizes,
    and ``img_shape`` and ``keep_ratio`` are updated. ``interpolation`` is kept for config
    compatibility only: there are no images to interpolate on this path.
    """

    def __init__(
        self,
        scale: float | Sequence[float],
        keep_ratio: bool = True,
        interpolation: str = "bilinear",
    ):
        if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
            if scale <= 0:
                raise ValueError(f"Resize: scale must be positive, got {scale}")
            if not keep_ratio:
                raise ValueError(f"Resize: keep_ratio=False needs scale=(w, h), got {scale}")
            self.scale: float | tuple[float, float] = float(scale)
        elif isinstance(scale, Sequence) and not isinstance(scale, str) and len(scale) == 2:
            pair = tuple(scale)
            free = [side == -1 for side in pair]
            if all(free) or not all(_positive_number(side) or side == -1 for side in pair):
                raise ValueError(
                    f"Resize: scale sides must be positive, or -1 for one free side, got {scale}"
                )
            if any(free):
                if not keep_ratio:
                    raise ValueError(f"Resize: keep_ratio=False needs a fixed (w, h), got {scale}")
                pair = (math.inf, max(pair))
            self.scale = pair
        else:
            raise TypeError(f"Resize: scale must be a number or a pair, got {scale!r}")
        self.keep_ratio = keep_ratio
        self.interpolation = interpolation

    def new_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of a ``height`` x ``width`` frame after this resize."""
        if not self.keep_ratio:
            new_w, new_h = self.scale
            return int(new_h), int(new_w)
        if isinstance(self.scale, float):
            factor = self.scale
        else:
            factor = min(max(self.scale) / max(height, width), min(self.scale) / min(height, width))
        return int(height * factor + 0.5), int(width * factor + 0.5)

    def __call__(self, results: dict) -> dict:
        keypoint = checked_keypoints(results, "Resize")
        height, width = checked_img_shape(results, "Resize")
        new_h, new_w = self.new_size(height, width)
        if new_h <= 0 or new_w <= 0:
            raise sample_error(
                results, "Resize",
                f"a {height} x {width} frame resized by {self.scale} is empty ({new_h} x {new_w})",
            )
        factor = np.array([new_w / width, new_h / height], dtype=np.float32)
        results = dict(results)
        results["keypoint"] = (keypoint * factor).astype(np.float32)
        previous = np.asarray(results.get("scale_factor", (1, 1)), np.float32)
        results["scale_factor"] = previous * factor
        results["img_shape"] = (new_h, new_w)
        results["keep_ratio"] = self.keep_ratio
        return results

    def __repr__(self) -> str:
        return (
            f"Resize(scale={self.scale}, keep_ratio={self.keep_ratio}, "
            f"interpolation={self.interpolation!r})"
        )

"""Crops of the frame that keypoints live in: PoseCompact, RandomResizedCrop, CenterCrop.

There are no images on the PoseC3D path until the heatmaps are rendered, so a crop moves the
keypoints into the crop's coordinates and records the new frame size in ``img_shape``, the
crop box (``left, top, right, bottom``) in ``crop_bbox`` and, as PYSKL does, where the crop lies
in the original frame in ``crop_quadruple`` (x, y, w, h as fractions of the original frame).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .pose_checks import checked_img_shape, checked_keypoints, generator


def _combined_quadruple(
    results: dict, box: tuple[float, float, float, float], height: int, width: int
) -> np.ndarray:
    """The sample's ``crop_quadruple`` after cropping ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    x, y = left / width, top / height
    w, h = (right - left) / width, (bottom - top) / height
    old_x, old_y, old_w, old_h = results.get("crop_quadruple", (0.0, 0.0, 1.0, 1.0))
    return np.array([old_x + old_w * x, old_y + old_h * y, old_w * w, old_h * h], np.float32)


def _cropped(
    results: dict, keypoint: np.ndarray, box: tuple[int, int, int, int], height: int, width: int
) -> dict:
    """A copy of ``results`` (a ``height`` x ``width`` frame) with every keypoint moved into the
    crop ``box``."""
    left, top, right, bottom = box
    results = dict(results)
    results["crop_quadruple"] = _combined_quadruple(results, box, height, width)
    results["crop_bbox"] = np.array(box)
    results["img_shape"] = (bottom - top, right - left)
    results["keypoint"] = (keypoint - np.array([left, top])).astype(np.float32)
    return results


def _pair(value: float | Sequence[float], name: str) -> tuple[float, float]:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value), float(value)
    pair = tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be a number or a pair of numbers, got {value!r}")
    return float(pair[0]), float(pair[1])


class PoseCompact:
    """Crop the frame to the box around all keypoints of the clip, grown by ``padding``.

    The tight box holds every non-zero coordinate of every person and frame (a coordinate of 0
    means "missing", per axis; NaN coordinates count as missing and come out as 0; both as in
    PYSKL). It keeps its centre and is scaled by ``1 + padding``; then, if ``hw_ratio`` (h / w,
    a number or a (min, max) pair) is given, it is grown to that ratio. With
    ``allow_imgpad=False`` the box is clipped to the frame. Box corners are truncated to
    integers as in PYSKL. A clip whose tight box is narrower or lower than ``threshold`` pixels
    (or empty) is left as it is.

    Missing coordinates stay 0; the others are moved into the box. Unlike PYSKL, this never
    writes into the caller's keypoint array.
    """

    def __init__(
        self,
        padding: float = 0.25,
        threshold: float = 10,
        hw_ratio: float | Sequence[float] | None = None,
        allow_imgpad: bool = True,
    ):
        if padding < 0:
            raise ValueError(f"PoseCompact: padding must be >= 0, got {padding}")
        self.padding = padding
        self.threshold = threshold
        self.hw_ratio = None if hw_ratio is None else _pair(hw_ratio, "PoseCompact: hw_ratio")
        self.allow_imgpad = allow_imgpad

    def __call__(self, results: dict) -> dict:
        keypoint = checked_keypoints(results, "PoseCompact", allow_nan=True)
        height, width = checked_img_shape(results, "PoseCompact")
        results = dict(results)
        keypoint = np.nan_to_num(keypoint.astype(np.float32), nan=0.0)
        results["keypoint"] = keypoint
        box = self._box(keypoint, height, width)
        if box is None:
            return results
        offset = np.array(box[:2], np.float32)
        results["keypoint"] = np.where(keypoint != 0, keypoint - offset, 0).astype(np.float32)
        results["crop_quadruple"] = _combined_quadruple(results, box, height, width)
        results["img_shape"] = (box[3] - box[1], box[2] - box[0])
        return results

    def _box(self, keypoint: np.ndarray, height: int, width: int) -> tuple[int, ...] | None:
        """The compact box (left, top, right, bottom), or None to leave the clip as it is."""
        xs, ys = keypoint[..., 0], keypoint[..., 1]
        xs, ys = xs[xs != 0], ys[ys != 0]
        if xs.size == 0 or ys.size == 0:
            return None
        min_x, max_x, min_y, max_y = xs.min(), xs.max(), ys.min(), ys.max()
        if max_x - min_x < self.threshold or max_y - min_y < self.threshold:
            return None
        center_x, center_y = (min_x + max_x) / 2, (min_y + max_y) / 2
        half_w = (max_x - min_x) / 2 * (1 + self.padding)
        half_h = (max_y - min_y) / 2 * (1 + self.padding)
        if self.hw_ratio is not None:
            half_h = max(self.hw_ratio[0] * half_w, half_h)
            half_w = max(half_h / self.hw_ratio[1], half_w)
        left, right = center_x - half_w, center_x + half_w
        top, bottom = center_y - half_h, center_y + half_h
        if not self.allow_imgpad:
            left, top = max(0, left), max(0, top)
            right, bottom = min(width, right), min(height, bottom)
        box = (int(left), int(top), int(right), int(bottom))
        return box if box[2] > box[0] and box[3] > box[1] else None

    def __repr__(self) -> str:
        return (
            f"PoseCompact(padding={self.padding}, threshold={self.threshold}, "
            f"hw_ratio={self.hw_ratio}, allow_imgpad={self.allow_imgpad})"
        )


class RandomResizedCrop:
    """Crop a random box whose area and aspect ratio (w / h) are drawn from the given ranges.

    PYSKL's draw: ten candidates, each with an aspect ratio log-uniform in
    ``aspect_ratio_range`` and an area uniform in ``area_range`` (fractions of the frame's area),
    sides rounded to integers; the first that fits the frame is placed at a uniformly random
    integer offset. If none fits, the centred square of the frame's shorter side is taken. The
    randomness comes from ``results['rng']``. Candidates with a side of 0 pixels do not count as
    fitting (PYSKL would return an empty frame).
    """

    _ATTEMPTS = 10

    def __init__(
        self,
        area_range: Sequence[float] = (0.08, 1.0),
        aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3),
    ):
        self.area_range = _pair(area_range, "RandomResizedCrop: area_range")
        self.aspect_ratio_range = _pair(aspect_ratio_range, "RandomResizedCrop: aspect_ratio_range")
        if not 0 < self.area_range[0] <= self.area_range[1] <= 1:
            raise ValueError(
                f"RandomResizedCrop: area_range must satisfy 0 < min <= max <= 1, got {area_range}"
            )
        if not 0 < self.aspect_ratio_range[0] <= self.aspect_ratio_range[1]:
            raise ValueError(
                "RandomResizedCrop: aspect_ratio_range must satisfy 0 < min <= max, got "
                f"{aspect_ratio_range}"
            )

    def crop_box(
        self, height: int, width: int, rng: np.random.Generator
    ) -> tuple[int, int, int, int]:
        """A random crop box (left, top, right, bottom) of a ``height`` x ``width`` frame."""
        log_ratios = np.log(self.aspect_ratio_range)
        ratios = np.exp(rng.uniform(log_ratios[0], log_ratios[1], size=self._ATTEMPTS))
        areas = rng.uniform(*self.area_range, size=self._ATTEMPTS) * height * width
        crop_ws = np.round(np.sqrt(areas * ratios)).astype(np.int64)
        crop_hs = np.round(np.sqrt(areas / ratios)).astype(np.int64)
        for crop_w, crop_h in zip(crop_ws.tolist(), crop_hs.tolist(), strict=True):
            if 0 < crop_w <= width and 0 < crop_h <= height:
                left = int(rng.integers(0, width - crop_w + 1))
                top = int(rng.integers(0, height - crop_h + 1))
                return left, top, left + crop_w, top + crop_h
        side = min(height, width)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side

    def __call__(self, results: dict) -> dict:
        keypoint = checked_keypoints(results, "RandomResizedCrop")
        height, width = checked_img_shape(results, "RandomResizedCrop")
        box = self.crop_box(height, width, generator(results, "RandomResizedCrop"))
        return _cropped(results, keypoint, box, height, width)

    def __repr__(self) -> str:
        return (
            f"RandomResizedCrop(area_range={self.area_range}, "
            f"aspect_ratio_range={self.aspect_ratio_range})"
        )


class CenterCrop:
    """Crop the centre ``crop_size`` (an int, or (w, h)) of the frame.

    As in PYSKL, a crop larger than the frame is allowed: the box then reaches outside it.
    """

    def __init__(self, crop_size: int | Sequence[int]):
        size = (crop_size, crop_size) if isinstance(crop_size, int) else tuple(crop_size)
        if len(size) != 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size
        ):
            raise ValueError(f"CenterCrop: crop_size must be a positive int or (w, h), got "
                             f"{crop_size!r}")
        self.crop_size = size

    def __call__(self, results: dict) -> dict:
        keypoint = checked_keypoints(results, "CenterCrop")
        height, width = checked_img_shape(results, "CenterCrop")
        crop_w, crop_h = self.crop_size
        left, top = (width - crop_w) // 2, (height - crop_h) // 2
        box = (left, top, left + crop_w, top + crop_h)
        return _cropped(results, keypoint, box, height, width)

    def __repr__(self) -> str:
        return f"CenterCrop(crop_size={self.crop_size})"

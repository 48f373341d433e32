"""Checks of the keypoint array shared by the GCN-path transforms (2D or 3D skeletons).

Built on :mod:`.pose_checks`: a bad sample raises :class:`~skel_core.errors.AnnotationError`
naming the transform and the sample (its ``frame_dir``).
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from .pose_checks import require, sample_error


def keypoint_array(
    results: dict, transform: str, channels: Collection[int] = (2, 3)
) -> np.ndarray:
    """``results['keypoint']`` after checking it is a finite numeric (M, T, V, C) array.

    ``channels`` lists the allowed C. The array itself is returned (never copied or modified).
    """
    require(results, ["keypoint"], transform)
    kp = results["keypoint"]
    if not isinstance(kp, np.ndarray) or kp.dtype.kind not in "iuf" or kp.ndim != 4:
        what = f"{kp.dtype} array of shape {kp.shape}" if isinstance(kp, np.ndarray) \
            else type(kp).__name__
        raise sample_error(results, transform,
                           f"keypoint must be a numeric (M, T, V, C) array, got a {what}")
    if kp.shape[-1] not in channels:
        allowed = " or ".join(str(c) for c in sorted(channels))
        raise sample_error(results, transform,
                           f"keypoint has C = {kp.shape[-1]} channels per joint; needs {allowed}")
    if kp.dtype.kind == "f" and not np.isfinite(kp).all():
        count = kp.size - int(np.count_nonzero(np.isfinite(kp)))
        raise sample_error(results, transform, f"keypoint holds {count} NaN/inf value(s)")
    return kp


def float_dtype(array: np.ndarray) -> np.dtype:
    """The dtype a transform computes ``array`` in: float64 if it already is, else float32."""
    return np.dtype(np.float64 if array.dtype == np.float64 else np.float32)

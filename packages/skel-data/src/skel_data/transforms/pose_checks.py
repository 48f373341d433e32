"""Checks of the keypoint part of a sample, shared by the PoseC3D transforms.

Each check raises :class:`~skel_core.errors.AnnotationError` naming the transform, the sample
(its ``frame_dir``) and the problem, so that a bad clip is reported where it enters the pipeline
instead of failing deep inside numpy or producing silent garbage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from skel_core.errors import AnnotationError


def sample_error(results: dict, transform: str, problem: str) -> AnnotationError:
    """The error for ``problem`` of the sample ``results`` met by ``transform``."""
    name = results.get("frame_dir", "<unnamed>")
    return AnnotationError(f"{transform}: {problem}", source=f"sample {name!r}")


def require(results: dict, keys: Iterable[str], transform: str) -> None:
    """Raise unless every key of ``keys`` is in ``results``."""
    missing = [key for key in keys if key not in results]
    if missing:
        raise sample_error(
            results, transform, f"needs {missing}, which the sample lacks; it has {sorted(results)}"
        )


def checked_keypoints(results: dict, transform: str, *, allow_nan: bool = False) -> np.ndarray:
    """``results['keypoint']`` as an array of shape (M, T, V, 2) holding at least one frame.

    Coordinates must be finite unless ``allow_nan`` (NaN only; infinities are always refused).
    """
    require(results, ["keypoint"], transform)
    keypoint = np.asarray(results["keypoint"])
    if keypoint.ndim != 4 or keypoint.shape[-1] != 2:
        raise sample_error(
            results, transform,
            f"keypoint must have shape (M, T, V, 2) (2D pixel coordinates), got {keypoint.shape}",
        )
    if keypoint.dtype.kind not in "fiu":
        raise sample_error(results, transform, f"keypoint must be numeric, got {keypoint.dtype}")
    if keypoint.shape[1] == 0 or keypoint.shape[2] == 0:
        raise sample_error(results, transform, f"empty clip: keypoint has shape {keypoint.shape}")
    bad = np.isinf(keypoint) if allow_nan else ~np.isfinite(keypoint)
    if bad.any():
        what = "infinite" if allow_nan else "non-finite (NaN or infinite)"
        raise sample_error(results, transform, f"keypoint holds {int(bad.sum())} {what} values")
    return keypoint


def checked_scores(results: dict, transform: str, keypoint: np.ndarray) -> np.ndarray | None:
    """``results['keypoint_score']`` (M, T, V), finite and matching ``keypoint``; None if absent."""
    if "keypoint_score" not in results:
        return None
    scores = np.asarray(results["keypoint_score"])
    if scores.shape != keypoint.shape[:3]:
        raise sample_error(
            results, transform,
            f"keypoint_score has shape {scores.shape}, keypoint {keypoint.shape}: expected "
            f"{keypoint.shape[:3]}",
        )
    if scores.dtype.kind not in "fiu" or not np.isfinite(scores).all():
        raise sample_error(results, transform, "keypoint_score must hold finite numbers")
    return scores


def checked_img_shape(results: dict, transform: str) -> tuple[int, int]:
    """``results['img_shape']`` as (height, width), two positive integers."""
    require(results, ["img_shape"], transform)
    shape = results["img_shape"]
    try:
        height, width = (int(side) for side in shape)
        exact = all(int(side) == side for side in shape)
    except (TypeError, ValueError):
        exact = False
    if not exact or height <= 0 or width <= 0:
        raise sample_error(
            results, transform, f"img_shape must be (height, width) > 0, got {shape!r}"
        )
    return height, width


def generator(results: dict, transform: str) -> np.random.Generator:
    """The sample's random generator ``results['rng']`` (PoseDataset supplies one)."""
    rng = results.get("rng")
    if not isinstance(rng, np.random.Generator):
        raise sample_error(
            results, transform,
            f"results['rng'] must be a numpy.random.Generator (PoseDataset puts one in every "
            f"sample), got {type(rng).__name__}",
        )
    return rng


def index_pairs(name: str, left: Sequence[int], right: Sequence[int]) -> tuple[tuple, tuple]:
    """``left``/``right`` index lists (constructor arguments) checked to pair up."""
    left, right = tuple(left), tuple(right)
    if len(left) != len(right):
        raise ValueError(f"{name}: left and right lists differ in length: {left} vs {right}")
    for index in left + right:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f"{name}: indices must be non-negative ints, got {index!r}")
    return left, right


def swap_permutation(
    results: dict, transform: str, left: Sequence[int], right: Sequence[int], size: int, what: str
) -> np.ndarray:
    """The permutation of ``range(size)`` exchanging ``left[k]`` and ``right[k]``.

    ``what`` names the indexed items (keypoints, limbs) in the error an index out of range gives.
    """
    outside = [index for index in (*left, *right) if index >= size]
    if outside:
        raise sample_error(
            results, transform, f"{what} indices {outside} out of range for {size} {what}"
        )
    order = np.arange(size)
    order[list(left)], order[list(right)] = list(right), list(left)
    return order

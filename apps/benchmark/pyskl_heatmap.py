"""A numpy port of PYSKL's ``GeneratePoseTarget`` (``pyskl/datasets/pipelines/
heatmap_related.py``): the baseline of ``skel-bench heatmap`` and the independent check that
``skel_kernels.render_heatmaps`` draws PYSKL's maps.

The port keeps PYSKL's loops and arithmetic on purpose, since its speed is what skel is measured
against: frame by frame, channel by channel, person by person, a window cut with ``int()``
around each keypoint or limb, a float32 pixel grid, everything combined by maximum, and the limb
patches' exponential evaluated in float64 (PYSKL's 0/1 masks are int64, which promotes them).
What it leaves out is the caller's side of the transform: ``scaling`` and ``use_score`` (scale
the coordinates and pass ones as scores beforehand), and PYSKL's in-place scaling of the input.
One addition: keypoint and limb channels may be asked for together (PYSKL asserts exactly one);
the keypoint channels then come first, as in ``render_heatmaps``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

EPS = 1e-3  # PYSKL's smallest score that draws

# GeneratePoseTarget's defaults: the COCO-17 limbs ("skeletons") and the keypoint channels that
# swap places when the maps are mirrored (``double=True``).
COCO_LIMBS: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8), (8, 10), (5, 11),
    (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12))
COCO_LEFT_KP = (1, 3, 5, 7, 9, 11, 13, 15)
COCO_RIGHT_KP = (2, 4, 6, 8, 10, 12, 14, 16)


def generate_pose_target(
    keypoint: np.ndarray,
    keypoint_score: np.ndarray,
    img_shape: tuple[int, int],
    *,
    sigma: float = 0.6,
    with_kp: bool = True,
    limbs: Sequence[Sequence[int]] | None = None,
    double: bool = False,
    left: Sequence[int] = COCO_LEFT_KP,
    right: Sequence[int] = COCO_RIGHT_KP,
    eps: float = EPS,
) -> np.ndarray:
    """PYSKL's ``GeneratePoseTarget`` on one record.

    Args:
        keypoint: (M, T, V, 2) pixel coordinates of M persons over T frames.
        keypoint_score: (M, T, V) scores; below ``eps`` a keypoint draws nothing.
        img_shape: (height, width) of the maps.
        sigma: the Gaussian's standard deviation in pixels.
        with_kp: render the V keypoint channels.
        limbs: keypoint index pairs; each adds a channel after the keypoint channels.
        double: append the mirrored maps (PYSKL's test-time flip): the maps flipped left to
            right with channels ``left[i]`` and ``right[i]`` swapped.
        left, right: the channels that swap when mirrored (PYSKL's ``left_kp``/``right_kp``).
        eps: the smallest score that draws.

    Returns:
        (T, C, height, width) float32, or (2T, C, height, width) with ``double``.
    """
    keypoint, keypoint_score = _checked(keypoint, keypoint_score)
    height, width = img_shape
    pairs = [] if limbs is None else [(int(a), int(b)) for a, b in limbs]
    num_joints = keypoint.shape[2]
    channels = (num_joints if with_kp else 0) + len(pairs)
    maps = np.zeros((keypoint.shape[1], channels, height, width), dtype=np.float32)
    for frame in range(keypoint.shape[1]):
        points, scores = keypoint[:, frame], keypoint_score[:, frame]
        canvases = iter(maps[frame])
        if with_kp:
            for joint in range(num_joints):
                _draw_keypoints(next(canvases), points[:, joint], scores[:, joint], sigma, eps)
        for a, b in pairs:
            _draw_limbs(next(canvases), points[:, a], points[:, b], scores[:, a], scores[:, b],
                        sigma, eps)
    if not double:
        return maps
    mirrored = maps[..., ::-1][:, mirrored_channel_order(channels, left, right)]
    return np.concatenate([maps, mirrored])


def mirrored_channel_order(channels: int, left: Sequence[int],
                           right: Sequence[int]) -> np.ndarray:
    """The channel order of mirrored maps: ``left[i]`` and ``right[i]`` swapped."""
    order = np.arange(channels)
    for a, b in zip(left, right, strict=True):
        order[a], order[b] = b, a
    return order


def pyskl_heatmaps(
    keypoints: np.ndarray,
    scores: np.ndarray,
    height: int,
    width: int,
    sigma: float = 0.6,
    limbs: Sequence[Sequence[int]] | None = None,
    with_keypoints: bool = True,
    eps: float = EPS,
) -> np.ndarray:
    """``render_heatmaps``'s arguments and layout, computed by :func:`generate_pose_target` one
    clip at a time: (N, M, T, K, 2) keypoints and (N, M, T, K) scores (numpy arrays or CPU
    tensors) -> (N, C, T, height, width) float32."""
    keypoints, scores = np.asarray(keypoints), np.asarray(scores)
    if keypoints.ndim != 5:
        raise ValueError(f"pyskl_heatmaps: keypoints must be (N, M, T, K, 2), got shape "
                         f"{keypoints.shape}")
    clips = [generate_pose_target(keypoints[n], scores[n], (height, width), sigma=sigma,
                                  with_kp=with_keypoints, limbs=limbs, eps=eps)
             for n in range(keypoints.shape[0])]
    return np.stack(clips).transpose(0, 2, 1, 3, 4)


def _draw_keypoints(canvas: np.ndarray, centers: np.ndarray, values: np.ndarray, sigma: float,
                    eps: float) -> None:
    """PYSKL's ``generate_a_heatmap``: one keypoint of every person into ``canvas`` (H, W)."""
    height, width = canvas.shape
    for center, value in zip(centers, values, strict=True):
        if value < eps:
            continue
        x0, x1 = max(int(center[0] - 3 * sigma), 0), min(int(center[0] + 3 * sigma) + 1, width)
        y0, y1 = max(int(center[1] - 3 * sigma), 0), min(int(center[1] + 3 * sigma) + 1, height)
        xs = np.arange(x0, x1, 1, np.float32)
        ys = np.arange(y0, y1, 1, np.float32)[:, None]
        if not (xs.size and ys.size):
            continue
        patch = np.exp(-((xs - center[0]) ** 2 + (ys - center[1]) ** 2) / 2 / sigma**2) * value
        canvas[y0:y1, x0:x1] = np.maximum(canvas[y0:y1, x0:x1], patch)


def _draw_limbs(canvas: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                start_values: np.ndarray, end_values: np.ndarray, sigma: float,
                eps: float) -> None:
    """PYSKL's ``generate_a_limb_heatmap``: one limb of every person into ``canvas`` (H, W)."""
    height, width = canvas.shape
    for start, end, start_value, end_value in zip(starts, ends, start_values, end_values,
                                                  strict=True):
        value = min(start_value, end_value)
        if value < eps:
            continue
        x0 = max(int(min(start[0], end[0]) - 3 * sigma), 0)
        x1 = min(int(max(start[0], end[0]) + 3 * sigma) + 1, width)
        y0 = max(int(min(start[1], end[1]) - 3 * sigma), 0)
        y1 = min(int(max(start[1], end[1]) + 3 * sigma) + 1, height)
        xs = np.arange(x0, x1, 1, np.float32)
        ys = np.arange(y0, y1, 1, np.float32)[:, None]
        if not (xs.size and ys.size):
            continue
        to_start = (xs - start[0]) ** 2 + (ys - start[1]) ** 2
        to_end = (xs - end[0]) ** 2 + (ys - end[1]) ** 2
        length2 = (start[0] - end[0]) ** 2 + (start[1] - end[1]) ** 2
        if length2 < 1:  # too short to have a direction: PYSKL draws the start keypoint
            _draw_keypoints(canvas, start[None], start_value[None], sigma, eps)
            continue
        # how far along the limb each pixel projects, as a fraction of its length
        along = (to_start - to_end + length2) / 2.0 / length2
        to_line = ((xs - (start[0] + along * (end[0] - start[0]))) ** 2
                   + (ys - (start[1] + along * (end[1] - start[1]))) ** 2)
        d2 = np.where(along <= 0, to_start, np.where(along >= 1, to_end, to_line))
        patch = np.exp(-d2.astype(np.float64) / 2.0 / sigma**2) * value
        canvas[y0:y1, x0:x1] = np.maximum(canvas[y0:y1, x0:x1], patch)


def _checked(keypoint: np.ndarray, keypoint_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keypoint, keypoint_score = np.asarray(keypoint), np.asarray(keypoint_score)
    if keypoint.ndim != 4 or keypoint.shape[3] != 2:
        raise ValueError(f"generate_pose_target: keypoint must be (M, T, V, 2), got shape "
                         f"{keypoint.shape}")
    if keypoint_score.shape != keypoint.shape[:3]:
        raise ValueError(f"generate_pose_target: keypoint_score must be (M, T, V) = "
                         f"{keypoint.shape[:3]} to match keypoint, got {keypoint_score.shape}")
    return keypoint, keypoint_score

"""Gaussian heatmaps of keypoints and limbs (PoseC3D's input), rendered for a whole batch.

:func:`render_heatmaps` is the public op; :func:`render_heatmaps_reference` is its plain PyTorch
definition, which every fast implementation is tested against.

The maps are those of PYSKL's ``GeneratePoseTarget`` (``generate_a_heatmap``,
``generate_a_limb_heatmap``), pixel for pixel:

* a keypoint at ``(mx, my)`` with score ``s >= eps`` adds ``s * exp(-d2 / (2 sigma^2))``, ``d2``
  the squared distance from the pixel ``(x, y)`` (column, row) to the keypoint, on the pixels
  ``int(mx - 3 sigma) <= x <= int(mx + 3 sigma)`` and likewise for ``y``, clipped to the image;
  ``int`` truncates towards zero, as in PYSKL, so a keypoint up to ``3 sigma + 1`` pixels left
  of or above the image still reaches its first column or row;
* a limb ``(a, b)`` whose two scores are both ``>= eps`` adds ``min(s_a, s_b) * exp(-d2 / (2
  sigma^2))``, ``d2`` the squared distance to the segment from ``a`` to ``b``, on the bounding
  box of the two end points grown by ``3 sigma`` with the same truncation; a limb shorter than
  one pixel (``|ab|^2 < 1``) is drawn as keypoint ``a`` with ``a``'s own score, as PYSKL does;
* the persons of a frame, and everything drawn into a channel, combine by maximum (not sum).

Deliberate differences from PYSKL:

* PYSKL renders keypoint maps or limb maps (it asserts exactly one of them); here both may be
  asked for, and the output then holds the K keypoint channels followed by the L limb channels.
* A keypoint or limb with a non-finite coordinate or score draws nothing (PYSKL raises on a NaN
  coordinate and spreads a NaN score into the map).
* Values are computed in the keypoints' precision (float32 or float64; float16 and bfloat16 are
  computed in float32) and returned as float32.
* PYSKL's ``scaling`` and ``use_score`` options belong to the caller: scale the coordinates (and
  height/width) beforehand, and pass ones as scores.

The op is not differentiable: its output never requires grad.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

from skel_kernels._dispatch import choose_impl

_OP = torch.ops.skel.render_heatmaps.default
_COMPUTED_IN_FLOAT32 = (torch.float16, torch.bfloat16)


def render_heatmaps(
    keypoints: Tensor,
    scores: Tensor,
    *,
    height: int,
    width: int,
    sigma: float = 0.6,
    limbs: Tensor | Sequence[Sequence[int]] | None = None,
    with_keypoints: bool = True,
    eps: float = 1e-3,
    impl: str = "auto",
) -> Tensor:
    """Render Gaussian heatmaps of keypoints (and limbs) for every clip, person and frame.

    Args:
        keypoints: (N, M, T, K, 2) float, x (column) and y (row) in output pixel coordinates.
        scores: (N, M, T, K) float, each keypoint's confidence; below ``eps`` it draws nothing.
        height, width: the size of each map, in pixels.
        sigma: the Gaussian's standard deviation, in pixels.
        limbs: (L, 2) keypoint index pairs (a tensor or a sequence of pairs); each adds a channel.
        with_keypoints: whether to render the K keypoint channels.
        eps: the smallest score that draws.
        impl: ``'cpu'`` / ``'cuda'`` (the compiled kernels), ``'triton'``, ``'reference'``
            (plain PyTorch) or ``'auto'`` (the compiled kernel for the tensors' device where
            there is one, else the reference).

    Returns:
        (N, C, T, height, width) float32 on the keypoints' device, with C = K keypoint channels
        (if ``with_keypoints``) followed by L limb channels. See the module docstring for the
        exact maps. Not differentiable.

    Raises:
        TypeError: keypoints or scores is not a tensor.
        ValueError: a shape, dtype, device, size, sigma, eps, limb or impl is invalid.
    """
    keypoints, scores = _checked_inputs(keypoints, scores)
    pairs = _checked_limbs(limbs, keypoints)
    height, width = _positive_int("height", height), _positive_int("width", width)
    sigma, eps = _positive_float("sigma", sigma), _positive_float("eps", eps)
    channels = (keypoints.shape[3] if with_keypoints else 0) + (0 if pairs is None else len(pairs))
    if channels == 0:
        raise ValueError(f"render_heatmaps: nothing to render: with_keypoints={with_keypoints}, "
                         f"K = {keypoints.shape[3]} and no limbs")
    chosen = choose_impl("render_heatmaps", impl, keypoints)
    arguments = (keypoints, scores, height, width, sigma, pairs, with_keypoints, eps)
    if chosen == "compiled":
        return _OP(*arguments)
    if chosen == "triton":
        from skel_kernels.triton import render_heatmaps_triton

        return render_heatmaps_triton(*arguments)
    return render_heatmaps_reference(*arguments)


def render_heatmaps_reference(
    keypoints: Tensor,
    scores: Tensor,
    height: int,
    width: int,
    sigma: float,
    limbs: Tensor | None,
    with_keypoints: bool,
    eps: float,
) -> Tensor:
    """The definition of ``render_heatmaps``, dense and unchecked: every map is evaluated on the
    whole image and zeroed outside PYSKL's window. Arguments as in the op's schema."""
    columns = torch.arange(width, dtype=keypoints.dtype, device=keypoints.device)
    rows = torch.arange(height, dtype=keypoints.dtype, device=keypoints.device)[:, None]
    grid = (columns, rows)
    maps = []  # each (N, M, T, channels, H, W)
    if with_keypoints:
        maps.append(_keypoint_maps(keypoints, scores, grid, sigma, eps))
    if limbs is not None:
        starts, ends = keypoints[..., limbs[:, 0], :], keypoints[..., limbs[:, 1], :]
        start_scores, end_scores = scores[..., limbs[:, 0]], scores[..., limbs[:, 1]]
        maps.append(_limb_maps(starts, ends, start_scores, end_scores, grid, sigma, eps))
    per_person = torch.cat(maps, dim=3)
    if per_person.shape[1] == 0:
        combined = per_person.new_zeros(per_person.shape[:1] + per_person.shape[2:])
    else:
        combined = per_person.amax(dim=1)  # (N, T, C, H, W)
    return combined.transpose(1, 2).to(torch.float32).contiguous()


def _keypoint_maps(centers: Tensor, scores: Tensor, grid: tuple[Tensor, Tensor], sigma: float,
                   eps: float) -> Tensor:
    """(..., H, W) maps of keypoints ``centers`` (..., 2) with ``scores`` (...)."""
    columns, rows = grid
    x, y = centers[..., 0, None, None], centers[..., 1, None, None]
    drawn = _in_window(centers, centers, grid, sigma) & _draws(scores, eps)
    d2 = (columns - x) ** 2 + (rows - y) ** 2
    return torch.where(drawn, torch.exp(-d2 / (2 * sigma**2)) * scores[..., None, None], 0)


def _limb_maps(starts: Tensor, ends: Tensor, start_scores: Tensor, end_scores: Tensor,
               grid: tuple[Tensor, Tensor], sigma: float, eps: float) -> Tensor:
    """(..., H, W) maps of the segments from ``starts`` to ``ends`` (..., 2)."""
    columns, rows = grid
    sx, sy = starts[..., 0, None, None], starts[..., 1, None, None]
    ex, ey = ends[..., 0, None, None], ends[..., 1, None, None]
    low, high = torch.minimum(starts, ends), torch.maximum(starts, ends)
    drawn = (_in_window(low, high, grid, sigma) & _draws(start_scores, eps)
             & _draws(end_scores, eps))
    d2_start = (columns - sx) ** 2 + (rows - sy) ** 2
    d2_end = (columns - ex) ** 2 + (rows - ey) ** 2
    d2_ab = (sx - ex) ** 2 + (sy - ey) ** 2
    # Where each pixel projects onto the line, as a fraction of the way from start to end.
    along = (d2_start - d2_end + d2_ab) / 2 / d2_ab
    d2_line = (columns - (sx + along * (ex - sx))) ** 2 + (rows - (sy + along * (ey - sy))) ** 2
    # Beyond the end points the nearest point is the end point (`along` is NaN only when the
    # limb's length overflows; the start's distance, itself overflowing, then draws nothing).
    d2 = torch.where(along >= 1, d2_end, torch.where(along > 0, d2_line, d2_start))
    score = torch.minimum(start_scores, end_scores)[..., None, None]
    segments = torch.where(drawn, torch.exp(-d2 / (2 * sigma**2)) * score, 0)
    # PYSKL draws a limb shorter than one pixel as its start keypoint, with the start's score;
    # that keypoint's window lies inside the limb's, so `drawn` covers it.
    points = _keypoint_maps(starts, start_scores, grid, sigma, eps)
    return torch.where(drawn & (d2_ab < 1), points, segments)


def _in_window(low: Tensor, high: Tensor, grid: tuple[Tensor, Tensor], sigma: float) -> Tensor:
    """(..., H, W) masks of PYSKL's windows ``int(low - 3 sigma) <= pixel < int(high + 3 sigma)
    + 1`` for ``low``/``high`` (..., 2); the grid itself clips them to the image. A non-finite
    bound gives an empty window."""
    first = torch.trunc(low - 3 * sigma)[..., None, None]
    end = torch.trunc(high + 3 * sigma)[..., None, None] + 1
    columns, rows = grid
    inside_x = (columns >= first[..., 0, :, :]) & (columns < end[..., 0, :, :])
    inside_y = (rows >= first[..., 1, :, :]) & (rows < end[..., 1, :, :])
    finite = (torch.isfinite(low) & torch.isfinite(high)).all(dim=-1)[..., None, None]
    return inside_x & inside_y & finite


def _draws(scores: Tensor, eps: float) -> Tensor:
    """(..., 1, 1): whether each score is finite and at least ``eps``."""
    return ((scores >= eps) & torch.isfinite(scores))[..., None, None]


def _checked_inputs(keypoints: Tensor, scores: Tensor) -> tuple[Tensor, Tensor]:
    for name, value in (("keypoints", keypoints), ("scores", scores)):
        if not isinstance(value, Tensor):
            raise TypeError(f"render_heatmaps: {name} must be a torch.Tensor, got "
                            f"{type(value).__name__}")
        if not value.is_floating_point():
            raise ValueError(f"render_heatmaps: {name} must be floating point, got {value.dtype}")
    if keypoints.dim() != 5 or keypoints.shape[4] != 2:
        raise ValueError("render_heatmaps: keypoints must have shape (N, M, T, K, 2), got "
                         f"{tuple(keypoints.shape)}")
    if scores.shape != keypoints.shape[:4]:
        raise ValueError(f"render_heatmaps: scores must have shape (N, M, T, K) = "
                         f"{tuple(keypoints.shape[:4])} to match keypoints, got "
                         f"{tuple(scores.shape)}")
    if scores.device != keypoints.device:
        raise ValueError(f"render_heatmaps: scores are on {scores.device} but keypoints on "
                         f"{keypoints.device}")
    if keypoints.dtype in _COMPUTED_IN_FLOAT32:
        keypoints = keypoints.float()
    return keypoints.detach(), scores.detach().to(keypoints.dtype)


def _checked_limbs(limbs: Tensor | Sequence[Sequence[int]] | None,
                   keypoints: Tensor) -> Tensor | None:
    """``limbs`` as an int64 (L, 2) tensor on the keypoints' device, checked."""
    if limbs is None:
        return None
    if isinstance(limbs, Tensor):
        if limbs.is_floating_point() or limbs.is_complex() or limbs.dtype == torch.bool:
            raise ValueError(f"render_heatmaps: limbs must hold integers, got {limbs.dtype}")
        if limbs.dim() != 2 or limbs.shape[1] != 2:
            raise ValueError(f"render_heatmaps: limbs must have shape (L, 2), got "
                             f"{tuple(limbs.shape)}")
        # Reading the indices cannot be traced; under torch.compile the kernel checks them.
        if not torch.compiler.is_compiling():
            _check_limb_indices(limbs.tolist(), keypoints.shape[3])
        return limbs.detach().to(device=keypoints.device, dtype=torch.int64)
    try:
        pairs = [tuple(pair) for pair in limbs]
    except TypeError as error:
        raise ValueError(f"render_heatmaps: limbs must be (L, 2) keypoint index pairs, got "
                         f"{limbs!r}") from error
    for index, pair in enumerate(pairs):
        if len(pair) != 2 or not all(_is_int(joint) for joint in pair):
            raise ValueError(f"render_heatmaps: limbs must have shape (L, 2) and hold keypoint "
                             f"indices; limb {index} is {pair!r}")
    _check_limb_indices(pairs, keypoints.shape[3])
    return torch.tensor(pairs, dtype=torch.int64, device=keypoints.device).reshape(-1, 2)


def _check_limb_indices(pairs: Sequence[Sequence[int]], joints: int) -> None:
    for index, pair in enumerate(pairs):
        if not all(0 <= joint < joints for joint in pair):
            raise ValueError(f"render_heatmaps: limb {index} {tuple(pair)} joins a keypoint "
                             f"outside [0, {joints}) (K = {joints})")


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_int(name: str, value: object) -> int:
    if not _is_int(value) or value <= 0:
        raise ValueError(f"render_heatmaps: {name} must be a positive int, got {value!r}")
    return int(value)


def _positive_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        0 < value < math.inf
    ):
        raise ValueError(f"render_heatmaps: {name} must be a positive number, got {value!r}")
    return float(value)

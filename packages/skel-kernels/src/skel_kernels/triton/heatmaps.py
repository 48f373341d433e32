"""Triton kernel of ``render_heatmaps``, as the ``skel_triton::render_heatmaps`` custom op that
torch.compile can trace.

The maps are those of :func:`skel_kernels.heatmaps.render_heatmaps_reference` (see that
module's docstring). One program renders a ``BLOCK_H x BLOCK_W`` tile of one (clip, channel,
frame) map, looping over the persons and keeping the maximum. A keypoint channel is drawn as a
limb from the keypoint to itself: a limb shorter than one pixel is its start keypoint, with the
start's window and score, which for a keypoint is exactly the keypoint's map.
"""

import torch
import triton
import triton.language as tl
from torch import Tensor
from torch.library import wrap_triton

from skel_kernels.triton._ops import kernel_op

# Tiles of about 2048 pixels, at most 128 columns wide, run by 8 warps (with 4, float64 tiles
# spilled registers on sm_90).
_TILE_PIXELS = 2048
_MAX_TILE_WIDTH = 128
_NUM_WARPS = 8


def launch_config(height: int, width: int) -> dict[str, int]:
    """The kernel's tile size and warps for maps of ``height x width`` pixels."""
    block_w = min(triton.next_power_of_2(width), _MAX_TILE_WIDTH)
    return {"BLOCK_H": min(triton.next_power_of_2(height), _TILE_PIXELS // block_w),
            "BLOCK_W": block_w, "num_warps": _NUM_WARPS}


@triton.jit
def _trunc(value):
    """Round towards zero, as Python's int() does."""
    return tl.where(value < 0, tl.ceil(value), tl.floor(value))


@triton.jit
def _finite(value):
    # inf - inf and NaN - NaN are NaN, which equals nothing.
    return (value - value) == 0


@triton.jit
def _draws(sx, sy, ex, ey, start_score, end_score, eps):
    """Whether a limb (or keypoint) draws: finite end points, finite scores of at least eps."""
    return (_finite(sx) & _finite(sy) & _finite(ex) & _finite(ey)
            & (start_score >= eps) & _finite(start_score)
            & (end_score >= eps) & _finite(end_score))


@triton.jit
def _limb_map(columns, rows, sx, sy, ex, ey, start_score, end_score, reach, two_sigma_sq):
    """The ``(rows, columns)`` map of the segment from ``(sx, sy)`` to ``(ex, ey)`` (finite):
    PYSKL's limb map, or its start keypoint's map when the segment is shorter than one pixel."""
    d2_ab = (sx - ex) * (sx - ex) + (sy - ey) * (sy - ey)
    point = d2_ab < 1
    low_x = tl.where(point, sx, tl.minimum(sx, ex))
    high_x = tl.where(point, sx, tl.maximum(sx, ex))
    low_y = tl.where(point, sy, tl.minimum(sy, ey))
    high_y = tl.where(point, sy, tl.maximum(sy, ey))
    inside = ((columns >= _trunc(low_x - reach)) & (columns < _trunc(high_x + reach) + 1)
              & (rows >= _trunc(low_y - reach)) & (rows < _trunc(high_y + reach) + 1))

    d2_start = (columns - sx) * (columns - sx) + (rows - sy) * (rows - sy)
    d2_end = (columns - ex) * (columns - ex) + (rows - ey) * (rows - ey)
    # Where each pixel projects onto the line, as a fraction of the way from start to end
    # (unused for a point, whose d2_ab may be 0).
    along = (d2_start - d2_end + d2_ab) / 2 / tl.maximum(d2_ab, 1.0)
    dx_line = columns - (sx + along * (ex - sx))
    dy_line = rows - (sy + along * (ey - sy))
    d2_segment = tl.where(along >= 1, d2_end,
                          tl.where(along > 0, dx_line * dx_line + dy_line * dy_line, d2_start))
    d2 = tl.where(point, d2_start, d2_segment)
    score = tl.where(point, start_score, tl.minimum(start_score, end_score))
    return tl.where(inside, tl.exp(-d2 / two_sigma_sq) * score, 0.0)


@triton.jit
def _heatmap_kernel(
    keypoints_ptr, scores_ptr, limbs_ptr, params_ptr, out_ptr,
    persons, frames, joints, channels, keypoint_channels, height, width, tiles_w,
    BLOCK_H: tl.constexpr, BLOCK_W: tl.constexpr,
):
    """One program per (clip, channel, frame) map x pixel tile. ``keypoints`` (N, M, T, K, 2),
    ``scores`` (N, M, T, K), ``limbs`` (L, 2) and ``out`` (N, C, T, H, W) are contiguous;
    ``params`` holds 3 sigma, 2 sigma^2 and eps in the keypoints' dtype."""
    dtype = keypoints_ptr.dtype.element_ty
    plane = tl.program_id(0)
    t = plane % frames
    channel = plane // frames % channels
    n = plane // frames // channels
    row_offsets = tl.program_id(1) // tiles_w * BLOCK_H + tl.arange(0, BLOCK_H)
    column_offsets = tl.program_id(1) % tiles_w * BLOCK_W + tl.arange(0, BLOCK_W)
    rows = row_offsets.to(dtype)[:, None]
    columns = column_offsets.to(dtype)[None, :]

    is_limb = channel >= keypoint_channels
    limb = tl.maximum(channel - keypoint_channels, 0)
    start = tl.where(is_limb, tl.load(limbs_ptr + 2 * limb, mask=is_limb, other=0), channel)
    end = tl.where(is_limb, tl.load(limbs_ptr + 2 * limb + 1, mask=is_limb, other=0), channel)
    reach = tl.load(params_ptr)
    two_sigma_sq = tl.load(params_ptr + 1)
    eps = tl.load(params_ptr + 2)

    acc = tl.full((BLOCK_H, BLOCK_W), 0, dtype)
    for m in range(persons):
        frame = ((n.to(tl.int64) * persons + m) * frames + t) * joints
        sx = tl.load(keypoints_ptr + 2 * (frame + start))
        sy = tl.load(keypoints_ptr + 2 * (frame + start) + 1)
        ex = tl.load(keypoints_ptr + 2 * (frame + end))
        ey = tl.load(keypoints_ptr + 2 * (frame + end) + 1)
        start_score = tl.load(scores_ptr + frame + start)
        end_score = tl.load(scores_ptr + frame + end)
        if _draws(sx, sy, ex, ey, start_score, end_score, eps):
            acc = tl.maximum(acc, _limb_map(columns, rows, sx, sy, ex, ey, start_score,
                                            end_score, reach, two_sigma_sq))

    offsets = (plane.to(tl.int64) * height + row_offsets[:, None]) * width + column_offsets
    mask = (row_offsets[:, None] < height) & (column_offsets[None, :] < width)
    tl.store(out_ptr + offsets, acc.to(tl.float32), mask=mask)


def _render_heatmaps_fake(
    keypoints: Tensor,
    scores: Tensor,
    height: int,
    width: int,
    sigma: float,
    limbs: Tensor | None,
    with_keypoints: bool,
    eps: float,
) -> Tensor:
    clips, _, frames, joints, _ = keypoints.shape
    channels = (joints if with_keypoints else 0) + (0 if limbs is None else limbs.shape[0])
    return keypoints.new_empty((clips, channels, frames, height, width), dtype=torch.float32)


@kernel_op("skel_triton::render_heatmaps", _render_heatmaps_fake)
def _render_heatmaps(
    keypoints: Tensor,
    scores: Tensor,
    height: int,
    width: int,
    sigma: float,
    limbs: Tensor | None,
    with_keypoints: bool,
    eps: float,
) -> Tensor:
    out = _render_heatmaps_fake(keypoints, scores, height, width, sigma, limbs, with_keypoints,
                                eps)
    clips, channels, frames = out.shape[:3]
    persons, joints = keypoints.shape[1], keypoints.shape[3]
    if limbs is None:  # read only for limb channels, of which there are none
        limbs = keypoints.new_empty((0, 2), dtype=torch.int64)
    # In the keypoints' dtype, so that float64 windows and exponents are computed in float64.
    params = keypoints.new_tensor([3 * sigma, 2 * sigma**2, eps])
    config = launch_config(height, width)
    tiles_w = triton.cdiv(width, config["BLOCK_W"])
    # Triton skips the empty grid of an empty output.
    grid = (clips * channels * frames, triton.cdiv(height, config["BLOCK_H"]) * tiles_w)
    wrap_triton(_heatmap_kernel)[grid](
        keypoints.contiguous(), scores.contiguous(), limbs.contiguous(), params, out,
        persons, frames, joints, channels, joints if with_keypoints else 0, height, width,
        tiles_w, **config,
    )
    return out


def render_heatmaps_triton(
    keypoints: Tensor,
    scores: Tensor,
    height: int,
    width: int,
    sigma: float,
    limbs: Tensor | None,
    with_keypoints: bool,
    eps: float,
) -> Tensor:
    """:func:`skel_kernels.render_heatmaps` computed by a Triton kernel.

    Takes the arguments :func:`skel_kernels.render_heatmaps` has checked: ``keypoints`` (N, M,
    T, K, 2) and ``scores`` (N, M, T, K) float32 or float64 on one device, positive ``height``,
    ``width``, ``sigma`` and ``eps``, ``limbs`` an int64 (L, 2) tensor of valid keypoint
    indices or None. Returns (N, C, T, height, width) float32, C = K keypoint channels (if
    ``with_keypoints``) followed by L limb channels. Runs on CUDA tensors, or on CPU tensors
    when ``TRITON_INTERPRET=1`` was set before this module was imported.
    """
    return _render_heatmaps(keypoints, scores, height, width, sigma, limbs, with_keypoints, eps)

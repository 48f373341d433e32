"""Triton kernels of ``graph_conv`` (forward and backward), as the ``skel_triton::graph_conv``
custom op that torch.compile can trace.

The semantics are those of :func:`skel_kernels.graph_conv_reference`. Every kernel works on a
tile of one clip: ``BLOCK_T`` frames times all ``V`` joints (padded to ``BLOCK_V``), flattened
frame-major into ``BLOCK_T * BLOCK_V`` columns, so that a tile of channels is a matrix that
``tl.dot`` multiplies by the weights (over channels) and, viewed as ``(channels * BLOCK_T,
BLOCK_V)``, by an adjacency matrix (over joints). The forward never stores the ``(N, K * C_out,
T, V)`` activation of the reference. The backward:

* ``grad_x`` is the forward itself with ``weight`` and ``adjacency`` transposed (strided views,
  no copies), applied to ``grad_out``;
* ``grad_weight`` and ``grad_bias`` (the weight of an extra input channel of ones) reduce over
  clips and frames, ``grad_adjacency`` over clips, frames and output channels; each program
  reduces its share of the tiles into its own slot of a buffer of partial sums
  (deterministic, no atomics), which torch then sums.

Matrix products use ``input_precision="ieee"``: TF32 would miss float32 accuracy by far. Triton
skips empty grids, so empty tensors need no special case.
"""

import triton
import triton.language as tl
from torch import Tensor
from torch.library import wrap_triton

from skel_kernels.triton._ops import kernel_op

# Tiles of about 64 (frame, joint) columns and 32 output x 16 input channels, run by 8 warps:
# the largest that compiled for sm_90 without register spills in float32 and float64.
_TILE_COLUMNS = 64
_MAX_BLOCK_O = 32
_BLOCK_C = 16
_NUM_WARPS = 8
# tl.dot needs every matrix side to be at least 16 on GPUs.
_MIN_DOT_SIDE = 16
# How many programs share the reduction over tiles in the backward (partial-sum slots).
_MAX_SPLITS = 32


@triton.jit
def _load_matrix(ptr, rows, cols, row_limit, col_limit, row_stride, col_stride):
    """Entries ``[rows, cols]`` of a strided matrix, zero outside ``row_limit x col_limit``."""
    mask = (rows[:, None] < row_limit) & (cols[None, :] < col_limit)
    offsets = rows[:, None] * row_stride + cols[None, :] * col_stride
    return tl.load(ptr + offsets, mask=mask, other=0.0)


@triton.jit
def _load_features(ptr, channels, channel_limit, t0, frames, joints, stride_c, stride_t,
                   stride_v, BLOCK_T: tl.constexpr, BLOCK_V: tl.constexpr):
    """A ``(channels, BLOCK_T * BLOCK_V)`` tile of one clip's ``(C, T, V)`` features starting at
    frame ``t0``, columns frame-major, zero outside the tensor."""
    columns = tl.arange(0, BLOCK_T * BLOCK_V)
    t = t0 + columns // BLOCK_V
    v = columns % BLOCK_V
    mask = (channels[:, None] < channel_limit) & ((t < frames) & (v < joints))[None, :]
    offsets = channels[:, None] * stride_c + (t * stride_t + v * stride_v)[None, :]
    return tl.load(ptr + offsets, mask=mask, other=0.0)


@triton.jit
def _mix_channels(x_ptr, weight_ptr, bias_ptr, k, outputs, t0, c_in, c_out, frames, joints,
                  x_stride_c, x_stride_t, x_stride_v, w_stride_k, w_stride_o, w_stride_c,
                  b_stride_k, b_stride_o, HAS_BIAS: tl.constexpr, BLOCK_O: tl.constexpr,
                  BLOCK_C: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_V: tl.constexpr):
    """Subset ``k``'s 1x1 convolution ``weight[k] @ x + bias[k]`` on one clip's tile (``x_ptr``
    points at the clip): ``(BLOCK_O, BLOCK_T * BLOCK_V)`` for output channels ``outputs``."""
    dtype = x_ptr.dtype.element_ty
    mixed = tl.full((BLOCK_O, BLOCK_T * BLOCK_V), 0, dtype)
    for c0 in range(0, c_in, BLOCK_C):
        inputs = c0 + tl.arange(0, BLOCK_C)
        weight = _load_matrix(weight_ptr + k * w_stride_k, outputs, inputs, c_out, c_in,
                              w_stride_o, w_stride_c)
        x = _load_features(x_ptr, inputs, c_in, t0, frames, joints, x_stride_c, x_stride_t,
                           x_stride_v, BLOCK_T, BLOCK_V)
        mixed = tl.dot(weight, x, mixed, input_precision="ieee")
    if HAS_BIAS:
        bias = tl.load(bias_ptr + k * b_stride_k + outputs * b_stride_o, mask=outputs < c_out,
                       other=0.0)
        mixed += bias[:, None]
    return mixed


@triton.jit
def _graph_conv_kernel(
    x_ptr, weight_ptr, adjacency_ptr, bias_ptr, out_ptr,
    c_in, c_out, frames, joints, subsets, t_blocks,
    x_stride_n, x_stride_c, x_stride_t, x_stride_v,
    w_stride_k, w_stride_o, w_stride_c,
    a_stride_k, a_stride_v, a_stride_w,
    b_stride_k, b_stride_o,
    HAS_BIAS: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_C: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_V: tl.constexpr,
):
    """One program per (clip, frame tile) x output-channel tile; ``out`` is contiguous."""
    n = tl.program_id(0) // t_blocks
    t0 = tl.program_id(0) % t_blocks * BLOCK_T
    outputs = tl.program_id(1) * BLOCK_O + tl.arange(0, BLOCK_O)
    joint_offsets = tl.arange(0, BLOCK_V)
    x_clip = x_ptr + n.to(tl.int64) * x_stride_n

    acc = tl.full((BLOCK_O * BLOCK_T, BLOCK_V), 0, out_ptr.dtype.element_ty)
    for k in range(subsets):
        mixed = _mix_channels(x_clip, weight_ptr, bias_ptr, k, outputs, t0, c_in, c_out, frames,
                              joints, x_stride_c, x_stride_t, x_stride_v, w_stride_k,
                              w_stride_o, w_stride_c, b_stride_k, b_stride_o, HAS_BIAS,
                              BLOCK_O, BLOCK_C, BLOCK_T, BLOCK_V)
        adjacency = _load_matrix(adjacency_ptr + k * a_stride_k, joint_offsets, joint_offsets,
                                 joints, joints, a_stride_v, a_stride_w)
        acc = tl.dot(tl.reshape(mixed, (BLOCK_O * BLOCK_T, BLOCK_V)), adjacency, acc,
                     input_precision="ieee")

    rows = tl.arange(0, BLOCK_O * BLOCK_T)
    o = rows // BLOCK_T + tl.program_id(1) * BLOCK_O
    t = rows % BLOCK_T + t0
    mask = ((o < c_out) & (t < frames))[:, None] & (joint_offsets < joints)[None, :]
    offsets = ((n.to(tl.int64) * c_out + o) * frames + t)[:, None] * joints + joint_offsets
    tl.store(out_ptr + offsets, acc, mask=mask)


@triton.jit
def _weight_grad_kernel(
    grad_ptr, x_ptr, adjacency_ptr, weight_part_ptr, bias_part_ptr,
    c_in, c_out, frames, joints, subsets, t_blocks, o_blocks, items, splits,
    g_stride_n, g_stride_o, g_stride_t, g_stride_w,
    x_stride_n, x_stride_c, x_stride_t, x_stride_v,
    a_stride_k, a_stride_v, a_stride_w,
    HAS_BIAS: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_C: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_V: tl.constexpr,
):
    """Partial sums of ``grad_weight[k, o, c] = sum_{n,t,v} spread[n, o, t, v] x[n, c, t, v]``,
    ``spread = grad_out @ A[k]^T`` (over joints), and of ``grad_bias[k, o] = sum_{n,t,v}
    spread[n, o, t, v]``: the bias is the weight of an extra input channel of ones (index
    ``c_in``), so one product gives both.

    One program per (subset, output tile) x input tile x split; split ``s`` reduces the (clip,
    frame tile) items ``s, s + splits, ...`` into slot ``s`` of the contiguous buffers
    ``weight_part`` (splits, K, C_out, C_in) and ``bias_part`` (splits, K, C_out)."""
    k = tl.program_id(0) // o_blocks
    outputs = tl.program_id(0) % o_blocks * BLOCK_O + tl.arange(0, BLOCK_O)
    inputs = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    split = tl.program_id(2)
    dtype = x_ptr.dtype.element_ty

    joint_offsets = tl.arange(0, BLOCK_V)
    adjacency_t = tl.trans(_load_matrix(adjacency_ptr + k * a_stride_k, joint_offsets,
                                        joint_offsets, joints, joints, a_stride_v, a_stride_w))
    acc = tl.full((BLOCK_O, BLOCK_C), 0, dtype)
    for item in range(split, items, splits):
        n = (item // t_blocks).to(tl.int64)
        t0 = item % t_blocks * BLOCK_T
        grad = _load_features(grad_ptr + n * g_stride_n, outputs, c_out, t0, frames, joints,
                              g_stride_o, g_stride_t, g_stride_w, BLOCK_T, BLOCK_V)
        spread = tl.dot(tl.reshape(grad, (BLOCK_O * BLOCK_T, BLOCK_V)), adjacency_t,
                        input_precision="ieee", out_dtype=dtype)
        x = _load_features(x_ptr + n * x_stride_n, inputs, c_in, t0, frames, joints,
                           x_stride_c, x_stride_t, x_stride_v, BLOCK_T, BLOCK_V)
        if HAS_BIAS:
            # Ones in padded frames and joints too: `spread` is zero there.
            x = tl.where(inputs[:, None] == c_in, 1.0, x)
        acc = tl.dot(tl.reshape(spread, (BLOCK_O, BLOCK_T * BLOCK_V)), tl.trans(x), acc,
                     input_precision="ieee")

    rows = (split.to(tl.int64) * subsets + k) * c_out + outputs
    valid_outputs = (outputs < c_out)[:, None]
    tl.store(weight_part_ptr + rows[:, None] * c_in + inputs[None, :], acc,
             mask=valid_outputs & (inputs < c_in)[None, :])
    if HAS_BIAS:
        tl.store(bias_part_ptr + rows[:, None] + 0 * inputs[None, :], acc,
                 mask=valid_outputs & (inputs == c_in)[None, :])


@triton.jit
def _adjacency_grad_kernel(
    grad_ptr, x_ptr, weight_ptr, bias_ptr, part_ptr,
    c_in, c_out, frames, joints, subsets, t_blocks, o_blocks, items, splits,
    g_stride_n, g_stride_o, g_stride_t, g_stride_w,
    x_stride_n, x_stride_c, x_stride_t, x_stride_v,
    w_stride_k, w_stride_o, w_stride_c,
    b_stride_k, b_stride_o,
    HAS_BIAS: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_C: tl.constexpr,
    BLOCK_T: tl.constexpr, BLOCK_V: tl.constexpr,
):
    """Partial sums of ``grad_adjacency[k, v, w] = sum_{n,o,t} (weight[k] @ x + bias[k])[n, o,
    t, v] grad_out[n, o, t, w]``.

    One program per (subset, output tile) x split; split ``s`` reduces the (clip, frame tile)
    items ``s, s + splits, ...`` into slot ``(s, output tile)`` of the contiguous buffer
    ``part`` (splits * output tiles, K, V, V)."""
    k = tl.program_id(0) // o_blocks
    o_block = tl.program_id(0) % o_blocks
    outputs = o_block * BLOCK_O + tl.arange(0, BLOCK_O)
    split = tl.program_id(1)

    acc = tl.full((BLOCK_V, BLOCK_V), 0, x_ptr.dtype.element_ty)
    for item in range(split, items, splits):
        n = (item // t_blocks).to(tl.int64)
        t0 = item % t_blocks * BLOCK_T
        mixed = _mix_channels(x_ptr + n * x_stride_n, weight_ptr, bias_ptr, k, outputs, t0,
                              c_in, c_out, frames, joints, x_stride_c, x_stride_t, x_stride_v,
                              w_stride_k, w_stride_o, w_stride_c, b_stride_k, b_stride_o,
                              HAS_BIAS, BLOCK_O, BLOCK_C, BLOCK_T, BLOCK_V)
        grad = _load_features(grad_ptr + n * g_stride_n, outputs, c_out, t0, frames, joints,
                              g_stride_o, g_stride_t, g_stride_w, BLOCK_T, BLOCK_V)
        # Padded rows and columns of `mixed` hold the bias, but `grad` is zero there.
        acc = tl.dot(tl.trans(tl.reshape(mixed, (BLOCK_O * BLOCK_T, BLOCK_V))),
                     tl.reshape(grad, (BLOCK_O * BLOCK_T, BLOCK_V)), acc, input_precision="ieee")

    joint_offsets = tl.arange(0, BLOCK_V)
    slot = (split.to(tl.int64) * o_blocks + o_block) * subsets + k
    offsets = (slot * joints + joint_offsets)[:, None] * joints + joint_offsets[None, :]
    mask = (joint_offsets[:, None] < joints) & (joint_offsets[None, :] < joints)
    tl.store(part_ptr + offsets, acc, mask=mask)


def launch_config(c_in: int, c_out: int, frames: int, joints: int) -> dict[str, int]:
    """The kernels' tile sizes and warps for these sizes: all joints (padded to a power of two)
    and enough frames for about ``_TILE_COLUMNS`` columns."""
    block_v = max(_MIN_DOT_SIDE, triton.next_power_of_2(joints))
    return {
        "BLOCK_O": max(_MIN_DOT_SIDE, min(triton.next_power_of_2(c_out), _MAX_BLOCK_O)),
        "BLOCK_C": _BLOCK_C,
        "BLOCK_T": max(1, min(triton.next_power_of_2(frames), _TILE_COLUMNS // block_v)),
        "BLOCK_V": block_v,
        "num_warps": _NUM_WARPS,
    }


def _bias_strides(bias: Tensor | None) -> tuple[int, int]:
    return (0, 0) if bias is None else bias.stride()


def _forward_into(out: Tensor, x: Tensor, weight: Tensor, adjacency: Tensor,
                  bias: Tensor | None) -> None:
    """Write the graph convolution of ``x`` (N, C_in, T, V), ``weight`` (K, C_out, C_in),
    ``adjacency`` (K, V, V) and ``bias`` (K, C_out) or None into the contiguous ``out``; the
    inputs may have any strides."""
    k, c_out, c_in = weight.shape
    n, _, frames, joints = x.shape
    config = launch_config(c_in, c_out, frames, joints)
    t_blocks = triton.cdiv(frames, config["BLOCK_T"])
    grid = (n * t_blocks, triton.cdiv(c_out, config["BLOCK_O"]))
    wrap_triton(_graph_conv_kernel)[grid](
        x, weight, adjacency, bias, out,
        c_in, c_out, frames, joints, k, t_blocks,
        *x.stride(), *weight.stride(), *adjacency.stride(), *_bias_strides(bias),
        HAS_BIAS=bias is not None, **config,
    )


def _graph_conv_fake(x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None) -> Tensor:
    return x.new_empty((x.shape[0], weight.shape[1], x.shape[2], x.shape[3]))


def _graph_conv_backward_fake(
    grad_out: Tensor, x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    return (x.new_empty(x.shape), weight.new_empty(weight.shape),
            adjacency.new_empty(adjacency.shape), weight.new_empty(weight.shape[:2]))


@kernel_op("skel_triton::graph_conv", _graph_conv_fake)
def _graph_conv(x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None) -> Tensor:
    out = _graph_conv_fake(x, weight, adjacency, bias)
    _forward_into(out, x, weight, adjacency, bias)
    return out


@kernel_op("skel_triton::graph_conv_backward", _graph_conv_backward_fake)
def _graph_conv_backward(
    grad_out: Tensor, x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gradients of ``graph_conv`` in x, weight, adjacency and bias (zeros when bias is None:
    the op's schema returns a tensor)."""
    k, c_out, c_in = weight.shape
    n, _, frames, joints = x.shape
    grad_x = x.new_empty(x.shape)
    _forward_into(grad_x, grad_out, weight.transpose(1, 2), adjacency.transpose(1, 2), None)

    has_bias = bias is not None
    config = launch_config(c_in, c_out, frames, joints)
    t_blocks = triton.cdiv(frames, config["BLOCK_T"])
    o_blocks = triton.cdiv(c_out, config["BLOCK_O"])
    items = n * t_blocks
    splits = max(1, min(items, _MAX_SPLITS))
    weight_part = x.new_zeros((splits, k, c_out, c_in))
    bias_part = x.new_zeros((splits, k, c_out))
    adjacency_part = x.new_zeros((splits * o_blocks, k, joints, joints))
    shared = (c_in, c_out, frames, joints, k, t_blocks, o_blocks, items, splits,
              *grad_out.stride(), *x.stride())
    # The bias gradient is the weight gradient of one more input channel (of ones).
    c_blocks = triton.cdiv(c_in + has_bias, config["BLOCK_C"])
    wrap_triton(_weight_grad_kernel)[(k * o_blocks, c_blocks, splits)](
        grad_out, x, adjacency, weight_part, bias_part, *shared, *adjacency.stride(),
        HAS_BIAS=has_bias, **config,
    )
    wrap_triton(_adjacency_grad_kernel)[(k * o_blocks, splits)](
        grad_out, x, weight, bias, adjacency_part, *shared, *weight.stride(),
        *_bias_strides(bias), HAS_BIAS=has_bias, **config,
    )
    return grad_x, weight_part.sum(0), adjacency_part.sum(0), bias_part.sum(0)


def _setup_context(ctx, inputs, output) -> None:
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad_out: Tensor):
    x, weight, adjacency, bias = ctx.saved_tensors
    grad_x, grad_weight, grad_adjacency, grad_bias = _graph_conv_backward(
        grad_out, x, weight, adjacency, bias
    )
    return grad_x, grad_weight, grad_adjacency, None if bias is None else grad_bias


_graph_conv.register_autograd(_backward, setup_context=_setup_context)


def graph_conv_triton(
    x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None = None
) -> Tensor:
    """:func:`skel_kernels.graph_conv` computed by Triton kernels (forward and backward).

    Arguments as in :func:`skel_kernels.graph_conv` (``x`` (N, C_in, T, V), ``weight`` (K,
    C_out, C_in), ``adjacency`` (K, V, V), ``bias`` (K, C_out) or None; float32 or float64, any
    strides), already checked by it; returns a contiguous ``(N, C_out, T, V)`` tensor,
    differentiable in all four inputs. Runs on CUDA tensors, or on CPU tensors when
    ``TRITON_INTERPRET=1`` was set before this module was imported.
    """
    return _graph_conv(x, weight, adjacency, bias)

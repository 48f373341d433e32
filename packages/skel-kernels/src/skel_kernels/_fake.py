"""Fake (meta) kernels of the ``torch.ops.skel`` ops, for torch.compile and other tracing.

``csrc/ops.cpp`` ties the C++ schemas to this module (``m.set_python_module``), so torch accepts
fake kernels for skel ops only from here. A fake computes output shapes from input shapes with
``new_empty`` and states shape relations with ``torch._check``; it never reads data. One section
per op below.
"""

from __future__ import annotations

import torch

# render_heatmaps ---------------------------------------------------------------------------


@torch.library.register_fake("skel::render_heatmaps")
def _render_heatmaps_fake(keypoints, scores, height, width, sigma, limbs, with_keypoints, eps):
    torch._check(
        keypoints.dim() == 5 and keypoints.shape[4] == 2,
        lambda: f"render_heatmaps: keypoints must be (N, M, T, K, 2), got {keypoints.shape}",
    )
    torch._check(
        scores.shape == keypoints.shape[:4],
        lambda: f"render_heatmaps: scores must be (N, M, T, K), got {scores.shape}",
    )
    clips, _, frames, joints, _ = keypoints.shape
    channels = (joints if with_keypoints else 0) + (0 if limbs is None else limbs.shape[0])
    return keypoints.new_empty((clips, channels, frames, height, width), dtype=torch.float32)


# graph_conv -------------------------------------------------------------------------------
# x (N, C_in, T, V), weight (K, C_out, C_in), adjacency (K, V, V), bias (K, C_out) or None.


def _check_graph_conv_shapes(x, weight, adjacency, bias) -> None:
    torch._check(x.dim() == 4, lambda: f"graph_conv: x must be (N, C_in, T, V), got {x.shape}")
    torch._check(
        weight.dim() == 3,
        lambda: f"graph_conv: weight must be (K, C_out, C_in), got {weight.shape}",
    )
    torch._check(
        adjacency.dim() == 3,
        lambda: f"graph_conv: adjacency must be (K, V, V), got {adjacency.shape}",
    )
    k, c_out, c_in = weight.shape
    torch._check(
        c_in == x.shape[1],
        lambda: f"graph_conv: weight {weight.shape} and x {x.shape} disagree on C_in",
    )
    torch._check(
        adjacency.shape[0] == k and adjacency.shape[1] == x.shape[3],
        lambda: f"graph_conv: adjacency {adjacency.shape} must be (K, V, V) for weight "
        f"{weight.shape} and x {x.shape}",
    )
    torch._check(
        adjacency.shape[2] == x.shape[3],
        lambda: f"graph_conv: adjacency {adjacency.shape} must be square over joints",
    )
    if bias is not None:
        torch._check(
            bias.dim() == 2 and bias.shape[0] == k and bias.shape[1] == c_out,
            lambda: f"graph_conv: bias {bias.shape} must be (K, C_out) for weight {weight.shape}",
        )


@torch.library.register_fake("skel::graph_conv")
def _graph_conv_fake(x, weight, adjacency, bias):
    _check_graph_conv_shapes(x, weight, adjacency, bias)
    return x.new_empty((x.shape[0], weight.shape[1], x.shape[2], x.shape[3]))


@torch.library.register_fake("skel::_graph_conv_backward")
def _graph_conv_backward_fake(grad_out, x, weight, adjacency, bias):
    _check_graph_conv_shapes(x, weight, adjacency, bias)
    torch._check(
        grad_out.shape == (x.shape[0], weight.shape[1], x.shape[2], x.shape[3]),
        lambda: f"graph_conv backward: grad_out {grad_out.shape} must be (N, C_out, T, V)",
    )
    return (
        x.new_empty(x.shape),
        weight.new_empty(weight.shape),
        adjacency.new_empty(adjacency.shape),
        weight.new_empty((weight.shape[0], weight.shape[1])),
    )

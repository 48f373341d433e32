"""Model size and cost: parameter count and FLOPs per clip (used by ``skel-bench model``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .graph_conv_switch import use_graph_conv


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter elements (buffers such as a fixed adjacency are not counted)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def flops_per_clip(model: nn.Module, clip_shape: Sequence[int]) -> int:
    """FLOPs of one inference forward pass on one clip of shape ``clip_shape`` = ``(M, T, V, C)``
    (persons, frames, joints, channels), counted by :class:`torch.utils.flop_counter.
    FlopCounterMode`: 2 FLOPs per multiply-add, convolutions and matrix products only (the
    convention of torch's counter; tables made with fvcore or mmcv count multiply-adds, half
    this). The graph convolution runs on the reference path so that it is counted as the
    einsum it equals. The model's training mode and
    ``requires_grad`` flags are restored afterwards.
    """
    if len(clip_shape) != 4:
        raise ValueError(
            f"clip_shape must be (M, T, V, C) = (persons, frames, joints, channels), "
            f"got {tuple(clip_shape)}"
        )
    reference = next(iter(model.parameters()), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None else torch.float32
    clip = torch.zeros((1, *clip_shape), device=device, dtype=dtype)
    was_training = model.training
    # torch's counter hooks the gradient of every module argument that requires grad, which
    # fails on a parameter passed as one (CTR-GCN's alpha) under no_grad: freeze meanwhile.
    requires_grad = [p.requires_grad for p in model.parameters()]
    model.eval().requires_grad_(False)
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), use_graph_conv("reference"), counter:
            model(clip)
    finally:
        model.train(was_training)
        for parameter, flag in zip(model.parameters(), requires_grad, strict=True):
            parameter.requires_grad_(flag)
    return counter.get_total_flops()

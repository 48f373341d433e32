"""What the PYSKL GCN backbones (ST-GCN, ST-GCN++, AAGCN, ...) share around their units: the
input normalisation ``data_bn``, the stage plan (channels and temporal stride per block),
PYSKL's per-stage options (an option given as a tuple of ``num_stages`` values) and the
``relu(tcn(gcn(x)) + residual(x))`` block."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .units import unit_tcn

DATA_BN_TYPES = ("VC", "MVC", None)

# PYSKL adds this before int() so that base_channels * ch_ratio ** k rounds as intended.
_EPS = 1e-4


def build_data_bn(
    data_bn_type: str | None, num_person: int, in_channels: int, num_joints: int
) -> nn.Module:
    """BatchNorm1d over joint x channel (``'VC'``), person x joint x channel (``'MVC'``) or
    nothing (``None``), as the backbone's ``data_bn``."""
    if data_bn_type == "MVC":
        return nn.BatchNorm1d(num_person * in_channels * num_joints)
    if data_bn_type == "VC":
        return nn.BatchNorm1d(in_channels * num_joints)
    if data_bn_type is None:
        return nn.Identity()
    raise ValueError(f"data_bn_type must be one of {DATA_BN_TYPES}, got {data_bn_type!r}")


def apply_data_bn(data_bn: nn.Module, data_bn_type: str | None, x: torch.Tensor) -> torch.Tensor:
    """Normalise skeletons ``(N, M, T, V, C)`` with ``data_bn``; return ``(N * M, C, T, V)``."""
    if x.dim() != 5:
        raise ValueError(f"expected skeletons of shape (N, M, T, V, C), got {tuple(x.shape)}")
    n, m, t, v, c = x.shape
    x = x.permute(0, 1, 3, 4, 2).contiguous()  # N M V C T
    if data_bn_type == "MVC":
        x = data_bn(x.view(n, m * v * c, t))
    else:
        x = data_bn(x.view(n * m, v * c, t))
    return x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)


@dataclass(frozen=True)
class StageSpec:
    """One block of a backbone: its 1-based stage number, channels, temporal stride, and
    whether it has a block-level residual (all but an input block do)."""

    stage: int
    in_channels: int
    out_channels: int
    stride: int
    residual: bool


def stage_plan(
    in_channels: int,
    base_channels: int,
    num_stages: int,
    inflate_stages: Sequence[int],
    down_stages: Sequence[int],
    ch_ratio: float = 2,
) -> list[StageSpec]:
    """PYSKL's blocks: stage 1 maps ``in_channels`` to ``base_channels`` (no residual; skipped
    when they are equal), stages 2..``num_stages`` multiply the channels by ``ch_ratio`` at each
    of ``inflate_stages`` and halve time at ``down_stages``."""
    plan = []
    if in_channels != base_channels:
        plan.append(StageSpec(1, in_channels, base_channels, 1, residual=False))
    channels, inflate_times = base_channels, 0
    for stage in range(2, num_stages + 1):
        inflate_times += stage in inflate_stages
        out_channels = int(base_channels * ch_ratio**inflate_times + _EPS)
        plan.append(StageSpec(stage, channels, out_channels, 1 + (stage in down_stages), True))
        channels = out_channels
    return plan


def stage_options(options: Mapping[str, Any], num_stages: int) -> list[dict[str, Any]]:
    """Per-stage copies of the block ``options``: a value that is a tuple of exactly
    ``num_stages`` items gives stage ``i`` its ``i``-th item (PYSKL's layer-wise options); any
    other value is shared. Stage 1 never gets ``tcn_dropout`` (PYSKL drops it there)."""
    per_stage = [dict(options) for _ in range(num_stages)]
    for key, value in options.items():
        if isinstance(value, tuple) and len(value) == num_stages:
            for i, item in enumerate(value):
                per_stage[i][key] = item
    if per_stage:
        per_stage[0].pop("tcn_dropout", None)
    return per_stage


class GCNBlock(nn.Module):
    """A PYSKL block, ``relu(tcn(gcn(x)) + residual(x))``. Subclasses build ``self.gcn`` and
    ``self.tcn`` (or override :meth:`spatial_temporal`) and call :meth:`_add_residual`. The
    residual is none (an input block), the identity (same channels, stride 1) or a strided 1x1
    ``unit_tcn`` named ``residual``."""

    gcn: nn.Module
    tcn: nn.Module

    def _add_residual(self, in_channels: int, out_channels: int, stride: int, residual: bool):
        self.relu = nn.ReLU()
        if not residual:
            self.residual_mode = "none"
        elif in_channels == out_channels and stride == 1:
            self.residual_mode = "identity"
        else:
            self.residual_mode = "conv"
            self.residual = unit_tcn(in_channels, out_channels, kernel_size=1, stride=stride)

    def spatial_temporal(self, x: torch.Tensor) -> torch.Tensor:
        """The block without its residual; blocks whose units PYSKL names otherwise override it."""
        return self.tcn(self.gcn(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.spatial_temporal(x)
        if self.residual_mode == "identity":
            y = y + x
        elif self.residual_mode == "conv":
            y = y + self.residual(x)
        return self.relu(y)


def build_blocks(
    block: Callable[..., nn.Module],
    A: torch.Tensor,
    plan: Sequence[StageSpec],
    options: Sequence[Mapping[str, Any]],
) -> nn.ModuleList:
    """One ``block(in_channels, out_channels, A, stride, residual, **options[stage - 1])`` per
    stage of ``plan``."""
    return nn.ModuleList(
        block(
            spec.in_channels,
            spec.out_channels,
            A,
            spec.stride,
            spec.residual,
            **options[spec.stage - 1],
        )
        for spec in plan
    )


def forward_blocks(
    x: torch.Tensor, data_bn: nn.Module, data_bn_type: str, blocks: nn.ModuleList
) -> torch.Tensor:
    """Skeletons ``(N, M, T, V, C)`` through ``data_bn`` and ``blocks`` -> ``(N, M, C', T', V)``."""
    n, m = x.shape[:2]
    x = apply_data_bn(data_bn, data_bn_type, x)
    for block in blocks:
        x = block(x)
    return x.reshape((n, m) + x.shape[1:])

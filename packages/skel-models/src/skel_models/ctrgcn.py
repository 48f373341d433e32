"""CTR-GCN backbone (Chen et al., ICCV 2021, as PYSKL's ``CTRGCN``).

Module, parameter and buffer names are PYSKL's (``A``, ``data_bn``, ``net.<i>.gcn1.*``,
``net.<i>.tcn1.*``, ``net.<i>.residual.*``), so a PYSKL checkpoint loads with ``strict=True``;
weights are initialised as PYSKL's ``init_weights`` does. The block options that PYSKL passes
through ``**kwargs`` (``kernel_size``, ``dilations``, ``tcn_dropout``) are explicit keyword
arguments; a misspelt one is a TypeError.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from skel_core.graph import Graph

from .gcn_stages import GCNBlock, StageSpec, build_blocks, build_data_bn, forward_blocks, stage_plan
from .units.ctrgcn import unit_ctrgcn
from .units.msg3d import MSTCN


class CTRGCNBlock(GCNBlock):
    """``unit_ctrgcn`` (``gcn1``) -> MS-G3D's multi-scale temporal convolution without its own
    residual (``tcn1``: ``kernel_size`` x 1 convs at each of ``dilations``), plus a block
    residual (identity when shapes allow, else a strided 1x1 ``unit_tcn``), then ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        stride: int = 1,
        residual: bool = True,
        kernel_size: int | Sequence[int] = 5,
        dilations: Sequence[int] = (1, 2),
        tcn_dropout: float = 0.0,
    ):
        super().__init__()
        self.gcn1 = unit_ctrgcn(in_channels, out_channels, A)
        self.tcn1 = MSTCN(
            out_channels,
            out_channels,
            kernel_size=kernel_size,
            stride=stride,
            dilations=dilations,
            residual=False,
            tcn_dropout=tcn_dropout,
        )
        self.tcn1.init_weights()
        self._add_residual(in_channels, out_channels, stride, residual)

    def spatial_temporal(self, x: torch.Tensor) -> torch.Tensor:
        return self.tcn1(self.gcn1(x))


class CTRGCN(nn.Module):
    """CTR-GCN backbone: skeletons ``(N, M, T, V, C)`` -> features ``(N, M, C', T', V)``.

    ``graph_cfg`` builds the :class:`skel_core.graph.Graph` whose ``A`` initialises every
    block's learned topology (PYSKL's configs: ``dict(layout=..., mode='spatial')``).
    ``data_bn`` normalises over person x joint x channel for ``num_person`` persons. Block 1
    maps ``in_channels`` to ``base_channels`` (always present, no residual), blocks
    2..``num_stages`` double the channels at each of ``inflate_stages`` and halve time at
    ``down_stages`` (1-based). ``kernel_size``/``dilations`` shape every block's temporal
    convolution; ``tcn_dropout`` applies to all blocks but the first.
    """

    def __init__(
        self,
        graph_cfg: dict,
        in_channels: int = 3,
        base_channels: int = 64,
        num_stages: int = 10,
        inflate_stages: Sequence[int] = (5, 8),
        down_stages: Sequence[int] = (5, 8),
        num_person: int = 2,
        *,
        kernel_size: int | Sequence[int] = 5,
        dilations: Sequence[int] = (1, 2),
        tcn_dropout: float = 0.0,
    ):
        super().__init__()
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        self.register_buffer("A", A)
        self.num_person = num_person
        self.base_channels = base_channels
        self.data_bn = build_data_bn("MVC", num_person, in_channels, A.shape[-1])
        plan = stage_plan(in_channels, base_channels, num_stages, inflate_stages, down_stages)
        if not plan or plan[0].stage != 1:  # PYSKL's CTRGCN keeps block 1 even then
            plan.insert(0, StageSpec(1, in_channels, base_channels, 1, residual=False))
        options = [
            dict(
                kernel_size=kernel_size,
                dilations=dilations,
                tcn_dropout=tcn_dropout if stage > 1 else 0.0,
            )
            for stage in range(1, num_stages + 1)
        ]
        self.net = build_blocks(CTRGCNBlock, A, plan, options)
        self.out_channels = plan[-1].out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward_blocks(x, self.data_bn, "MVC", self.net)

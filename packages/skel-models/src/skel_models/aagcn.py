"""AAGCN backbone (MS-AAGCN, Shi et al. 2020, as PYSKL's ``AAGCN``).

Module, parameter and buffer names are PYSKL's (``A``, ``data_bn``, ``gcn.<i>.gcn.conv_d``,
``gcn.<i>.gcn.conv_a``/``conv_b``/``alpha``, attention ``conv_sa``/``conv_ta``/``fc1c``/``fc2c``,
``gcn.<i>.tcn.*``, ``gcn.<i>.residual.conv``) so PYSKL checkpoints load with ``strict=True``;
weights are initialised as PYSKL's ``init_weights`` does. Block options are explicit ``gcn_*`` /
``tcn_*`` keyword arguments, each settable stage by stage with a tuple of ``num_stages`` values.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from skel_core.graph import Graph

from .gcn_stages import (
    GCNBlock,
    build_blocks,
    build_data_bn,
    forward_blocks,
    stage_options,
    stage_plan,
)
from .units import bn_init, build_tcn, unit_aagcn
from .units.layers import NormSpec


class AAGCNBlock(GCNBlock):
    """``unit_aagcn`` -> temporal unit, plus a block residual (identity when shapes allow, else
    a strided 1x1 ``unit_tcn``), then ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        stride: int = 1,
        residual: bool = True,
        *,
        gcn_type: str = "unit_aagcn",
        gcn_coff_embedding: int = 4,
        gcn_adaptive: bool = True,
        gcn_attention: bool = True,
        tcn_type: str = "unit_tcn",
        tcn_dropout: float = 0.0,
        tcn_norm: NormSpec = "BN",
        tcn_dilation: int = 1,
        tcn_ms_cfg: Sequence | None = None,
        tcn_mid_channels: float | None = None,
    ):
        super().__init__()
        if gcn_type != "unit_aagcn":
            raise ValueError(f"AAGCNBlock: gcn_type must be 'unit_aagcn', got {gcn_type!r}")
        self.gcn = unit_aagcn(
            in_channels,
            out_channels,
            A,
            coff_embedding=gcn_coff_embedding,
            adaptive=gcn_adaptive,
            attention=gcn_attention,
        )
        self.tcn = build_tcn(
            tcn_type,
            out_channels,
            stride,
            dropout=tcn_dropout,
            norm=tcn_norm,
            dilation=tcn_dilation,
            ms_cfg=tcn_ms_cfg,
            mid_channels=tcn_mid_channels,
        )
        self.tcn.init_weights()
        self._add_residual(in_channels, out_channels, stride, residual)


class AAGCN(nn.Module):
    """AAGCN backbone: skeletons ``(N, M, T, V, C)`` -> features ``(N, M, C', T', V)``.

    Arguments as :class:`~skel_models.stgcn.STGCN` (channels double at each of
    ``inflate_stages``), but ``data_bn_type`` defaults to ``'MVC'`` and the graph units are
    :class:`~skel_models.units.unit_aagcn` (``gcn_coff_embedding``, ``gcn_adaptive``,
    ``gcn_attention``).
    """

    def __init__(
        self,
        graph_cfg: dict,
        in_channels: int = 3,
        base_channels: int = 64,
        data_bn_type: str | None = "MVC",
        num_person: int = 2,
        num_stages: int = 10,
        inflate_stages: Sequence[int] = (5, 8),
        down_stages: Sequence[int] = (5, 8),
        *,
        gcn_type: str | tuple = "unit_aagcn",
        gcn_coff_embedding: int | tuple = 4,
        gcn_adaptive: bool | tuple = True,
        gcn_attention: bool | tuple = True,
        tcn_type: str | tuple = "unit_tcn",
        tcn_dropout: float | tuple = 0.0,
        tcn_norm: NormSpec | tuple = "BN",
        tcn_dilation: int | tuple = 1,
        tcn_ms_cfg: Sequence | None = None,
        tcn_mid_channels: float | tuple | None = None,
    ):
        super().__init__()
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        self.register_buffer("A", A)
        self.data_bn_type = data_bn_type
        self.data_bn = build_data_bn(data_bn_type, num_person, in_channels, A.shape[-1])
        bn_init(self.data_bn, 1)
        self.in_channels = in_channels
        self.base_channels = base_channels
        block_options = stage_options(
            dict(
                gcn_type=gcn_type,
                gcn_coff_embedding=gcn_coff_embedding,
                gcn_adaptive=gcn_adaptive,
                gcn_attention=gcn_attention,
                tcn_type=tcn_type,
                tcn_dropout=tcn_dropout,
                tcn_norm=tcn_norm,
                tcn_dilation=tcn_dilation,
                tcn_ms_cfg=tcn_ms_cfg,
                tcn_mid_channels=tcn_mid_channels,
            ),
            num_stages,
        )
        plan = stage_plan(in_channels, base_channels, num_stages, inflate_stages, down_stages)
        self.gcn = build_blocks(AAGCNBlock, A, plan, block_options)
        self.num_stages = len(self.gcn)
        self.out_channels = plan[-1].out_channels if plan else in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward_blocks(x, self.data_bn, self.data_bn_type, self.gcn)

"""ST-GCN and ST-GCN++ backbones (PYSKL's ``STGCN``).

Module, parameter and buffer names are PYSKL's (``data_bn``, ``gcn.<i>.gcn.conv``,
``gcn.<i>.gcn.A``/``PA``, ``gcn.<i>.tcn.*``, ``gcn.<i>.residual.conv``), so a PYSKL checkpoint
loads with ``strict=True``. PYSKL routes block options through ``**kwargs`` by their
``gcn_``/``tcn_`` prefixes; here they are explicit keyword arguments with the same names, so a
PYSKL config works unchanged and a misspelt option is a TypeError. As in PYSKL, any of them
given as a tuple of ``num_stages`` values sets it stage by stage.

ST-GCN is the default (``gcn_adaptive='importance'``, ``tcn_type='unit_tcn'``); ST-GCN++ is
``gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn'`` (see :func:`stgcnpp`).
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
from .units import build_tcn, unit_gcn
from .units.layers import ActSpec, NormSpec


class STGCNBlock(GCNBlock):
    """``unit_gcn`` -> temporal unit, plus a block residual (identity when shapes allow, else a
    strided 1x1 ``unit_tcn``), then ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        stride: int = 1,
        residual: bool = True,
        *,
        gcn_type: str = "unit_gcn",
        gcn_adaptive: str | None = "importance",
        gcn_conv_pos: str = "pre",
        gcn_with_res: bool = False,
        gcn_norm: NormSpec = "BN",
        gcn_act: ActSpec = "ReLU",
        tcn_type: str = "unit_tcn",
        tcn_dropout: float = 0.0,
        tcn_norm: NormSpec = "BN",
        tcn_dilation: int = 1,
        tcn_ms_cfg: Sequence | None = None,
        tcn_mid_channels: float | None = None,
    ):
        super().__init__()
        if gcn_type != "unit_gcn":
            raise ValueError(f"STGCNBlock: gcn_type must be 'unit_gcn', got {gcn_type!r}")
        self.gcn = unit_gcn(
            in_channels,
            out_channels,
            A,
            adaptive=gcn_adaptive,
            conv_pos=gcn_conv_pos,
            with_res=gcn_with_res,
            norm=gcn_norm,
            act=gcn_act,
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
        self._add_residual(in_channels, out_channels, stride, residual)


class STGCN(nn.Module):
    """ST-GCN / ST-GCN++ backbone: skeletons ``(N, M, T, V, C)`` -> features
    ``(N, M, C', T', V)``.

    ``graph_cfg`` builds a :class:`skel_core.graph.Graph` (e.g. ``dict(layout='coco',
    mode='spatial')``). ``data_bn_type`` normalises the input over ``'VC'`` (joint x channel),
    ``'MVC'`` (also per person, ``num_person`` of them) or not at all (None). There are
    ``num_stages`` stages; channels are ``base_channels * ch_ratio ** k`` after ``k`` of the
    ``inflate_stages`` and time halves at each of ``down_stages`` (1-based, as in PYSKL). The
    ``gcn_*`` options go to every :class:`~skel_models.units.unit_gcn`, the ``tcn_*`` options to
    every temporal unit (``tcn_type`` ``'unit_tcn'`` or ``'mstcn'``); stage 1 never has
    dropout.
    """

    def __init__(
        self,
        graph_cfg: dict,
        in_channels: int = 3,
        base_channels: int = 64,
        data_bn_type: str | None = "VC",
        ch_ratio: float = 2,
        num_person: int = 2,
        num_stages: int = 10,
        inflate_stages: Sequence[int] = (5, 8),
        down_stages: Sequence[int] = (5, 8),
        *,
        gcn_type: str | tuple = "unit_gcn",
        gcn_adaptive: str | None | tuple = "importance",
        gcn_conv_pos: str | tuple = "pre",
        gcn_with_res: bool | tuple = False,
        gcn_norm: NormSpec | tuple = "BN",
        gcn_act: ActSpec | tuple = "ReLU",
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
        self.data_bn_type = data_bn_type
        self.data_bn = build_data_bn(data_bn_type, num_person, in_channels, A.shape[-1])
        self.in_channels = in_channels
        self.base_channels = base_channels
        block_options = stage_options(
            dict(
                gcn_type=gcn_type,
                gcn_adaptive=gcn_adaptive,
                gcn_conv_pos=gcn_conv_pos,
                gcn_with_res=gcn_with_res,
                gcn_norm=gcn_norm,
                gcn_act=gcn_act,
                tcn_type=tcn_type,
                tcn_dropout=tcn_dropout,
                tcn_norm=tcn_norm,
                tcn_dilation=tcn_dilation,
                tcn_ms_cfg=tcn_ms_cfg,
                tcn_mid_channels=tcn_mid_channels,
            ),
            num_stages,
        )
        plan = stage_plan(
            in_channels, base_channels, num_stages, inflate_stages, down_stages, ch_ratio
        )
        self.gcn = build_blocks(STGCNBlock, A, plan, block_options)
        self.num_stages = len(self.gcn)
        self.out_channels = plan[-1].out_channels if plan else in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward_blocks(x, self.data_bn, self.data_bn_type, self.gcn)


def stgcnpp(graph_cfg: dict, **kwargs) -> STGCN:
    """ST-GCN++ (``configs/stgcn++``): learned adjacency, residual inside the graph unit and
    multi-scale temporal convolution."""
    options = dict(gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn")
    return STGCN(graph_cfg, **{**options, **kwargs})

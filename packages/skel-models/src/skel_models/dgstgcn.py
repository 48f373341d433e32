"""DG-STGCN backbone (Duan et al., 2022, as PYSKL's ``DGSTGCN``).

Module, parameter and buffer names are PYSKL's (``data_bn``, ``gcn.<i>.gcn.*`` for
:class:`~skel_models.units.dggcn.dggcn`, ``gcn.<i>.tcn.*`` for
:class:`~skel_models.units.dggcn.dgmstcn`, ``gcn.<i>.residual.*``), so a PYSKL checkpoint loads
with ``strict=True``; weights keep PyTorch's default init, as in PYSKL. PYSKL routes block
options through ``**kwargs`` by their ``gcn_``/``tcn_`` prefixes; here they are explicit keyword
arguments with the same names, each settable stage by stage with a tuple of ``num_stages``
values. PYSKL's configs use ``graph_cfg=dict(layout=..., mode='random', num_filter=8,
init_off=.04, init_std=.02)``: ``A`` is only the initial value of every block's learned
affinity.
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
from .units.dggcn import dggcn, dgmstcn
from .units.layers import ActSpec, NormSpec
from .units.tcn import MSTCN_DEFAULT_CFG


class DGBlock(GCNBlock):
    """``dggcn`` -> ``dgmstcn`` (``tcn_ms_cfg=None``: PYSKL's default branches), plus a block
    residual (identity when shapes allow, else a strided 1x1 ``unit_tcn``), then ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        stride: int = 1,
        residual: bool = True,
        *,
        gcn_ratio: float | None = 0.25,
        gcn_ctr: str | None = "T",
        gcn_ada: str | None = "T",
        gcn_subset_wise: bool = False,
        gcn_ada_act: str = "softmax",
        gcn_ctr_act: str = "tanh",
        gcn_norm: NormSpec = "BN",
        gcn_act: ActSpec = "ReLU",
        tcn_mid_channels: float | None = None,
        tcn_num_joints: int = 25,
        tcn_dropout: float = 0.0,
        tcn_ms_cfg: Sequence | None = None,
    ):
        super().__init__()
        self.gcn = dggcn(
            in_channels,
            out_channels,
            A,
            ratio=gcn_ratio,
            ctr=gcn_ctr,
            ada=gcn_ada,
            subset_wise=gcn_subset_wise,
            ada_act=gcn_ada_act,
            ctr_act=gcn_ctr_act,
            norm=gcn_norm,
            act=gcn_act,
        )
        self.tcn = dgmstcn(
            out_channels,
            out_channels,
            mid_channels=tcn_mid_channels,
            num_joints=tcn_num_joints,
            dropout=tcn_dropout,
            ms_cfg=MSTCN_DEFAULT_CFG if tcn_ms_cfg is None else tcn_ms_cfg,
            stride=stride,
        )
        self._add_residual(in_channels, out_channels, stride, residual)


class DGSTGCN(nn.Module):
    """DG-STGCN backbone: skeletons ``(N, M, T, V, C)`` -> features ``(N, M, C', T', V)``.

    Stages, channels and ``data_bn_type`` as :class:`~skel_models.stgcn.STGCN` (stage 1 maps
    ``in_channels`` to ``base_channels`` and is skipped when they are equal; channels grow by
    ``ch_ratio`` at each of ``inflate_stages``, time halves at ``down_stages``). The ``gcn_*``
    options go to every :class:`~skel_models.units.dggcn.dggcn`, the ``tcn_*`` options to every
    :class:`~skel_models.units.dggcn.dgmstcn` (``tcn_ms_cfg=None``: PYSKL's default branches;
    ``tcn_num_joints`` must cover the layout's joints); stage 1 never has dropout.
    """

    def __init__(
        self,
        graph_cfg: dict,
        in_channels: int = 3,
        base_channels: int = 64,
        ch_ratio: float = 2,
        num_stages: int = 10,
        inflate_stages: Sequence[int] = (5, 8),
        down_stages: Sequence[int] = (5, 8),
        data_bn_type: str | None = "VC",
        num_person: int = 2,
        *,
        gcn_ratio: float | None | tuple = 0.25,
        gcn_ctr: str | None | tuple = "T",
        gcn_ada: str | None | tuple = "T",
        gcn_subset_wise: bool | tuple = False,
        gcn_ada_act: str | tuple = "softmax",
        gcn_ctr_act: str | tuple = "tanh",
        gcn_norm: NormSpec | tuple = "BN",
        gcn_act: ActSpec | tuple = "ReLU",
        tcn_mid_channels: float | None | tuple = None,
        tcn_num_joints: int | tuple = 25,
        tcn_dropout: float | tuple = 0.0,
        tcn_ms_cfg: Sequence | None = None,
    ):
        super().__init__()
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        num_joints = A.shape[-1]
        self.data_bn_type = data_bn_type
        self.data_bn = build_data_bn(data_bn_type, num_person, in_channels, num_joints)
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.ch_ratio = ch_ratio
        self.inflate_stages = inflate_stages
        self.down_stages = down_stages
        block_options = stage_options(
            dict(
                gcn_ratio=gcn_ratio,
                gcn_ctr=gcn_ctr,
                gcn_ada=gcn_ada,
                gcn_subset_wise=gcn_subset_wise,
                gcn_ada_act=gcn_ada_act,
                gcn_ctr_act=gcn_ctr_act,
                gcn_norm=gcn_norm,
                gcn_act=gcn_act,
                tcn_mid_channels=tcn_mid_channels,
                tcn_num_joints=tcn_num_joints,
                tcn_dropout=tcn_dropout,
                tcn_ms_cfg=tcn_ms_cfg,
            ),
            num_stages,
        )
        for stage, options in enumerate(block_options, 1):
            if options["tcn_num_joints"] < num_joints:
                raise ValueError(
                    f"DGSTGCN: tcn_num_joints={options['tcn_num_joints']} (stage {stage}) is "
                    f"less than the {num_joints} joints of layout "
                    f"{self.graph.layout.name!r}; dgmstcn weighs each joint with one of them"
                )
        plan = stage_plan(
            in_channels, base_channels, num_stages, inflate_stages, down_stages, ch_ratio
        )
        self.gcn = build_blocks(DGBlock, A, plan, block_options)
        self.num_stages = len(self.gcn)
        self.out_channels = plan[-1].out_channels if plan else in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward_blocks(x, self.data_bn, self.data_bn_type, self.gcn)

"""MS-G3D backbone (Liu et al., CVPR 2020, as PYSKL's ``MSG3D``).

Three stages, each the ReLU of the sum of two pathways, then a temporal convolution:
a multi-window G3D pathway (``gcn3d<i>``, :class:`~skel_models.units.msg3d.MW_MSG3DBlock`) and a
factorised one (``sgcn<i>``: :class:`~skel_models.units.msg3d.MSGCN` then two
:class:`~skel_models.units.msg3d.MSTCN`, the last without ReLU), then ``tcn<i>`` (an ``MSTCN``
with ``tcn_dropout``). Channels are ``base_channels`` x 1, 2, 4; stages 2 and 3 halve time.
Module, parameter and buffer names are PYSKL's, so a PYSKL checkpoint loads with
``strict=True``; weights keep PyTorch's default init, as in PYSKL.

The graph is ``Graph(**graph_cfg).A[0]`` as a 0/1 ``(V, V)`` matrix (PYSKL's configs use
``mode='binary_adj'``). PYSKL hard-codes 3 input channels in the first stage; here the first
stage takes ``in_channels`` (the same network for 3).
"""

from __future__ import annotations

import torch
from torch import nn

from skel_core.graph import Graph

from .gcn_stages import apply_data_bn, build_data_bn
from .units.msg3d import MSGCN, MSTCN, MW_MSG3DBlock


class MSG3D(nn.Module):
    """MS-G3D backbone: skeletons ``(N, M, T, V, C)`` -> features ``(N, M, 4 * base_channels,
    ceil(T / 4), V)``.

    ``num_gcn_scales`` hop scales in the factorised graph convolutions, ``num_g3d_scales`` in
    the spatial-temporal ones (over windows of 3 and 5 frames); ``data_bn`` normalises over
    person x joint x channel for ``num_person`` persons.
    """

    def __init__(
        self,
        graph_cfg: dict,
        in_channels: int = 3,
        base_channels: int = 96,
        num_gcn_scales: int = 13,
        num_g3d_scales: int = 6,
        num_person: int = 2,
        tcn_dropout: float = 0.0,
    ):
        super().__init__()
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A[0], dtype=torch.float32)
        self.register_buffer("A", A)
        self.num_point = A.shape[-1]
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.data_bn = build_data_bn("MVC", num_person, in_channels, self.num_point)
        c1, c2, c3 = base_channels, base_channels * 2, base_channels * 4
        self.out_channels = c3

        self.gcn3d1 = MW_MSG3DBlock(in_channels, c1, A, num_g3d_scales, input_block=True)
        self.sgcn1 = nn.Sequential(
            MSGCN(num_gcn_scales, in_channels, c1, A),
            MSTCN(c1, c1),
            MSTCN(c1, c1, activation=False),
        )
        self.tcn1 = MSTCN(c1, c1, tcn_dropout=tcn_dropout)

        self.gcn3d2 = MW_MSG3DBlock(c1, c2, A, num_g3d_scales, window_stride=2)
        self.sgcn2 = nn.Sequential(
            MSGCN(num_gcn_scales, c1, c1, A),
            MSTCN(c1, c2, stride=2),
            MSTCN(c2, c2, activation=False),
        )
        self.tcn2 = MSTCN(c2, c2, tcn_dropout=tcn_dropout)

        self.gcn3d3 = MW_MSG3DBlock(c2, c3, A, num_g3d_scales, window_stride=2)
        self.sgcn3 = nn.Sequential(
            MSGCN(num_gcn_scales, c2, c2, A),
            MSTCN(c2, c3, stride=2),
            MSTCN(c3, c3, activation=False),
        )
        self.tcn3 = MSTCN(c3, c3, tcn_dropout=tcn_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m = x.shape[:2]
        x = apply_data_bn(self.data_bn, "MVC", x)
        stages = (
            (self.sgcn1, self.gcn3d1, self.tcn1),
            (self.sgcn2, self.gcn3d2, self.tcn2),
            (self.sgcn3, self.gcn3d3, self.tcn3),
        )
        for factorised, unified, temporal in stages:
            x = temporal(torch.relu(factorised(x) + unified(x)))
        return x.reshape((n, m) + x.shape[1:])

"""ST-GCN and ST-GCN++ backbones.

Module and parameter names follow PYSKL (``data_bn``, ``gcn.<i>.gcn.conv``, ``gcn.<i>.tcn.bn``,
``A``/``PA``...) so that PYSKL checkpoints map onto these modules. PYSKL routes per-block options
through ``**kwargs`` by ``gcn_``/``tcn_`` name prefixes; here they are explicit, typed keyword
arguments with the same names, so a PYSKL config still works and a typo is a TypeError.
"""

from __future__ import annotations

import torch
from torch import nn

from skel_core.graph import Graph

_ADAPTIVE = (None, "importance", "offset", "init")


class unit_gcn(nn.Module):  # noqa: N801 - PYSKL's name, kept for checkpoint compatibility
    """Spatial graph convolution: 1x1 conv to K * C_out channels, then aggregation over A.

    ``adaptive``: None (fixed A), ``'importance'`` (A * PA, PA learned, init 1), ``'offset'``
    (A + PA, PA learned, init ~0) or ``'init'`` (A itself learned). ``with_res`` adds a residual
    inside the unit (ST-GCN++).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        adaptive: str | None = "importance",
        with_res: bool = False,
    ):
        super().__init__()
        if adaptive not in _ADAPTIVE:
            raise ValueError(f"unit_gcn: adaptive must be one of {_ADAPTIVE}, got {adaptive!r}")
        self.num_subsets = A.shape[0]
        self.adaptive = adaptive
        self.with_res = with_res
        if adaptive == "init":
            self.A = nn.Parameter(A.clone())
        else:
            self.register_buffer("A", A.clone())
        if adaptive == "importance":
            self.PA = nn.Parameter(torch.ones_like(A))
        elif adaptive == "offset":
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        if with_res and in_channels != out_channels:
            self.down = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        else:
            self.down = None

    def adjacency(self) -> torch.Tensor:
        if self.adaptive == "importance":
            return self.A * self.PA
        if self.adaptive == "offset":
            return self.A + self.PA
        return self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        y = self.conv(x).view(n, self.num_subsets, -1, t, v)
        y = torch.einsum("nkctv,kvw->nctw", y, self.adjacency()).contiguous()
        y = self.bn(y)
        if self.with_res:
            y = y + (x if self.down is None else self.down(x))
        return self.act(y)


class unit_tcn(nn.Module):  # noqa: N801 - PYSKL's name
    """Temporal convolution (kernel_size x 1) + BatchNorm (+ dropout)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 9,
        stride: int = 1,
        dilation: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            (kernel_size, 1),
            padding=(pad, 0),
            stride=(stride, 1),
            dilation=(dilation, 1),
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(self.conv(x)))


class STGCNBlock(nn.Module):
    """unit_gcn -> unit_tcn, plus a block-level residual (identity or strided 1x1 unit_tcn)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        stride: int = 1,
        residual: bool = True,
        gcn_adaptive: str | None = "importance",
        gcn_with_res: bool = False,
        tcn_dropout: float = 0.0,
    ):
        super().__init__()
        self.gcn = unit_gcn(
            in_channels, out_channels, A, adaptive=gcn_adaptive, with_res=gcn_with_res
        )
        self.tcn = unit_tcn(out_channels, out_channels, 9, stride=stride, dropout=tcn_dropout)
        self.relu = nn.ReLU()
        self.residual_mode = (
            "none"
            if not residual
            else ("identity" if in_channels == out_channels and stride == 1 else "conv")
        )
        if self.residual_mode == "conv":
            self.residual = unit_tcn(in_channels, out_channels, kernel_size=1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        if self.residual_mode == "identity":
            y = y + x
        elif self.residual_mode == "conv":
            y = y + self.residual(x)
        return self.relu(y)


class STGCN(nn.Module):
    """ST-GCN / ST-GCN++ backbone: (N, M, T, V, C) skeletons -> (N, M, C', T', V) features.

    ``num_stages`` blocks; channels multiply by ``ch_ratio`` at ``inflate_stages`` and time is
    halved at ``down_stages`` (1-based stage numbers, as in PYSKL). ST-GCN++ is
    ``gcn_adaptive='init', gcn_with_res=True`` (with ``tcn_type='mstcn'`` in the full zoo).
    """

    def __init__(
        self,
        graph_cfg: dict,
        in_channels: int = 3,
        base_channels: int = 64,
        data_bn_type: str = "VC",
        ch_ratio: int = 2,
        num_person: int = 2,
        num_stages: int = 10,
        inflate_stages: tuple[int, ...] = (5, 8),
        down_stages: tuple[int, ...] = (5, 8),
        gcn_adaptive: str | None = "importance",
        gcn_with_res: bool = False,
        tcn_dropout: float = 0.0,
    ):
        super().__init__()
        self.graph = Graph(**graph_cfg)
        A = torch.tensor(self.graph.A, dtype=torch.float32)
        v = A.shape[-1]
        if data_bn_type == "MVC":
            self.data_bn = nn.BatchNorm1d(num_person * in_channels * v)
        elif data_bn_type == "VC":
            self.data_bn = nn.BatchNorm1d(in_channels * v)
        elif data_bn_type is None:
            self.data_bn = nn.Identity()
        else:
            raise ValueError(
                f"STGCN: data_bn_type must be 'VC', 'MVC' or None, got {data_bn_type!r}"
            )
        self.data_bn_type = data_bn_type
        self.in_channels = in_channels
        common = dict(gcn_adaptive=gcn_adaptive, gcn_with_res=gcn_with_res)
        blocks = []
        if in_channels != base_channels:
            blocks.append(STGCNBlock(in_channels, base_channels, A, 1, residual=False, **common))
        channels = base_channels
        inflate_times = 0
        for stage in range(2, num_stages + 1):
            inflate_times += stage in inflate_stages
            out_channels = int(base_channels * ch_ratio**inflate_times + 1e-4)
            stride = 2 if stage in down_stages else 1
            blocks.append(
                STGCNBlock(channels, out_channels, A, stride, tcn_dropout=tcn_dropout, **common)
            )
            channels = out_channels
        self.gcn = nn.ModuleList(blocks)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, m, t, v, c = x.shape
        x = x.permute(0, 1, 3, 4, 2).contiguous()  # N M V C T
        if self.data_bn_type == "MVC":
            x = self.data_bn(x.view(n, m * v * c, t))
        else:
            x = self.data_bn(x.view(n * m, v * c, t))
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block in self.gcn:
            x = block(x)
        return x.reshape((n, m) + x.shape[1:])

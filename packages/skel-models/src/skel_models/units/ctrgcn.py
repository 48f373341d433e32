"""CTR-GCN's graph convolution (Chen et al., ICCV 2021): channel-wise topology refinement
``CTRGC`` and the unit built from one per adjacency subset, ``unit_ctrgcn``.

Names, submodules and parameters are PYSKL's (``pyskl/models/gcns/utils/gcn.py``), so PYSKL
checkpoints load with ``strict=True``; weights are initialised as PYSKL's ``init_weights``.

The graph here is per sample and per output channel (a learned shared topology ``A[i]`` plus
``alpha`` times a refinement computed from the input), so the unit does not go through
:func:`skel_kernels.graph_conv`, whose adjacency is shared by all samples and channels:
splitting off the shared part would compute the ``K * C_out`` channel mixing twice (once
inside the fused kernel, once for the refinement) to save nothing.
"""

from __future__ import annotations

import torch
from torch import nn

from .init import bn_init, conv_init


class CTRGC(nn.Module):
    """Channel-wise topology refinement graph convolution over one subset:
    ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    ``conv1``/``conv2`` embed the time-averaged input to ``R`` relation channels (8 when
    ``in_channels <= 16``, else ``in_channels // rel_reduction``); ``tanh`` of their pairwise
    joint differences, mapped to ``C_out`` channels by ``conv4`` and scaled by ``alpha``,
    refines the shared topology ``A`` into one ``(V, V)`` graph per sample and channel, which
    aggregates ``conv3(x)``.
    """

    def __init__(self, in_channels: int, out_channels: int, rel_reduction: int = 8):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.rel_channels = 8 if in_channels <= 16 else in_channels // rel_reduction
        self.conv1 = nn.Conv2d(in_channels, self.rel_channels, 1)
        self.conv2 = nn.Conv2d(in_channels, self.rel_channels, 1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, 1)
        self.conv4 = nn.Conv2d(self.rel_channels, out_channels, 1)
        self.tanh = nn.Tanh()
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            conv_init(conv)

    def forward(self, x: torch.Tensor, A: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        # A 1x1 conv commutes with the mean over time, so embed the T-averaged input
        # (PYSKL averages after the conv: the same values, T times the work).
        pooled = x.mean(-2, keepdim=True)
        x1 = self.conv1(pooled).squeeze(-2)  # N, R, V
        x2 = self.conv2(pooled).squeeze(-2)
        relation = self.tanh(x1.unsqueeze(-1) - x2.unsqueeze(-2))  # N, R, V, V
        graph = self.conv4(relation) * alpha + A  # N, C_out, V, V
        return torch.einsum("ncuv,nctu->nctv", graph, self.conv3(x))


class unit_ctrgcn(nn.Module):  # noqa: N801 - PYSKL's name
    """CTR-GCN's unit: the sum of one :class:`CTRGC` per subset of the learned adjacency
    ``A`` (``(K, V, V)``, a parameter initialised from the graph), all refinements scaled by
    one learned ``alpha`` (init 0), then BatchNorm (init scale 1e-6, so the unit starts close
    to its residual), a residual (``down``: 1x1 conv + BN when channels change) and ReLU."""

    def __init__(self, in_channels: int, out_channels: int, A: torch.Tensor):
        super().__init__()
        if A.dim() != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"unit_ctrgcn: A must be (K, V, V), got shape {list(A.shape)}")
        self.in_c = in_channels
        self.out_c = out_channels
        self.inter_c = out_channels // 4
        self.num_subset = A.shape[0]
        self.convs = nn.ModuleList(CTRGC(in_channels, out_channels) for _ in range(A.shape[0]))
        if in_channels != out_channels:
            self.down = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        else:
            self.down = None
        self.A = nn.Parameter(A.clone())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.init_weights()

    def init_weights(self) -> None:
        """PYSKL's init: Kaiming 1x1 convs with zero bias, unit-scale norms but the final
        one at 1e-6."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)
        bn_init(self.bn, 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = sum(conv(x, self.A[i], self.alpha) for i, conv in enumerate(self.convs))
        y = self.bn(y) + (x if self.down is None else self.down(x))
        return self.relu(y)

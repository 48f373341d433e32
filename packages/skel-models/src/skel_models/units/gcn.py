"""Spatial graph convolution units of the GCN zoo: ``unit_gcn`` (ST-GCN, ST-GCN++) and
``unit_aagcn`` (2s-AGCN / MS-AAGCN).

Names, arguments, submodules, parameters and buffers are PYSKL's
(``pyskl/models/gcns/utils/gcn.py``), so PYSKL checkpoints load with ``strict=True``. The
aggregation over a fixed adjacency goes through :func:`skel_kernels.graph_conv`, with the
implementation chosen by :mod:`skel_models.graph_conv_switch`.
"""

from __future__ import annotations

import torch
from torch import nn

from skel_kernels import graph_conv

from ..graph_conv_switch import graph_conv_impl
from .init import bn_init, conv_branch_init, conv_init
from .layers import ActSpec, NormSpec, build_act, build_norm

ADAPTIVE_MODES = (None, "importance", "offset", "init")
CONV_POSITIONS = ("pre", "post")


def aggregate_then_conv(x: torch.Tensor, adjacency: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv`` applied to ``x`` aggregated over joints with each of the ``K`` subsets of
    ``adjacency`` (``(K, V, V)``), the ``K * C_in`` aggregated channels ordered subset-major:
    PYSKL's ``einsum('nctv,kvw->nkctw')``, reshape, 1x1 conv (``unit_gcn`` with
    ``conv_pos='post'``, MS-G3D's ``MSGCN``). The 1x1 conv commutes with the aggregation, so
    this is one :func:`skel_kernels.graph_conv` with the weight regrouped by subset and the
    bias added once after. Parameters are cast to ``x``'s dtype, as autocast does for a conv."""
    k, c_in = adjacency.shape[0], x.shape[1]
    weight = conv.weight.view(conv.out_channels, k, c_in).transpose(0, 1).to(x.dtype)
    y = graph_conv(x, weight, adjacency.to(x.dtype), impl=graph_conv_impl())
    return y if conv.bias is None else y + conv.bias.to(x.dtype).view(1, -1, 1, 1)


class unit_gcn(nn.Module):  # noqa: N801 - PYSKL's name, kept for checkpoint compatibility
    """Graph convolution over ``K = A.shape[0]`` adjacency subsets, then norm, (+ residual),
    activation: ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    ``adaptive``: None (fixed ``A``, a buffer), ``'importance'`` (``A * PA``, ``PA`` learned,
    init 1), ``'offset'`` (``A + PA``, ``PA`` learned, init U(-1e-6, 1e-6)) or ``'init'``
    (``A`` itself learned). ``conv_pos='pre'`` mixes channels with a 1x1 conv to ``K * C_out``
    channels before aggregating; ``'post'`` aggregates first and mixes ``K * C_in`` channels
    after (the same linear map with fewer parameters when ``C_in < C_out``). ``with_res`` adds
    a residual inside the unit (ST-GCN++), a 1x1 conv + norm (``down``) when channels change.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        adaptive: str | None = "importance",
        conv_pos: str = "pre",
        with_res: bool = False,
        norm: NormSpec = "BN",
        act: ActSpec = "ReLU",
    ):
        super().__init__()
        if adaptive not in ADAPTIVE_MODES:
            raise ValueError(
                f"unit_gcn: adaptive must be one of {ADAPTIVE_MODES}, got {adaptive!r}"
            )
        if conv_pos not in CONV_POSITIONS:
            raise ValueError(
                f"unit_gcn: conv_pos must be one of {CONV_POSITIONS}, got {conv_pos!r}"
            )
        if A.dim() != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"unit_gcn: A must be (K, V, V), got shape {list(A.shape)}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_subsets = A.shape[0]
        self.adaptive = adaptive
        self.conv_pos = conv_pos
        self.with_res = with_res
        self.bn = build_norm(norm, out_channels)
        self.act = build_act(act)
        if adaptive == "init":
            self.A = nn.Parameter(A.clone())
        else:
            self.register_buffer("A", A.clone())
        if adaptive == "importance":
            self.PA = nn.Parameter(torch.ones_like(A))
        elif adaptive == "offset":
            self.PA = nn.Parameter(torch.empty_like(A).uniform_(-1e-6, 1e-6))
        if conv_pos == "pre":
            self.conv = nn.Conv2d(in_channels, out_channels * self.num_subsets, 1)
        else:
            self.conv = nn.Conv2d(in_channels * self.num_subsets, out_channels, 1)
        if with_res and in_channels != out_channels:
            self.down = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), build_norm(norm, out_channels)
            )
        else:
            self.down = None

    def adjacency(self) -> torch.Tensor:
        """The (K, V, V) adjacency the unit aggregates with, after its adaptive term."""
        if self.adaptive == "importance":
            return self.A * self.PA
        if self.adaptive == "offset":
            return self.A + self.PA
        return self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.conv_pos == "pre":
            k, c_in, c_out = self.num_subsets, self.in_channels, self.out_channels
            # parameters follow x's dtype, as nn.Conv2d's do under autocast
            y = graph_conv(
                x,
                self.conv.weight.view(k, c_out, c_in).to(x.dtype),
                self.adjacency().to(x.dtype),
                self.conv.bias.view(k, c_out).to(x.dtype),
                impl=graph_conv_impl(),
            )
        else:
            y = aggregate_then_conv(x, self.adjacency(), self.conv)
        y = self.bn(y)
        if self.with_res:
            y = y + (x if self.down is None else self.down(x))
        return self.act(y)


class unit_aagcn(nn.Module):  # noqa: N801 - PYSKL's name
    """Adaptive graph convolution with attention (MS-AAGCN, Shi et al. 2020).

    Each subset ``i`` aggregates with ``A[i]`` plus, if ``adaptive``, a data-dependent graph
    ``alpha * tanh(theta_i(x)^T phi_i(x) / (C_inter * T))`` (``conv_a``/``conv_b``, ``alpha``
    init 0), then mixes channels with its own 1x1 conv (``conv_d[i]``); the subsets are summed,
    normalised, added to a residual (``down``) and passed through ReLU. ``attention`` adds
    PYSKL's spatial (``conv_sa``), temporal (``conv_ta``) and channel (``fc1c``/``fc2c``)
    attention, each as ``y * (1 + mask)``. Weights are initialised as PYSKL does.

    The maps can be observed without recomputing them by formula: :meth:`learned_graphs` is
    the data-dependent graph, and every attention mask passes through its own parameter-free
    gate (``spatial_gate``, ``temporal_gate``, ``channel_gate``) whose output a forward hook
    reads; :mod:`skel_apps.infer.attention` does both.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        coff_embedding: int = 4,
        adaptive: bool = True,
        attention: bool = True,
    ):
        super().__init__()
        if A.dim() != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"unit_aagcn: A must be (K, V, V), got shape {list(A.shape)}")
        self.in_c = in_channels
        self.out_c = out_channels
        self.inter_c = out_channels // coff_embedding
        self.num_subset = A.shape[0]
        self.adaptive = adaptive
        self.attention = attention
        num_joints = A.shape[-1]

        self.conv_d = nn.ModuleList(
            nn.Conv2d(in_channels, out_channels, 1) for _ in range(self.num_subset)
        )
        if adaptive:
            self.A = nn.Parameter(A.clone())
            self.alpha = nn.Parameter(torch.zeros(1))
            self.conv_a = nn.ModuleList(
                nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(self.num_subset)
            )
            self.conv_b = nn.ModuleList(
                nn.Conv2d(in_channels, self.inter_c, 1) for _ in range(self.num_subset)
            )
        else:
            self.register_buffer("A", A.clone())
        if attention:
            self.conv_ta = nn.Conv1d(out_channels, 1, 9, padding=4)
            kernel = num_joints if num_joints % 2 else num_joints - 1  # odd, keeps V
            self.conv_sa = nn.Conv1d(out_channels, 1, kernel, padding=(kernel - 1) // 2)
            self.fc1c = nn.Linear(out_channels, out_channels // 2)
            self.fc2c = nn.Linear(out_channels // 2, out_channels)
        if in_channels != out_channels:
            self.down = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )
        else:
            self.down = None
        self.bn = nn.BatchNorm2d(out_channels)
        self.tan = nn.Tanh()
        self.relu = nn.ReLU()
        if attention:  # no state: the checkpoint keys stay PYSKL's
            self.spatial_gate = nn.Sigmoid()
            self.temporal_gate = nn.Sigmoid()
            self.channel_gate = nn.Sigmoid()
        self.init_weights()

    def init_weights(self) -> None:
        """PYSKL's init: Kaiming 1x1 convs, subset-scaled ``conv_d``, a near-zero final norm
        (so a unit starts close to its residual), zero temporal and channel attention convs
        (constant masks of sigmoid(0) = 0.5 at first) and a Xavier spatial attention conv."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)
        bn_init(self.bn, 1e-6)
        for conv in self.conv_d:
            conv_branch_init(conv, self.num_subset)
        if self.attention:
            nn.init.zeros_(self.conv_ta.weight)
            nn.init.zeros_(self.conv_ta.bias)
            nn.init.xavier_normal_(self.conv_sa.weight)
            nn.init.zeros_(self.conv_sa.bias)
            nn.init.kaiming_normal_(self.fc1c.weight)
            nn.init.zeros_(self.fc1c.bias)
            nn.init.zeros_(self.fc2c.weight)
            nn.init.zeros_(self.fc2c.bias)

    def learned_graphs(self, x: torch.Tensor) -> torch.Tensor:
        """The data-dependent graphs ``alpha * tanh(theta_i(x)^T phi_i(x) / (C_inter * T))``
        of input ``x`` (N, C_in, T, V), one per subset: (N, K, V, V), added to ``A``."""
        n, _, t, v = x.shape
        learned = []
        for conv_a, conv_b in zip(self.conv_a, self.conv_b, strict=True):
            a1 = conv_a(x).permute(0, 3, 1, 2).reshape(n, v, self.inter_c * t)
            a2 = conv_b(x).view(n, self.inter_c * t, v)
            learned.append(self.tan(a1 @ a2 / a1.shape[-1]))  # N, V, V
        return torch.stack(learned, 1) * self.alpha

    def spatial_mask(self, y: torch.Tensor) -> torch.Tensor:
        """Joint attention (N, 1, V) in (0, 1) of features ``y`` (N, C, T, V)."""
        return self.spatial_gate(self.conv_sa(y.mean(-2)))

    def temporal_mask(self, y: torch.Tensor) -> torch.Tensor:
        """Frame attention (N, 1, T) in (0, 1) of features ``y`` (N, C, T, V)."""
        return self.temporal_gate(self.conv_ta(y.mean(-1)))

    def channel_mask(self, y: torch.Tensor) -> torch.Tensor:
        """Channel attention (N, C) in (0, 1) of features ``y`` (N, C, T, V)."""
        return self.channel_gate(self.fc2c(self.relu(self.fc1c(y.mean((-2, -1))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # K, C_out, C_in; parameters follow x's dtype, as nn.Conv2d's do under autocast
        weight = torch.stack([conv.weight[:, :, 0, 0] for conv in self.conv_d]).to(x.dtype)
        bias = torch.stack([conv.bias for conv in self.conv_d]).sum(0).to(x.dtype)
        # Each conv_d[i] is 1x1, so it commutes with the aggregation over joints: the fixed
        # part of the graph is one graph_conv, the biases are added once, and only the
        # data-dependent part (zero at init, alpha = 0) needs per-sample matrices.
        y = graph_conv(x, weight, self.A.to(x.dtype), impl=graph_conv_impl())
        y = y + bias.view(1, -1, 1, 1)
        if self.adaptive:
            y = y + torch.einsum("koc,nctv,nkvw->notw", weight, x, self.learned_graphs(x))
        y = self.relu(self.bn(y) + (x if self.down is None else self.down(x)))
        if self.attention:
            y = y * self.spatial_mask(y).unsqueeze(-2) + y
            y = y * self.temporal_mask(y).unsqueeze(-1) + y
            y = y * self.channel_mask(y)[:, :, None, None] + y
        return y

"""DG-STGCN's units (Duan et al., 2022): the dynamic-group graph convolution ``dggcn`` and the
multi-scale temporal convolution with dynamic joint-skeleton fusion ``dgmstcn``.

Names, arguments, submodules and parameters are PYSKL's (``pyskl/models/gcns/utils/gcn.py``,
``tcn.py``), so PYSKL checkpoints load with ``strict=True``; weights keep PyTorch's default
init, as in PYSKL.

``dggcn`` aggregates each group of channels with its own graph: a learned affinity ``A[k]``
plus, with ``ctr``/``ada``, terms computed per sample (and per channel for ``ctr``), and the
group's channels only. Neither the per-sample graphs nor the group-wise aggregation are
:func:`skel_kernels.graph_conv`'s shared ``(K, V, V)`` convolution over all input channels, so
``dggcn`` computes them with einsum directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .layers import ActSpec, NormSpec, build_act, build_norm
from .tcn import MSTCN_DEFAULT_CFG, mstcn

GRAPH_MODES = (None, "NA", "T")
GRAPH_ACTS = ("tanh", "relu", "sigmoid", "softmax")
# Axes of the (N, K, C', T', V, V) graphs that may have size 1 (shared by all samples,
# channels or frames), and their dims.
_GRAPH_AXES = {"n": 0, "c": 2, "t": 3}


class dggcn(nn.Module):  # noqa: N801 - PYSKL's name
    """Dynamic-group graph convolution: ``(N, C_in, T, V) -> (N, C_out, T, V)``.

    ``pre`` (1x1 conv-norm-act) maps the input to ``K`` groups of ``mid = int(ratio *
    C_out)`` channels (``ratio=None``: ``1 / K``), ``K = A.shape[0]``. Group ``k`` aggregates
    over joints with ``A[k]`` (learned) plus the dynamic terms of ``ctr`` and ``ada``; ``post``
    (1x1 conv) mixes the groups, then norm, the residual (``down`` when channels change) and
    act.

    * ``ctr`` (channel-wise topology refinement): ``ctr_act(e1 - e2)`` over joint pairs, one
      graph per sample, group and channel, scaled by ``alpha``.
    * ``ada`` (adaptive affinity): ``ada_act(e1 . e2)`` (the dot product over a group's
      channels), one graph per sample and group, scaled by ``beta``.

    ``e1``/``e2`` are ``conv1``/``conv2`` embeddings of the input, averaged over time when the
    mode is ``'T'`` (one graph per clip) and kept per frame when either mode is ``'NA'``.
    ``subset_wise`` scales group ``k`` by ``alpha[k]``/``beta[k]`` instead of the first entry.
    ``alpha`` and ``beta`` start at 0, so the unit starts from the learned ``A`` alone.
    Activations: ``'tanh'``, ``'relu'``, ``'sigmoid'``, ``'softmax'`` (over the sending joint).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: torch.Tensor,
        ratio: float | None = 0.25,
        ctr: str | None = "T",
        ada: str | None = "T",
        subset_wise: bool = False,
        ada_act: str = "softmax",
        ctr_act: str = "tanh",
        norm: NormSpec = "BN",
        act: ActSpec = "ReLU",
    ):
        super().__init__()
        if A.dim() != 3 or A.shape[1] != A.shape[2]:
            raise ValueError(f"dggcn: A must be (K, V, V), got shape {list(A.shape)}")
        for name, value, choices in (
            ("ctr", ctr, GRAPH_MODES),
            ("ada", ada, GRAPH_MODES),
            ("ctr_act", ctr_act, GRAPH_ACTS),
            ("ada_act", ada_act, GRAPH_ACTS),
        ):
            if value not in choices:
                raise ValueError(f"dggcn: {name} must be one of {choices}, got {value!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_subsets = num_subsets = A.shape[0]
        self.ctr = ctr
        self.ada = ada
        self.ctr_act = ctr_act
        self.ada_act = ada_act
        self.subset_wise = subset_wise
        self.ratio = 1 / num_subsets if ratio is None else ratio
        self.mid_channels = mid_channels = int(self.ratio * out_channels)
        if mid_channels < 1:
            raise ValueError(
                f"dggcn: ratio={ratio} gives int({self.ratio} * {out_channels}) = 0 channels "
                "per group"
            )
        self.act = build_act(act)
        self.A = nn.Parameter(A.clone())
        self.pre = nn.Sequential(
            nn.Conv2d(in_channels, mid_channels * num_subsets, 1),
            build_norm(norm, mid_channels * num_subsets),
            self.act,
        )
        self.post = nn.Conv2d(mid_channels * num_subsets, out_channels, 1)
        self.tanh = nn.Tanh()
        self.relu = nn.ReLU()
        self.sigmoid = nn.Sigmoid()
        self.softmax = nn.Softmax(-2)
        self.alpha = nn.Parameter(torch.zeros(num_subsets))
        self.beta = nn.Parameter(torch.zeros(num_subsets))
        if ctr or ada:
            self.conv1 = nn.Conv2d(in_channels, mid_channels * num_subsets, 1)
            self.conv2 = nn.Conv2d(in_channels, mid_channels * num_subsets, 1)
        if in_channels != out_channels:
            self.down = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), build_norm(norm, out_channels)
            )
        else:
            self.down = None
        self.bn = build_norm(norm, out_channels)

    def _scale(self, graph: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """``graph`` (N, K, ...) times ``weight[k]`` per group, or ``weight[0]`` for all."""
        if self.subset_wise:
            return graph * weight.view(1, -1, *([1] * (graph.dim() - 2)))
        return graph * weight[0]

    def graphs(self, x: torch.Tensor) -> torch.Tensor:
        """The graphs the groups aggregate with: ``(N, K, C', T', V, V)``, where ``C'`` is
        ``mid`` with ``ctr`` else 1, and ``T'`` is 1 unless a mode is ``'NA'``."""
        n, _, _, v = x.shape
        k, mid = self.num_subsets, self.mid_channels
        graph = self.A[None, :, None, None]  # 1, K, 1, 1, V, V
        if not (self.ctr or self.ada):
            return graph
        per_frame = "NA" in (self.ctr, self.ada)
        source = x if per_frame else x.mean(-2, keepdim=True)
        e1 = self.conv1(source).view(n, k, mid, -1, v)
        e2 = self.conv2(source).view(n, k, mid, -1, v)
        if self.ctr:
            diff = e1.unsqueeze(-1) - e2.unsqueeze(-2)  # N, K, mid, T', V, V
            graph = graph + self._scale(getattr(self, self.ctr_act)(diff), self.alpha)
        if self.ada:
            affinity = torch.einsum("nkctv,nkctw->nktvw", e1, e2).unsqueeze(2)
            graph = graph + self._scale(getattr(self, self.ada_act)(affinity), self.beta)
        return graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        res = x if self.down is None else self.down(x)
        groups = self.pre(x).view(n, self.num_subsets, self.mid_channels, t, v)
        graph = self.graphs(x)
        # Contract over the sending joint v, broadcasting the graph over the channel and
        # frame axes it does not vary along (size 1) instead of materialising it.
        varies = {axis: graph.shape[dim] > 1 for axis, dim in _GRAPH_AXES.items()}
        subscripts = "".join(axis for axis in "nkct" if varies.get(axis, True))
        graph = graph.squeeze(tuple(dim for axis, dim in _GRAPH_AXES.items() if not varies[axis]))
        y = torch.einsum(f"nkctv,{subscripts}vw->nkctw", groups, graph)
        y = self.post(y.reshape(n, -1, t, v))
        return self.act(self.bn(y) + res)


class dgmstcn(mstcn):  # noqa: N801 - PYSKL's name
    """``mstcn`` with dynamic joint-skeleton fusion (DG-TCN): the branches also see the
    joint-averaged frame as an extra joint, and each joint ``v``'s branch features get that
    global feature weighted by the learned ``add_coeff[v]`` (init 0) before ``transform``.
    ``add_coeff`` has ``num_joints`` entries (PYSKL's default 25, whatever the layout); the
    first ``V`` are used, so the input may have at most ``num_joints`` joints."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid_channels: float | None = None,
        num_joints: int = 25,
        dropout: float = 0.0,
        ms_cfg: Sequence = MSTCN_DEFAULT_CFG,
        stride: int = 1,
    ):
        super().__init__(in_channels, out_channels, mid_channels, dropout, ms_cfg, stride)
        self.num_joints = num_joints
        self.add_coeff = nn.Parameter(torch.zeros(num_joints))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x.shape[-1]
        if v > self.num_joints:
            raise ValueError(
                f"dgmstcn: input has {v} joints but num_joints={self.num_joints} "
                "(tcn_num_joints in DGSTGCN); set it to at least the layout's joint count"
            )
        x = torch.cat([x, x.mean(-1, keepdim=True)], -1)
        out = torch.cat([branch(x) for branch in self.branches], dim=1)
        fused = out[..., :v] + out[..., v:] * self.add_coeff[:v]
        return self.drop(self.bn(self.transform(fused)))

"""Units of MS-G3D (Liu et al., CVPR 2020): the disentangled multi-scale graph convolution
``MSGCN``, the unified spatial-temporal ``ST_MSGCN`` over temporal windows (``MSG3DBlock``,
``MW_MSG3DBlock``) and MS-G3D's multi-scale temporal convolution ``MSTCN`` (which CTR-GCN
uses too).

Names, submodules, parameters and buffers are PYSKL's (``pyskl/models/gcns/utils/
msg3d_utils.py``), so PYSKL checkpoints load with ``strict=True``. Both graph convolutions
aggregate with ``A + PA`` (a fixed multi-scale adjacency plus a learned offset) and then mix
the ``scales * C`` channels with a 1x1 conv: they run as one :func:`skel_kernels.graph_conv`
through :mod:`skel_models.graph_conv_switch`, which never stores the ``(N, scales * C, T, V)``
aggregated tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from skel_core.graph import k_adjacency, normalize_digraph

from .gcn import aggregate_then_conv
from .init import bn_init, conv_init
from .tcn import unit_tcn


def multiscale_adjacency(A: np.ndarray, num_scales: int) -> np.ndarray:
    """``(num_scales, V, V)``: for each hop count ``k < num_scales``, the joints exactly ``k``
    hops apart in ``A`` plus self-loops, each column normalised to sum 1 (MS-G3D's
    disentangled scales; scale 0 is the identity)."""
    scales = [normalize_digraph(k_adjacency(A, k, with_self=True)) for k in range(num_scales)]
    return np.stack(scales)


def spatial_temporal_graph(A: np.ndarray, window_size: int) -> np.ndarray:
    """``(w V, w V)`` graph of ``window_size`` = ``w`` frames: ``A`` with self-loops tiled
    ``w x w`` times, so each joint links to itself and its neighbours in every frame of the
    window (G3D's dense cross-spacetime edges)."""
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"spatial_temporal_graph: A must be (V, V), got shape {A.shape}")
    return np.tile(A + np.eye(len(A), dtype=A.dtype), (window_size, window_size))


class MLP(nn.Module):
    """PYSKL's one-layer ``MLP`` as MS-G3D uses it: 1x1 conv, BatchNorm, ReLU (``layers.0``,
    ``layers.1``, ``layers.2``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels), nn.ReLU()]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MSGCN(nn.Module):
    """Disentangled multi-scale graph convolution: ``x`` aggregated with each of the
    ``num_scales`` scales of ``A`` (``A + PA``; ``PA`` learned, init U(-1e-6, 1e-6)), then
    ``mlp`` over the ``num_scales * C_in`` channels: ``(N, C_in, T, V) -> (N, C_out, T, V)``.
    ``A`` is the ``(V, V)`` 0/1 skeleton graph."""

    def __init__(
        self, num_scales: int, in_channels: int, out_channels: int, A: np.ndarray | torch.Tensor
    ):
        super().__init__()
        self.num_scales = num_scales
        A = A.detach().cpu().numpy() if isinstance(A, torch.Tensor) else np.asarray(A)
        scales = torch.tensor(multiscale_adjacency(A, num_scales), dtype=torch.float32)
        self.register_buffer("A", scales)
        self.PA = nn.Parameter(torch.empty_like(scales).uniform_(-1e-6, 1e-6))
        self.mlp = MLP(in_channels * num_scales, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, *rest = self.mlp.layers
        y = aggregate_then_conv(x, self.A + self.PA, conv)
        for layer in rest:
            y = layer(y)
        return y


class ST_MSGCN(MSGCN):  # noqa: N801 - PYSKL's name
    """:class:`MSGCN` over the spatial-temporal graph of ``window_size`` frames
    (:func:`spatial_temporal_graph`): its input is ``(N, C, T', window_size * V)`` windows
    from :class:`UnfoldTemporalWindows`. (PYSKL applies one more ReLU after the ``mlp``'s own,
    which changes nothing.)"""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray | torch.Tensor,
        num_scales: int,
        window_size: int,
    ):
        A = A.detach().cpu().numpy() if isinstance(A, torch.Tensor) else np.asarray(A)
        super().__init__(
            num_scales, in_channels, out_channels, spatial_temporal_graph(A, window_size)
        )
        self.window_size = window_size
        self.V = len(A) * window_size


class UnfoldTemporalWindows(nn.Module):
    """Sliding windows of ``window_size`` frames (``window_stride`` apart, frames
    ``window_dilation`` apart, zero-padded to keep ``T / window_stride`` windows), laid side by
    side along the joint axis: ``(N, C, T, V) -> (N, C, T', window_size * V)`` with frame-major
    joints."""

    def __init__(self, window_size: int, window_stride: int, window_dilation: int = 1):
        super().__init__()
        self.window_size = window_size
        self.window_stride = window_stride
        self.window_dilation = window_dilation
        self.padding = (window_size + (window_size - 1) * (window_dilation - 1) - 1) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, _, v = x.shape
        span = (self.window_size - 1) * self.window_dilation + 1
        padded = F.pad(x, (0, 0, self.padding, self.padding))
        windows = padded.unfold(2, span, self.window_stride)[..., :: self.window_dilation]
        return windows.transpose(-1, -2).reshape(n, c, -1, self.window_size * v)  # w-major


class MSG3DBlock(nn.Module):
    """One G3D pathway: unfold windows of ``window_size`` frames, :class:`ST_MSGCN` over them,
    then collapse each window to one frame with a ``(1, window_size, 1)`` 3D conv
    (``out_conv``) and BatchNorm (``out_bn``), no activation: ``(N, C_in, T, V) ->
    (N, C_out, T / window_stride, V)``.

    The graph convolution keeps ``in_channels`` and the collapse maps them to
    ``out_channels``, except in the network's input block (``input_block``), whose graph
    convolution already maps to ``out_channels`` (PYSKL detects that block by
    ``in_channels == 3``).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray | torch.Tensor,
        num_scales: int,
        window_size: int,
        window_stride: int,
        window_dilation: int = 1,
        input_block: bool = False,
    ):
        super().__init__()
        self.window_size = window_size
        self.out_channels = out_channels
        self.embed_channels_in = in_channels
        self.embed_channels_out = out_channels if input_block else in_channels
        self.gcn3d = nn.Sequential(
            UnfoldTemporalWindows(window_size, window_stride, window_dilation),
            ST_MSGCN(self.embed_channels_in, self.embed_channels_out, A, num_scales, window_size),
        )
        self.out_conv = nn.Conv3d(
            self.embed_channels_out, out_channels, kernel_size=(1, window_size, 1)
        )
        self.out_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, _, v = x.shape
        x = self.gcn3d(x).view(n, self.embed_channels_out, -1, self.window_size, v)
        return self.out_bn(self.out_conv(x).squeeze(3))


class MW_MSG3DBlock(nn.Module):  # noqa: N801 - PYSKL's name
    """Multi-window G3D: the sum of one :class:`MSG3DBlock` per window size (``gcn3d.<i>``),
    all with the same ``window_stride``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        A: np.ndarray | torch.Tensor,
        num_scales: int,
        window_sizes: Sequence[int] = (3, 5),
        window_stride: int = 1,
        window_dilations: Sequence[int] = (1, 1),
        input_block: bool = False,
    ):
        super().__init__()
        if len(window_sizes) != len(window_dilations):
            raise ValueError(
                f"MW_MSG3DBlock: window_sizes {list(window_sizes)} and window_dilations "
                f"{list(window_dilations)} must have the same length"
            )
        self.gcn3d = nn.ModuleList(
            MSG3DBlock(
                in_channels,
                out_channels,
                A,
                num_scales,
                size,
                window_stride,
                dilation,
                input_block=input_block,
            )
            for size, dilation in zip(window_sizes, window_dilations, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(block(x) for block in self.gcn3d)


class MSTCN(nn.Module):
    """MS-G3D's multi-scale temporal convolution (not ST-GCN++'s ``mstcn``): one branch per
    dilation (1x1 conv-BN-ReLU, then a ``kernel_size`` x 1 dilated ``unit_tcn`` with BN), a
    1x1 conv-BN-ReLU-3x1 max pool-BN branch and a strided 1x1 conv-BN branch, concatenated;
    plus a residual (none, identity, or a strided 1x1 ``unit_tcn``), ReLU (unless ``activation``
    is False) and dropout. The branches get ``out_channels // (len(dilations) + 2)`` channels
    each and the last one the remainder. ``kernel_size`` may list one size per dilation.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 3,
        stride: int = 1,
        dilations: Sequence[int] = (1, 2, 3, 4),
        residual: bool = True,
        tcn_dropout: float = 0.0,
        activation: bool = True,
    ):
        super().__init__()
        self.num_branches = len(dilations) + 2
        if isinstance(kernel_size, int):
            kernel_sizes = [kernel_size] * len(dilations)
        else:
            kernel_sizes = list(kernel_size)
        if len(kernel_sizes) != len(dilations):
            raise ValueError(
                f"MSTCN: kernel_size {kernel_size!r} must be one int or one per dilation "
                f"({len(dilations)} dilations)"
            )
        channels = out_channels // self.num_branches
        remainder = out_channels - channels * (self.num_branches - 1)
        branches = [
            nn.Sequential(
                *_squeeze(in_channels, channels),
                unit_tcn(channels, channels, size, stride=stride, dilation=dilation),
            )
            for size, dilation in zip(kernel_sizes, dilations, strict=True)
        ]
        branches.append(
            nn.Sequential(
                *_squeeze(in_channels, channels),
                nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0)),
                nn.BatchNorm2d(channels),
            )
        )
        branches.append(
            nn.Sequential(
                nn.Conv2d(in_channels, remainder, 1, stride=(stride, 1)),
                nn.BatchNorm2d(remainder),
            )
        )
        self.branches = nn.ModuleList(branches)
        if not residual:
            self.residual_mode = "none"
        elif in_channels == out_channels and stride == 1:
            self.residual_mode = "identity"
        else:
            self.residual_mode = "conv"
            self.residual = unit_tcn(in_channels, out_channels, kernel_size=1, stride=stride)
        self.act = nn.ReLU() if activation else nn.Identity()
        self.drop = nn.Dropout(tcn_dropout)

    def init_weights(self) -> None:
        """PYSKL's init (used by CTR-GCN): Kaiming convs with zero bias, unit-scale norms."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                conv_init(m)
            elif isinstance(m, nn.BatchNorm2d):
                bn_init(m, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([branch(x) for branch in self.branches], dim=1)
        if self.residual_mode == "identity":
            out = out + x
        elif self.residual_mode == "conv":
            out = out + self.residual(x)
        return self.drop(self.act(out))


def _squeeze(in_channels: int, channels: int) -> tuple[nn.Module, ...]:
    """A branch's entry: 1x1 conv to ``channels``, BatchNorm, ReLU."""
    return nn.Conv2d(in_channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU()

"""Temporal convolution units of the GCN zoo: ``unit_tcn`` and the multi-scale ``mstcn``.

Names, arguments, submodule layout and defaults are PYSKL's (``pyskl/models/gcns/utils/tcn.py``)
so that checkpoints load with ``strict=True``: e.g. ``tcn.conv.weight``, ``tcn.bn.running_mean``,
``tcn.branches.0.0.weight`` (a branch's 1x1 conv), ``tcn.branches.0.3.conv.weight`` (its
dilated temporal conv), ``tcn.transform.2.weight``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .init import bn_init, conv_init
from .layers import NormSpec, build_norm

# PYSKL's default: four dilated 3x1 convolutions, a 3x1 max pool and a plain 1x1 conv.
MSTCN_DEFAULT_CFG = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")


class unit_tcn(nn.Module):  # noqa: N801 - PYSKL's name
    """Temporal convolution (``kernel_size`` x 1, ``stride`` and ``dilation`` over time) +
    norm + dropout; ``(N, C_in, T, V) -> (N, C_out, ceil(T / stride), V)``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 9,
        stride: int = 1,
        dilation: int = 1,
        norm: NormSpec = "BN",
        dropout: float = 0.0,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        pad = (kernel_size + (kernel_size - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size=(kernel_size, 1),
            padding=(pad, 0),
            stride=(stride, 1),
            dilation=(dilation, 1),
        )
        self.bn = build_norm(norm, out_channels)
        self.drop = nn.Dropout(dropout)

    def init_weights(self) -> None:
        """PYSKL's init (used by AAGCN): Kaiming conv, unit-scale norm."""
        conv_init(self.conv)
        bn_init(self.bn, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(self.conv(x)))


class mstcn(nn.Module):  # noqa: N801 - PYSKL's name
    """Multi-scale temporal convolution (ST-GCN++): parallel branches, concatenated, then
    BN-ReLU-1x1 conv (``transform``), BN and dropout.

    ``ms_cfg`` lists the branches: ``(k, d)`` is 1x1 conv-BN-ReLU then a ``k``x1 temporal conv of
    dilation ``d``; ``('max', k)`` is 1x1 conv-BN-ReLU then a ``k``x1 max pool; ``'1x1'`` is a
    strided 1x1 conv. Each branch gets ``out_channels // len(ms_cfg)`` channels and the first
    one the remainder; a float ``mid_channels`` gives every branch ``int(out_channels *
    mid_channels)`` channels instead.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid_channels: float | None = None,
        dropout: float = 0.0,
        ms_cfg: Sequence = MSTCN_DEFAULT_CFG,
        stride: int = 1,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ms_cfg = [_check_branch(cfg) for cfg in ms_cfg]
        num_branches = len(self.ms_cfg)
        if num_branches == 0:
            raise ValueError("mstcn: ms_cfg must list at least one branch")
        if mid_channels is None:
            self.mid_channels = out_channels // num_branches
            self.rem_mid_channels = out_channels - self.mid_channels * (num_branches - 1)
        else:
            if not isinstance(mid_channels, float) or mid_channels <= 0:
                raise ValueError(
                    f"mstcn: mid_channels must be None or a positive float (a fraction of "
                    f"out_channels), got {mid_channels!r}"
                )
            self.mid_channels = self.rem_mid_channels = int(out_channels * mid_channels)
        self.act = nn.ReLU()
        self.branches = nn.ModuleList(
            self._branch(cfg, self.rem_mid_channels if i == 0 else self.mid_channels, stride)
            for i, cfg in enumerate(self.ms_cfg)
        )
        cat_channels = self.mid_channels * (num_branches - 1) + self.rem_mid_channels
        self.transform = nn.Sequential(
            nn.BatchNorm2d(cat_channels), self.act, nn.Conv2d(cat_channels, out_channels, 1)
        )
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)

    def _branch(self, cfg: str | tuple, channels: int, stride: int) -> nn.Module:
        if cfg == "1x1":
            return nn.Conv2d(self.in_channels, channels, kernel_size=1, stride=(stride, 1))
        squeeze = (nn.Conv2d(self.in_channels, channels, 1), nn.BatchNorm2d(channels), self.act)
        if cfg[0] == "max":
            kernel = cfg[1]
            # PYSKL pads by 1, i.e. (k - 1) // 2 for its only kernel size, k = 3.
            pool = nn.MaxPool2d((kernel, 1), stride=(stride, 1), padding=((kernel - 1) // 2, 0))
            return nn.Sequential(*squeeze, pool)
        kernel, dilation = cfg
        temporal = unit_tcn(channels, channels, kernel, stride=stride, dilation=dilation, norm=None)
        return nn.Sequential(*squeeze, temporal)

    def init_weights(self) -> None:
        """PYSKL leaves mstcn at PyTorch's default init."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([branch(x) for branch in self.branches], dim=1)
        return self.drop(self.bn(self.transform(out)))


def _check_branch(cfg: object) -> str | tuple:
    """One ``ms_cfg`` entry as a tuple (configs may give lists), or a ValueError naming it."""
    if cfg == "1x1":
        return cfg
    if isinstance(cfg, (tuple, list)) and len(cfg) == 2:
        numbers = cfg[1:] if cfg[0] == "max" else cfg
        if all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in numbers):
            return tuple(cfg)
    raise ValueError(
        f"mstcn: each ms_cfg entry must be (kernel, dilation), ('max', kernel) or '1x1', "
        f"got {cfg!r}"
    )


TCN_TYPES = ("unit_tcn", "mstcn")


def build_tcn(
    tcn_type: str,
    channels: int,
    stride: int = 1,
    *,
    dropout: float = 0.0,
    norm: NormSpec = "BN",
    dilation: int = 1,
    ms_cfg: Sequence | None = None,
    mid_channels: float | None = None,
) -> nn.Module:
    """A block's temporal unit from PYSKL's ``tcn_*`` options: ``unit_tcn`` (kernel 9, takes
    ``norm``/``dilation``) or ``mstcn`` (takes ``ms_cfg``, None meaning PYSKL's default, and
    ``mid_channels``). An option the chosen type does not take raises ValueError."""
    if tcn_type == "unit_tcn":
        if ms_cfg is not None or mid_channels is not None:
            raise ValueError("tcn_ms_cfg and tcn_mid_channels apply to tcn_type='mstcn' only")
        return unit_tcn(channels, channels, 9, stride, dilation, norm=norm, dropout=dropout)
    if tcn_type == "mstcn":
        if norm != "BN" or dilation != 1:
            raise ValueError("tcn_norm and tcn_dilation apply to tcn_type='unit_tcn' only")
        ms_cfg = MSTCN_DEFAULT_CFG if ms_cfg is None else ms_cfg
        return mstcn(channels, channels, mid_channels, dropout, ms_cfg, stride)
    raise ValueError(f"tcn_type must be one of {TCN_TYPES}, got {tcn_type!r}")

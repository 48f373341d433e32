"""PYSKL's weight initialisers for GCN units (``pyskl/models/gcns/utils/init_func.py``)."""

from __future__ import annotations

import math

from torch import nn


def conv_init(conv: nn.Conv1d | nn.Conv2d) -> None:
    """Kaiming-normal weight (fan_out), zero bias."""
    nn.init.kaiming_normal_(conv.weight, mode="fan_out")
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def conv_branch_init(conv: nn.Conv2d, branches: int) -> None:
    """Normal weight with std ``sqrt(2 / (C_out * C_in * k * branches))``, zero bias: one of
    ``branches`` convolutions whose outputs are summed."""
    c_out, c_in, k = conv.weight.shape[:3]
    nn.init.normal_(conv.weight, 0, math.sqrt(2.0 / (c_out * c_in * k * branches)))
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


def bn_init(bn: nn.Module, scale: float) -> None:
    """Constant weight ``scale``, zero bias (a no-op on a norm without affine parameters)."""
    if getattr(bn, "weight", None) is not None:
        nn.init.constant_(bn.weight, scale)
        nn.init.zeros_(bn.bias)

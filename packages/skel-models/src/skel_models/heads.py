"""Classification heads: pool a backbone's features, dropout, and classify with ``fc_cls``."""

from __future__ import annotations

import torch
from torch import nn


class _LinearHead(nn.Module):
    """Dropout and a linear classifier ``fc_cls`` (MMAction2 1.x calls it ``fc``; see
    :mod:`skel_models.key_maps`) on features that :meth:`pool` reduces to ``(N, C)``."""

    feature_axes = ""  # the feature shape :meth:`pool` takes, for error messages

    def __init__(self, num_classes: int, in_channels: int, dropout: float, init_std: float):
        super().__init__()
        self.in_channels = in_channels
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc_cls.weight, 0, init_std)
        nn.init.zeros_(self.fc_cls.bias)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == len(self.feature_axes.split(",")):
            x = self.pool(x)
        elif x.dim() != 2:
            raise ValueError(f"{type(self).__name__} expects features ({self.feature_axes}) or "
                             f"(N, C), got {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} has in_channels={self.in_channels} but the features "
                f"have {x.shape[1]} channels (shape {tuple(x.shape)}); set cls_head.in_channels "
                "to the backbone's output channels"
            )
        return self.fc_cls(self.dropout(x))


class GCNHead(_LinearHead):
    """PYSKL's GCNHead: average GCN features ``(N, M, C, T, V)`` over time and joints, then over
    persons (or take already pooled ``(N, C)`` features), dropout, and classify."""

    feature_axes = "N, M, C, T, V"

    def __init__(
        self, num_classes: int, in_channels: int, dropout: float = 0.0, init_std: float = 0.01
    ):
        super().__init__(num_classes, in_channels, dropout, init_std)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(-2, -1)).mean(dim=1)  # over (T, V), then over persons


class I3DHead(_LinearHead):
    """PYSKL's I3DHead (PoseC3D): average 3D-CNN features ``(N, C, T, H, W)`` over time and
    space (or take ``(N, C)``), dropout (0.5 by default, as in PYSKL), and classify."""

    feature_axes = "N, C, T, H, W"

    def __init__(
        self, num_classes: int, in_channels: int, dropout: float = 0.5, init_std: float = 0.01
    ):
        super().__init__(num_classes, in_channels, dropout, init_std)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(-3, -2, -1))

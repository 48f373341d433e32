"""Classification heads."""

from __future__ import annotations

import torch
from torch import nn


class GCNHead(nn.Module):
    """PYSKL's GCNHead: average GCN features ``(N, M, C, T, V)`` over time and joints, then over
    persons (or take already pooled ``(N, C)`` features), dropout, and classify with ``fc_cls``
    (MMAction2 1.x calls it ``fc``; see :mod:`skel_models.key_maps`)."""

    def __init__(
        self, num_classes: int, in_channels: int, dropout: float = 0.0, init_std: float = 0.01
    ):
        super().__init__()
        self.in_channels = in_channels
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc_cls.weight, 0, init_std)
        nn.init.zeros_(self.fc_cls.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            x = x.mean(dim=(-2, -1)).mean(dim=1)  # average over (T, V), then over persons
        elif x.dim() != 2:
            raise ValueError(
                f"GCNHead expects features (N, M, C, T, V) or (N, C), got {tuple(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"GCNHead has in_channels={self.in_channels} but the features have "
                f"{x.shape[1]} channels (shape {tuple(x.shape)}); set cls_head.in_channels to "
                "the backbone's output channels"
            )
        return self.fc_cls(self.dropout(x))

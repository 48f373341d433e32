"""Classification heads."""

from __future__ import annotations

import torch
from torch import nn


class GCNHead(nn.Module):
    """Pool GCN features (N, M, C, T, V) over persons, time and joints; classify with ``fc_cls``."""

    def __init__(
        self, num_classes: int, in_channels: int, dropout: float = 0.0, init_std: float = 0.01
    ):
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc_cls.weight, 0, init_std)
        nn.init.zeros_(self.fc_cls.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(-2, -1)).mean(dim=1)  # average over (T, V), then over persons
        return self.fc_cls(self.dropout(pooled))

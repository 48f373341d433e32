"""Recognizers: a backbone and a head, from input skeletons to class scores."""

from __future__ import annotations

import torch
from torch import nn


class RecognizerGCN(nn.Module):
    """GCN recognizer: ``forward(keypoint)`` returns class logits (N, num_classes).

    ``keypoint`` is (N, M, T, V, C), or (N, S, M, T, V, C) with S clips per sample (multi-clip
    testing). With several clips the per-clip outputs are averaged as ``test_cfg['average_clips']``
    says: ``'prob'`` (mean of softmax, the result then being probabilities; the default, as in
    PYSKL's RecognizerGCN), ``'score'`` (mean of logits), or ``None``/``False`` (no averaging:
    returns (N, S, num_classes)). Features are averaged over persons inside the head.
    """

    def __init__(
        self,
        backbone: nn.Module,
        cls_head: nn.Module,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
    ):
        super().__init__()
        self.backbone = backbone
        self.cls_head = cls_head
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(test_cfg or {})

    def forward(self, keypoint: torch.Tensor) -> torch.Tensor:
        if keypoint.dim() == 5:
            return self.cls_head(self.backbone(keypoint))
        if keypoint.dim() != 6:
            raise ValueError(
                "RecognizerGCN expects keypoint of shape (N, M, T, V, C) or (N, S, M, T, V, C), "
                f"got {tuple(keypoint.shape)}"
            )
        n, s = keypoint.shape[:2]
        logits = self.cls_head(self.backbone(keypoint.flatten(0, 1))).view(n, s, -1)
        mode = self.test_cfg.get("average_clips", "prob")
        if mode == "prob":
            return logits.softmax(-1).mean(1)
        if mode == "score":
            return logits.mean(1)
        if mode in (None, False):
            return logits
        raise ValueError(f"average_clips must be 'prob', 'score' or None, got {mode!r}")

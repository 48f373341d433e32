"""Recognizers: a backbone and a head, from a model-input clip to class scores."""

from __future__ import annotations

import torch
from torch import nn


def average_clip_scores(logits: torch.Tensor, mode: str | bool | None) -> torch.Tensor:
    """Combine the scores ``(N, S, num_classes)`` of S clips per sample as PYSKL's
    ``test_cfg['average_clips']`` says: ``'prob'`` (mean of softmax), ``'score'`` (mean of
    logits), or ``None``/``False`` (no averaging: ``logits`` unchanged)."""
    if mode == "prob":
        return logits.softmax(-1).mean(1)
    if mode == "score":
        return logits.mean(1)
    if mode in (None, False):
        return logits
    raise ValueError(f"average_clips must be 'prob', 'score' or None, got {mode!r}")


class _ClipRecognizer(nn.Module):
    """``forward(x)`` of a backbone and a head on a batch of clips ``(N, *clip)``, or on
    ``(N, S, *clip)`` with S clips per sample, whose scores :func:`average_clip_scores` combines
    as ``test_cfg['average_clips']`` says (default ``'prob'``, PYSKL's)."""

    clip_axes = ""  # the axes of one clip, for error messages

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

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            return self.cls_head(self.backbone(x))
        if x.dim() != 6:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (N, {self.clip_axes}) or "
                f"(N, S, {self.clip_axes}), got {tuple(x.shape)}"
            )
        n, s = x.shape[:2]
        logits = self.cls_head(self.backbone(x.flatten(0, 1))).view(n, s, -1)
        return average_clip_scores(logits, self.test_cfg.get("average_clips", "prob"))


class RecognizerGCN(_ClipRecognizer):
    """GCN recognizer: ``forward(keypoint)`` returns class logits (N, num_classes).

    ``keypoint`` is (N, M, T, V, C), or (N, S, M, T, V, C) with S clips per sample (multi-clip
    testing), the S outputs then combined by :func:`average_clip_scores` (``'prob'``, the
    default, gives probabilities). Features are averaged over persons inside the head.
    """

    clip_axes = "M, T, V, C"


class Recognizer3D(_ClipRecognizer):
    """3D-CNN recognizer (PoseC3D): ``forward(imgs)`` returns class logits (N, num_classes).

    ``imgs`` is a heatmap volume (N, C, T, H, W), or (N, S, C, T, H, W) with S = clips x crops
    per sample as :class:`skel_data.transforms.FormatShape` makes it for multi-clip testing, the
    S outputs then combined by :func:`average_clip_scores`.
    """

    clip_axes = "C, T, H, W"

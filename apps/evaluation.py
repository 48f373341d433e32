"""Scores of a model on a dataset, and their metrics: one implementation for ``skel-test`` and
for ``skel-train``'s periodic validation and final test.

Each batch goes to the model whole, clips dimension included ((B, num_clips, ...)): multi-clip
and flip testing are what the test pipeline produces (``UniformSampleFrames(num_clips=10)``,
``GeneratePoseTarget(double=True)``...) and the recognizer averages the clips as its
``test_cfg.average_clips`` says. Under ``torchrun`` every rank scores its shard of the dataset;
the scores are gathered and put back in dataset order (a sampler's padding repeats dropped), so
a score file's rows are the dataset's samples in order whatever the number of processes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from skel_core.errors import ConfigError
from skel_core.metrics import mean_class_accuracy, top_k_accuracy

from .batch import batch_labels, model_input
from .distributed import DistContext, gather_objects

DEFAULT_TOPK = (1, 5)

# --amp choices of skel-train and skel-test: the autocast dtype of the forward pass.
AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class EvalResult:
    """Scores ``(N, C)`` and labels ``(N,)`` in dataset order, and their ``metrics``
    (PYSKL's names: ``top1_acc``, ``top5_acc``, ``mean_class_accuracy``)."""

    scores: np.ndarray
    labels: np.ndarray
    metrics: dict[str, float]

    @property
    def num_samples(self) -> int:
        return len(self.labels)

    def summary(self, label: str = "test") -> str:
        """One line: ``test top-1 accuracy: 87.50%  (top-5 ..., mean class ..., N clips)``."""
        others = [
            f"top-{match[1]} {value * 100:.2f}%"
            for key, value in self.metrics.items()
            if (match := re.fullmatch(r"top(\d+)_acc", key)) and key != "top1_acc"
        ]
        others.append(f"mean class {self.metrics['mean_class_accuracy'] * 100:.2f}%")
        return (
            f"{label} top-1 accuracy: {self.metrics['top1_acc'] * 100:.2f}%  "
            f"({', '.join(others)}, {self.num_samples} clips)"
        )


def metric_keys(metrics: Iterable[str], topk: Iterable[int]) -> list[str]:
    """PYSKL's result names: ``top{k}_acc`` for each k of top_k_accuracy, then the others."""
    keys = []
    for metric in metrics:
        keys += [f"top{k}_acc" for k in topk] if metric == "top_k_accuracy" else [metric]
    return keys


def compute_metrics(
    scores: np.ndarray, labels: np.ndarray, topk: Sequence[int] = DEFAULT_TOPK
) -> dict[str, float]:
    """Top-k accuracies for each k of ``topk`` (1 always included) and mean class accuracy."""
    topk = sorted({1, *topk})
    accuracies = top_k_accuracy(scores, labels, topk=topk)
    names = metric_keys(["top_k_accuracy"], topk)
    metrics = dict(zip(names, accuracies, strict=True))
    metrics["mean_class_accuracy"] = mean_class_accuracy(scores, labels)
    return metrics


@torch.no_grad()
def predict(
    model: torch.nn.Module,
    loader: DataLoader,
    ctx: DistContext,
    *,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
    desc: str = "test",
) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels of every sample of ``loader``'s dataset, in dataset order, on every
    rank. ``model`` is the plain module (not a DDP wrapper); it is put in eval mode."""
    model.eval()
    # The loader does not shuffle here, so its batch sampler replays the order it will draw.
    order = [index for batch_indices in loader.batch_sampler for index in batch_indices]
    scores, labels = [], []
    bar = tqdm(loader, desc=desc, leave=False, disable=not (progress and ctx.is_main))
    for batch in bar:
        inputs = model_input(batch, ctx.device)
        with torch.autocast(ctx.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            out = model(inputs)
        if out.dim() != 2:
            raise ConfigError(
                f"the model returned scores of shape {tuple(out.shape)} for input "
                f"{tuple(inputs.shape)}; evaluation needs (batch, classes): set "
                "model.test_cfg.average_clips to 'prob' or 'score'"
            )
        scores.append(out.float().cpu().numpy())
        labels.append(batch_labels(batch).numpy())
    local = (np.asarray(order), np.concatenate(scores), np.concatenate(labels))
    return merge_shards(gather_objects(local, ctx), len(loader.dataset))


def merge_shards(parts: list[tuple], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and labels in dataset order from each rank's ``(indices, scores, labels)``; a
    sample drawn twice (a sampler pads shards to equal length) keeps one row."""
    order = np.concatenate([p[0] for p in parts])
    scores = np.concatenate([p[1] for p in parts])
    labels = np.concatenate([p[2] for p in parts])
    if len(order) != len(scores):
        raise RuntimeError(
            f"the loader drew {len(order)} indices but the model scored {len(scores)} samples"
        )
    first = np.unique(order, return_index=True)[1]  # one row per sample; padding repeats dropped
    if len(first) != size:
        raise RuntimeError(f"evaluation covered {len(first)} of the dataset's {size} samples")
    return scores[first], labels[first]


def evaluate(
    model: torch.nn.Module,
    loader: DataLoader,
    ctx: DistContext,
    *,
    topk: Sequence[int] = DEFAULT_TOPK,
    amp_dtype: torch.dtype | None = None,
    progress: bool = False,
    desc: str = "test",
) -> EvalResult:
    """:func:`predict` (``desc`` labels its progress bar), then :func:`compute_metrics`."""
    scores, labels = predict(model, loader, ctx, amp_dtype=amp_dtype, progress=progress, desc=desc)
    return EvalResult(scores, labels, compute_metrics(scores, labels, topk))

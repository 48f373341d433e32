"""One training epoch: forward, cross-entropy, backward, clip, step, schedule; per iteration.

Training samples carry one clip each (``num_clips=1`` in the training pipeline, as PYSKL
requires); the clips axis of the batch is dropped before the model sees it. Mixed precision
(``amp_dtype``) runs the forward pass under ``torch.autocast``; with float16 the ``scaler``
scales the loss (with bfloat16 it is disabled and passes everything through).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from skel_core.errors import ConfigError

from ..batch import batch_labels, model_input
from ..distributed import DistContext, mean_over_ranks
from .run_log import RunLog


@dataclass(frozen=True)
class StepTools:
    """What a training step uses besides the model and the batch."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    parameters: list[torch.nn.Parameter]  # the ones gradient clipping sees
    grad_clip: dict[str, Any] | None = None
    amp_dtype: torch.dtype | None = None


@dataclass(frozen=True)
class EpochStats:
    loss: float  # mean over the epoch's iterations and the ranks
    samples_per_s: float  # all ranks together
    seconds: float


def train_one_epoch(
    model: torch.nn.Module,
    loader: DataLoader,
    tools: StepTools,
    ctx: DistContext,
    *,
    epoch: int,
    log: RunLog,
    log_interval: int,
) -> EpochStats:
    """Train ``model`` (possibly DDP-wrapped or compiled) on one epoch of ``loader``."""
    model.train()
    loader.sampler.set_epoch(epoch)
    start = time.perf_counter()
    losses: list[float] = []
    seen = 0
    for batch in loader:
        inputs = model_input(batch, ctx.device)
        if inputs.shape[1] != 1:
            raise ConfigError(
                f"training batches must hold one clip per sample, got {inputs.shape[1]} "
                f"(input shape {tuple(inputs.shape)}); set num_clips=1 in the train pipeline"
            )
        labels = batch_labels(batch, ctx.device)
        lr = tools.optimizer.param_groups[0]["lr"]
        loss = train_step(model, inputs[:, 0], labels, tools)
        iteration = tools.scheduler.last_epoch  # LambdaLR counts the steps it has taken
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"the training loss is {loss} at epoch {epoch}, iteration {iteration}; lower "
                "optimizer.lr, add optimizer_config.grad_clip, or check the data"
            )
        losses.append(loss)
        seen += len(labels) * ctx.world_size
        rate = seen / (time.perf_counter() - start)
        log.step(epoch, loss, lr, rate)
        if iteration % log_interval == 0:
            values = {"epoch": epoch, "iter": iteration, "loss": loss, "lr": lr}
            log.record("train", iteration, {**values, "samples_per_s": rate})
    seconds = time.perf_counter() - start
    mean_loss = mean_over_ranks(sum(losses) / max(len(losses), 1), ctx)
    return EpochStats(mean_loss, seen / seconds, seconds)


def train_step(
    model: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor, tools: StepTools
) -> float:
    """One optimisation step on a batch of single clips (N, ...); returns the loss."""
    with torch.autocast(
        inputs.device.type, dtype=tools.amp_dtype, enabled=tools.amp_dtype is not None
    ):
        logits = model(inputs)
    loss = F.cross_entropy(logits.float(), labels)
    tools.optimizer.zero_grad(set_to_none=True)
    tools.scaler.scale(loss).backward()
    if tools.grad_clip:
        tools.scaler.unscale_(tools.optimizer)
        torch.nn.utils.clip_grad_norm_(tools.parameters, **tools.grad_clip)
    tools.scaler.step(tools.optimizer)
    tools.scaler.update()
    tools.scheduler.step()
    return loss.item()

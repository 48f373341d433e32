"""Learning-rate schedules written as PYSKL's ``lr_config``, updated every iteration.

The learning rate of iteration ``i`` (0-based, counted over the whole run) is mmcv's:

* ``policy='CosineAnnealing'``: ``min_lr + (base - min_lr) * (1 + cos(pi * p)) / 2`` with
  ``p = i / total_iters`` (``by_epoch=False``) or ``epoch / total_epochs`` (``by_epoch=True``,
  mmcv's default, the rate then changing once per epoch). ``min_lr`` is absolute;
  ``min_lr_ratio`` gives it relative to each group's base rate instead (neither: ``min_lr=0``).
* ``policy='step'``: ``base * gamma ** n``, ``n`` the number of ``step`` milestones reached
  (epochs when ``by_epoch``, else iterations; an int ``step`` means every ``step``), floored
  at ``min_lr`` if given. ``gamma`` defaults to 0.1.
* ``policy='fixed'``: ``base``.

Warm-up multiplies that rate for the first ``warmup_iters`` iterations (epochs if
``warmup_by_epoch``): ``warmup='linear'`` by ``1 - (1 - i / warmup_iters) * (1 - warmup_ratio)``,
``'constant'`` by ``warmup_ratio``, ``'exp'`` by ``warmup_ratio ** (1 - i / warmup_iters)``;
``warmup_ratio`` defaults to 0.1. Each parameter group follows the schedule from its own base
rate (see :mod:`skel_apps.train.optim` for per-group rates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from skel_core.errors import ConfigError

from ..config_keys import check_keys

LR_CONFIG_KEYS = (
    "policy",
    "by_epoch",
    "min_lr",
    "min_lr_ratio",
    "step",
    "gamma",
    "warmup",
    "warmup_iters",
    "warmup_ratio",
    "warmup_by_epoch",
)
# mmcv builds '<Policy>LrUpdaterHook' and title-cases an all-lower-case policy name.
_POLICIES = {"CosineAnnealing": "cosine", "Step": "step", "Fixed": "fixed"}
_WARMUPS = ("linear", "constant", "exp")


@dataclass(frozen=True)
class LrSchedule:
    """A resolved ``lr_config`` for a run of ``total_epochs`` x ``iters_per_epoch``."""

    policy: str  # 'cosine', 'step' or 'fixed'
    iters_per_epoch: int
    total_epochs: int
    by_epoch: bool = True
    min_lr: float | None = None
    min_lr_ratio: float | None = None
    step: tuple[int, ...] | int = ()
    gamma: float = 0.1
    warmup: str | None = None
    warmup_iters: int = 0  # in iterations, whatever warmup_by_epoch said
    warmup_ratio: float = 0.1

    def lr(self, base_lr: float, iteration: int) -> float:
        """The learning rate of a group with base rate ``base_lr`` at ``iteration``."""
        rate = self._regular(base_lr, iteration)
        if self.warmup is None or iteration >= self.warmup_iters:
            return rate
        done = iteration / self.warmup_iters
        if self.warmup == "linear":
            return rate * (1 - (1 - done) * (1 - self.warmup_ratio))
        if self.warmup == "constant":
            return rate * self.warmup_ratio
        return rate * self.warmup_ratio ** (1 - done)

    def _regular(self, base_lr: float, iteration: int) -> float:
        if self.by_epoch:
            progress, length = iteration // self.iters_per_epoch, self.total_epochs
        else:
            progress, length = iteration, self.iters_per_epoch * self.total_epochs
        if self.policy == "fixed":
            return base_lr
        if self.policy == "cosine":
            target = base_lr * self.min_lr_ratio if self.min_lr_ratio is not None else self.min_lr
            return target + 0.5 * (base_lr - target) * (1 + math.cos(math.pi * progress / length))
        if isinstance(self.step, int):
            exponent = progress // self.step
        else:
            exponent = sum(progress >= milestone for milestone in self.step)
        rate = base_lr * self.gamma**exponent
        return rate if self.min_lr is None else max(rate, self.min_lr)


def parse_lr_config(
    lr_config: Mapping[str, Any], iters_per_epoch: int, total_epochs: int
) -> LrSchedule:
    """Check ``lr_config`` (errors name the key) and resolve it for this run's length."""
    cfg = dict(lr_config)
    check_keys(cfg, LR_CONFIG_KEYS, "lr_config")
    name = cfg.get("policy", "CosineAnnealing")
    policy = _POLICIES.get(name.title() if isinstance(name, str) and name.islower() else name)
    if policy is None:
        raise ConfigError(
            f"lr_config.policy {name!r} is not supported; use 'CosineAnnealing', 'step' or 'fixed'"
        )
    allowed_by_policy = {
        "cosine": ("min_lr", "min_lr_ratio"),
        "step": ("step", "gamma", "min_lr"),
        "fixed": (),
    }[policy]
    foreign = [k for k in ("min_lr", "min_lr_ratio", "step", "gamma") if k in cfg]
    foreign = [k for k in foreign if k not in allowed_by_policy]
    if foreign:
        raise ConfigError(f"lr_config.{foreign[0]} does not apply to policy {name!r}")
    if cfg.get("min_lr") is not None and cfg.get("min_lr_ratio") is not None:
        raise ConfigError("lr_config: give min_lr or min_lr_ratio, not both")
    if policy == "step" and "step" not in cfg:
        raise ConfigError("lr_config.policy='step' needs 'step' (milestones, or an interval)")
    warmup = cfg.get("warmup")
    warmup_iters = cfg.get("warmup_iters", 0)
    if warmup is not None:
        if warmup not in _WARMUPS:
            raise ConfigError(f"lr_config.warmup must be one of {_WARMUPS} or None, got {warmup!r}")
        if isinstance(warmup_iters, bool) or not isinstance(warmup_iters, int) or warmup_iters < 1:
            raise ConfigError(
                f"lr_config.warmup_iters must be a positive integer, got {warmup_iters!r}"
            )
    ratio = cfg.get("warmup_ratio", 0.1)
    if not 0 < ratio <= 1:
        raise ConfigError(f"lr_config.warmup_ratio must be in (0, 1], got {ratio!r}")
    if cfg.get("warmup_by_epoch", False):
        warmup_iters *= iters_per_epoch
    min_lr = cfg.get("min_lr")
    if policy == "cosine" and min_lr is None and cfg.get("min_lr_ratio") is None:
        min_lr = 0.0
    return LrSchedule(
        policy=policy,
        iters_per_epoch=iters_per_epoch,
        total_epochs=total_epochs,
        by_epoch=bool(cfg.get("by_epoch", True)),
        min_lr=min_lr,
        min_lr_ratio=cfg.get("min_lr_ratio"),
        step=_milestones(cfg.get("step", ())),
        gamma=cfg.get("gamma", 0.1),
        warmup=warmup,
        warmup_iters=warmup_iters,
        warmup_ratio=ratio,
    )


def _milestones(step: Any) -> tuple[int, ...] | int:
    steps = [step] if isinstance(step, int) else list(step)
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in steps):
        raise ConfigError(
            f"lr_config.step must be a positive integer or a list of them, got {step!r}"
        )
    return step if isinstance(step, int) else tuple(steps)


def build_scheduler(
    optimizer: torch.optim.Optimizer, schedule: LrSchedule
) -> torch.optim.lr_scheduler.LambdaLR:
    """A scheduler stepped once per iteration; each group follows ``schedule`` from the rate it
    had when the scheduler was built."""

    def multiplier(base_lr: float):
        return lambda iteration: schedule.lr(base_lr, iteration) / base_lr if base_lr else 0.0

    lambdas = [multiplier(group["lr"]) for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambdas)

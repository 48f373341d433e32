"""The training sections of a PYSKL-style config, read and checked before a run starts.

PYSKL configs carry mmcv runner sections (``total_epochs``, ``optimizer_config``,
``checkpoint_config``, ``evaluation``, ``log_config``, ``auto_scale_lr``...). Each section skel
interprets is read here into a small dataclass; a key skel does not know is a
:class:`~skel_core.errors.ConfigError` naming it, rather than a setting silently ignored. Keys of
mmcv sections that only steer mmcv's own machinery (``log_config.hooks``, ``dist_params``,
``workflow``...) are accepted and ignored, so PYSKL configs run unchanged.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skel_core.config import Config
from skel_core.errors import ConfigError

from ..config_keys import check_keys, section
from ..evaluation import metric_keys

# The metric names evaluation.metrics accepts.
METRICS = ("top_k_accuracy", "mean_class_accuracy")

# PYSKL tuned its GCN learning rates for 8 GPUs x videos_per_gpu=16; auto_scale_lr scales from it.
DEFAULT_BASE_BATCH_SIZE = 128


def total_epochs(cfg: Mapping[str, Any]) -> int:
    """``total_epochs`` (PYSKL), or ``runner.max_epochs`` (mmcv's EpochBasedRunner)."""
    runner = section(cfg, "runner")
    value = cfg.get("total_epochs", runner.get("max_epochs"))
    if value is None:
        raise ConfigError("config sets no 'total_epochs' (or 'runner.max_epochs')")
    return _positive_int(value, "total_epochs")


def grad_clip(cfg: Mapping[str, Any]) -> dict[str, Any] | None:
    """``optimizer_config.grad_clip``: keyword arguments of ``clip_grad_norm_`` or None."""
    opt_cfg = section(cfg, "optimizer_config")
    check_keys(opt_cfg, ["grad_clip", "type"], "optimizer_config")
    if opt_cfg.get("type", "OptimizerHook") != "OptimizerHook":
        raise ConfigError(
            f"optimizer_config.type {opt_cfg['type']!r} is not supported; skel-train's step is "
            "mmcv's OptimizerHook (use --amp for mixed precision)"
        )
    clip = opt_cfg.get("grad_clip")
    if clip is None:
        return None
    if not isinstance(clip, Mapping):
        raise ConfigError(f"optimizer_config.grad_clip must be a dict or None, got {clip!r}")
    check_keys(clip, ["max_norm", "norm_type"], "optimizer_config.grad_clip")
    if "max_norm" not in clip:
        raise ConfigError("optimizer_config.grad_clip needs 'max_norm'")
    return dict(clip)


@dataclass(frozen=True)
class CheckpointSettings:
    """``checkpoint_config``: save every ``interval`` epochs; keep the newest ``max_keep``
    epoch checkpoints (-1: all)."""

    interval: int = 1
    max_keep: int = -1


def checkpoint_settings(cfg: Mapping[str, Any]) -> CheckpointSettings:
    ckpt = section(cfg, "checkpoint_config")
    check_keys(ckpt, ["interval", "max_keep_ckpts", "by_epoch"], "checkpoint_config")
    if not ckpt.get("by_epoch", True):
        raise ConfigError(
            "checkpoint_config.by_epoch=False is not supported: skel-train "
            "checkpoints at the end of epochs"
        )
    interval = _positive_int(ckpt.get("interval", 1), "checkpoint_config.interval")
    max_keep = ckpt.get("max_keep_ckpts", -1)
    if isinstance(max_keep, bool) or not isinstance(max_keep, int) or max_keep == 0:
        raise ConfigError(
            f"checkpoint_config.max_keep_ckpts must be a positive integer or -1, got {max_keep!r}"
        )
    return CheckpointSettings(interval, max_keep)


@dataclass(frozen=True)
class EvalSettings:
    """``evaluation``: validate every ``interval`` epochs; keep the checkpoint with the best
    ``save_best`` result (None: keep none) by ``rule`` ('greater'/'less').

    Top-k accuracies (``topk``) and mean class accuracy are always computed and logged;
    ``metrics`` (PYSKL's list) decides which result ``save_best='auto'`` means."""

    interval: int = 1
    metrics: tuple[str, ...] = ("top_k_accuracy",)
    topk: tuple[int, ...] = (1, 5)
    save_best: str | None = None
    rule: str = "greater"


def eval_settings(cfg: Mapping[str, Any]) -> EvalSettings:
    ev = section(cfg, "evaluation")
    check_keys(
        ev, ["interval", "metrics", "metric_options", "save_best", "rule", "by_epoch"], "evaluation"
    )
    if not ev.get("by_epoch", True):
        raise ConfigError(
            "evaluation.by_epoch=False is not supported: skel-train validates at the end of epochs"
        )
    metrics = ev.get("metrics", ["top_k_accuracy"])
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or not metrics:
        raise ConfigError(
            f"evaluation.metrics {list(metrics)!r}: unknown metric(s) {unknown}; "
            f"choose from {list(METRICS)}"
        )
    options = dict(ev.get("metric_options") or {})
    check_keys(options, ["top_k_accuracy"], "evaluation.metric_options")
    topk_options = dict(options.get("top_k_accuracy") or {})
    check_keys(topk_options, ["topk"], "evaluation.metric_options.top_k_accuracy")
    topk = topk_options.get("topk", (1, 5))
    topk = (topk,) if isinstance(topk, int) else tuple(topk)
    for k in topk:
        _positive_int(k, "evaluation.metric_options.top_k_accuracy.topk")
    rule = ev.get("rule", "greater")
    if rule not in ("greater", "less"):
        raise ConfigError(f"evaluation.rule must be 'greater' or 'less', got {rule!r}")
    produced = metric_keys(metrics, topk)
    save_best = ev.get("save_best")
    if save_best == "auto":
        save_best = produced[0]
    if save_best is not None and save_best not in produced:
        raise ConfigError(
            f"evaluation.save_best {save_best!r} is not a result of evaluation.metrics; "
            f"choose from {produced} or 'auto'"
        )
    interval = _positive_int(ev.get("interval", 1), "evaluation.interval")
    return EvalSettings(interval, metrics, topk, save_best, rule)


def log_interval(cfg: Mapping[str, Any]) -> int:
    """``log_config.interval``: iterations between JSON/TensorBoard training records.

    ``log_config.hooks`` (mmcv's logger hooks) is accepted and ignored: skel-train always writes
    a JSON-lines log and TensorBoard scalars.
    """
    log = section(cfg, "log_config")
    check_keys(log, ["interval", "hooks"], "log_config")
    return _positive_int(log.get("interval", 20), "log_config.interval")


@dataclass(frozen=True)
class LrScaling:
    """``auto_scale_lr``: multiply every learning rate by global batch / ``base_batch_size``."""

    enable: bool = False
    base_batch_size: int = DEFAULT_BASE_BATCH_SIZE

    def factor(self, global_batch: int) -> float:
        return global_batch / self.base_batch_size if self.enable else 1.0


def lr_scaling(cfg: Mapping[str, Any], force: bool = False) -> LrScaling:
    """``auto_scale_lr=dict(enable=..., base_batch_size=...)`` (MMAction2 1.x's key); ``force``
    (``--auto-scale-lr``) enables it whatever the config says."""
    scale = section(cfg, "auto_scale_lr")
    check_keys(scale, ["enable", "base_batch_size"], "auto_scale_lr")
    base = _positive_int(
        scale.get("base_batch_size", DEFAULT_BASE_BATCH_SIZE), "auto_scale_lr.base_batch_size"
    )
    return LrScaling(bool(scale.get("enable", False)) or force, base)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"config key '{where}' must be a positive integer, got {value!r}")
    return value


# Top-level keys skel-train reads (or accepts from PYSKL configs and ignores), beyond those a
# config file defines itself.
TRAIN_KEYS = (
    "model",
    "data",
    "optimizer",
    "optimizer_config",
    "lr_config",
    "total_epochs",
    "runner",
    "evaluation",
    "checkpoint_config",
    "log_config",
    "auto_scale_lr",
    "sync_bn",
    "load_from",
    "resume_from",
    "work_dir",
    "seed",
    "dist_params",
    "log_level",
    "workflow",
)


def load_config(path: str, options: Mapping[str, Any] | None) -> Config:
    """The config at ``path`` with the ``--cfg-options`` ``options`` merged in, after
    :func:`check_override_keys`; what every command loads its CONFIG with."""
    cfg = Config.fromfile(path)
    if options:
        check_override_keys(cfg, options)
        cfg.merge_from_dict(options)
    return cfg


def check_override_keys(cfg: Mapping[str, Any], options: Mapping[str, Any]) -> None:
    """Refuse a ``--cfg-options`` key whose top level is neither in the config nor a key
    skel-train reads: such an override would create a new, unused key (a typo, most likely)."""
    known = list(dict.fromkeys([*cfg, *TRAIN_KEYS]))
    for dotted in options:
        top = dotted.split(".")[0]
        if top not in known:
            close = difflib.get_close_matches(top, known, n=2)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(
                f"--cfg-options {dotted}: the config has no key '{top}' and skel-train reads "
                f"none by that name{hint}"
            )

"""The optimiser of PYSKL's ``optimizer=dict(type=..., lr=..., ...)``, with per-parameter-group
learning rates and the linear learning-rate scaling rule.

Per-group rates use mmcv's key, ``optimizer.paramwise_cfg``::

    optimizer = dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True,
                     paramwise_cfg=dict(custom_keys={"cls_head": dict(lr_mult=10)}))

Each parameter whose dotted name contains a key of ``custom_keys`` gets ``lr * lr_mult`` and
``weight_decay * decay_mult`` (both default 1). A parameter matching several keys takes the
longest key (ties: alphabetical first), as in mmcv. A key that matches no parameter is an error,
so a typo cannot go unnoticed. The learning-rate schedule then runs for each group from its own
base rate.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch

from skel_core.errors import ConfigError

from ..config_keys import check_keys

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "SGD": torch.optim.SGD,
    "AdamW": torch.optim.AdamW,
    "Adam": torch.optim.Adam,
}


def build_optimizer(
    model: torch.nn.Module, cfg: Mapping[str, Any], lr_factor: float = 1.0
) -> torch.optim.Optimizer:
    """The optimiser for ``model``'s trainable parameters; every rate is multiplied by
    ``lr_factor`` (the linear scaling rule, see ``auto_scale_lr``)."""
    cfg = dict(cfg)
    kind = cfg.pop("type", None)
    if kind not in OPTIMIZERS:
        raise ConfigError(f"optimizer.type must be one of {sorted(OPTIMIZERS)}, got {kind!r}")
    optimizer_cls = OPTIMIZERS[kind]
    paramwise = dict(cfg.pop("paramwise_cfg", None) or {})
    check_keys(paramwise, ["custom_keys"], "optimizer.paramwise_cfg")
    if "lr" not in cfg:
        raise ConfigError("config key 'optimizer.lr' is missing")
    signature = inspect.signature(optimizer_cls)
    accepted = [name for name in signature.parameters if name != "params"]
    check_keys(cfg, accepted, "optimizer")
    cfg["lr"] = cfg["lr"] * lr_factor
    base_wd = cfg.get("weight_decay", signature.parameters["weight_decay"].default)
    groups = param_groups(model, paramwise.get("custom_keys") or {}, cfg["lr"], base_wd)
    return optimizer_cls(groups, **cfg)


def param_groups(
    model: torch.nn.Module, custom_keys: Mapping[str, Mapping], lr: float, weight_decay: float
) -> list[dict[str, Any]]:
    """The parameter groups of ``paramwise_cfg.custom_keys``: the parameters matching no key
    first (the optimiser's own settings), then one group per key."""
    for key, options in custom_keys.items():
        if not isinstance(options, Mapping):
            raise ConfigError(
                f"optimizer.paramwise_cfg.custom_keys['{key}'] must be a dict such as "
                f"dict(lr_mult=10), got {options!r}"
            )
        check_keys(options, ["lr_mult", "decay_mult"], f"optimizer.paramwise_cfg.custom_keys.{key}")
    keys = sorted(sorted(custom_keys), key=len, reverse=True)
    members: dict[str | None, list[torch.nn.Parameter]] = {None: [], **{k: [] for k in keys}}
    for name, param in model.named_parameters():
        if param.requires_grad:
            members[next((k for k in keys if k in name), None)].append(param)
    unused = [k for k in keys if not members[k]]
    if unused:
        raise ConfigError(
            f"optimizer.paramwise_cfg.custom_keys {unused} match no parameter of the model"
        )
    groups = [{"params": members[None]}] if members[None] else []
    for key in keys:
        options = custom_keys[key]
        groups.append(
            {
                "params": members[key],
                "lr": lr * options.get("lr_mult", 1.0),
                "weight_decay": weight_decay * options.get("decay_mult", 1.0),
            }
        )
    return groups

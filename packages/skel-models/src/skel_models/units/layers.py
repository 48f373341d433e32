"""Norm and activation layers named the way PYSKL's configs name them (``norm='BN'``,
``act=dict(type='ReLU')``), built without mmcv. The layers' parameter names are torch's, the
same as mmcv's, so checkpoints load either way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

NormSpec = str | Mapping[str, Any] | None
ActSpec = str | Mapping[str, Any] | None

# SyncBN has BatchNorm's parameters and buffers; under DDP convert the model with
# nn.SyncBatchNorm.convert_sync_batchnorm.
_NORMS = {"BN": nn.BatchNorm2d, "BN2d": nn.BatchNorm2d, "SyncBN": nn.BatchNorm2d}
_ACTS = {
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "PReLU": nn.PReLU,
    "ELU": nn.ELU,
    "GELU": nn.GELU,
    "SiLU": nn.SiLU,
    "Swish": nn.SiLU,
    "Tanh": nn.Tanh,
    "Sigmoid": nn.Sigmoid,
}


def _split(spec: str | Mapping[str, Any], what: str) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping) and "type" in spec:
        options = dict(spec)
        return options.pop("type"), options
    raise ValueError(f"{what} must be a type name or a dict(type=...), got {spec!r}")


def build_norm(spec: NormSpec, channels: int) -> nn.Module:
    """A 2D norm layer over ``channels`` from ``'BN'`` / ``'SyncBN'`` / ``dict(type='GN',
    num_groups=...)``; ``None`` gives ``nn.Identity()``."""
    if spec is None:
        return nn.Identity()
    name, options = _split(spec, "norm")
    options.pop("requires_grad", None)  # mmcv's option; all norm parameters train here
    if name == "GN":
        if "num_groups" not in options:
            raise ValueError(f"norm {spec!r}: GN needs num_groups")
        return nn.GroupNorm(num_channels=channels, **options)
    if name not in _NORMS:
        raise ValueError(f"norm type must be one of {sorted(_NORMS) + ['GN']}, got {name!r}")
    return _NORMS[name](channels, **options)


def build_act(spec: ActSpec) -> nn.Module:
    """An activation from ``'ReLU'`` or ``dict(type='LeakyReLU', negative_slope=0.1)``;
    ``None`` gives ``nn.Identity()``."""
    if spec is None:
        return nn.Identity()
    name, options = _split(spec, "act")
    if name not in _ACTS:
        raise ValueError(f"act type must be one of {sorted(_ACTS)}, got {name!r}")
    return _ACTS[name](**options)

"""Checkpoint I/O: atomic saving, safe loading, state-dict extraction, key remapping, reports.

PyTorch is an optional dependency of skel-core: it is imported inside the functions that need
it, so this module imports without torch and its functions say so clearly when it is missing.

Loading is safe by default (``torch.load(weights_only=True)``): a checkpoint can hold tensors,
containers, numbers, strings and a small allow-list of numpy types (arrays, scalars and dtypes,
which PYSKL/MMAction2 checkpoints carry in their ``meta``, e.g. a ``best_score`` saved as a
``numpy.float64``). Anything else, in particular a pickle that would call a function such as
``os.system``, is refused before it runs.

Checkpoints of PYSKL and MMAction2 are dicts ``{"state_dict": ..., "meta": ..., "optimizer":
...}``; :func:`extract_state_dict` gets the weights out of those and of other common wrappers,
:func:`remap_state_dict` renames keys by ordered regex rules (named rule sets live in a small
registry), and :func:`load_state_dict_report` loads them into a model while reporting every
missing, unexpected and wrongly shaped key.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skel_core.atomic import atomic_write
from skel_core.errors import CheckpointError, RegistryError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

# (pattern, replacement): a key matching the regex ``pattern`` is rewritten with ``re.sub``;
# a replacement of None drops the key.
KeyRule = tuple[str | re.Pattern[str], str | None]

# Wrapper keys under which checkpoints keep their weights, in the order they are tried.
STATE_DICT_KEYS = ("state_dict", "model", "module")

_KEY_MAPS: dict[str, list[KeyRule]] = {}


def save_checkpoint(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` ``obj`` to ``path`` atomically; create parent directories; return the path.

    The file is written to a temporary name beside ``path`` and renamed over it only when
    complete, so a crash never leaves a truncated checkpoint under ``path`` and a previous
    checkpoint there survives a failed save.
    """
    torch = _import_torch()
    path = Path(path)
    with atomic_write(path) as f:
        torch.save(obj, f)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], map_location: Any = "cpu", *, weights_only: bool = True
) -> Any:
    """Load a checkpoint, by default refusing anything but weights and plain data.

    ``weights_only=False`` lets the file's pickle run arbitrary code: use it only for a file
    from a source you trust. Raises ``FileNotFoundError`` for a missing file and
    :class:`CheckpointError` (naming the file) for an unsafe, truncated or corrupt one.
    """
    torch = _import_torch()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} is not a file")
    try:
        if not weights_only:
            return torch.load(path, map_location=map_location, weights_only=False)
        # Only what is not allowed already, so that leaving the context does not take away
        # globals the user allowed process-wide.
        already = set(torch.serialization.get_safe_globals())
        extra = [g for g in _numpy_safe_globals() if g not in already]
        with torch.serialization.safe_globals(extra):
            return torch.load(path, map_location=map_location, weights_only=True)
    # torch.load fails in many ways on a damaged file (RuntimeError from the zip reader,
    # OSError, EOFError, even KeyError from a garbled pickle); each is reported the same way.
    except Exception as err:
        refused = _refused_globals(torch, path, err) if weights_only else []
        if refused:
            raise CheckpointError(
                f"checkpoint {path} was refused: it needs the global(s) {', '.join(refused)}, "
                "which safe loading does not allow because unpickling them can run arbitrary "
                "code. If, and only if, you trust the file's source, load it with "
                "load_checkpoint(..., weights_only=False)."
            ) from err
        raise CheckpointError(
            f"checkpoint {path} cannot be read; it may be truncated or corrupt "
            f"({type(err).__name__}: {err})"
        ) from err


def extract_state_dict(ckpt: Mapping[str, Any]) -> dict[str, Any]:
    """The model weights in ``ckpt``, with a DistributedDataParallel ``module.`` prefix removed.

    ``ckpt`` is a bare state dict or a dict holding one under ``state_dict``, ``model`` or
    ``module`` (tried in that order).
    """
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(
            f"expected a checkpoint dict or a state dict, got {type(ckpt).__name__}"
        )
    for key in STATE_DICT_KEYS:
        if isinstance(ckpt.get(key), Mapping):
            ckpt = ckpt[key]
            break
    else:
        # A state dict maps names to tensors; nested dicts mean a wrapper of an unknown kind.
        if any(isinstance(v, Mapping) for v in ckpt.values()):
            raise CheckpointError(
                f"no state dict found under {list(STATE_DICT_KEYS)}; the checkpoint's "
                f"top-level keys are {list(ckpt)}"
            )
    return remap_state_dict(ckpt, get_key_map("strip-ddp-prefix"))


def remap_state_dict(state_dict: Mapping[str, Any], rules: Sequence[KeyRule]) -> dict[str, Any]:
    """Rename the keys of ``state_dict`` by ``rules``, applied in order to each key.

    Each rule is ``(pattern, replacement)``: ``re.sub(pattern, replacement, key)`` on the key as
    rewritten by the rules before it (write ``^prefix\\.`` to match a prefix). A replacement of
    ``None`` drops every key the pattern matches. Two keys that end up with the same name raise
    :class:`CheckpointError`. A ``_metadata`` attribute (module versions) is carried over.
    """
    compiled = _compile_rules(rules, "remap_state_dict")
    out: dict[str, Any] = {}
    source: dict[str, str] = {}
    for key, value in state_dict.items():
        new_key: str | None = key
        for pattern, replacement in compiled:
            if replacement is None:
                if pattern.search(new_key):
                    new_key = None
                    break
            else:
                new_key = pattern.sub(replacement, new_key)
        if new_key is None:
            continue
        if new_key in out:
            raise CheckpointError(
                f"key remapping maps both {source[new_key]!r} and {key!r} to {new_key!r}"
            )
        out[new_key] = value
        source[new_key] = key
    return _keep_metadata(out, state_dict)


def register_key_map(name: str, rules: Sequence[KeyRule]) -> None:
    """Register a named, ordered rule set for :func:`remap_state_dict`; names are unique."""
    if name in _KEY_MAPS:
        raise RegistryError(f"key map {name!r} is already registered")
    _compile_rules(rules, f"key map {name!r}")
    _KEY_MAPS[name] = list(rules)


def get_key_map(name: str) -> list[KeyRule]:
    """The rule set registered under ``name``."""
    if name not in _KEY_MAPS:
        raise RegistryError(f"no key map named {name!r}; registered: {sorted(_KEY_MAPS)}")
    return list(_KEY_MAPS[name])


@dataclass
class StateDictReport:
    """What did not fit when loading a state dict into a model.

    ``shape_mismatches`` holds ``(key, shape in the checkpoint, shape in the model)``.
    """

    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape_mismatches: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=list
    )

    @property
    def ok(self) -> bool:
        """True when every key matched in name and shape."""
        return not (self.missing or self.unexpected or self.shape_mismatches)

    def __str__(self) -> str:
        if self.ok:
            return "state dict matches the model"
        lines = []
        if self.missing:
            lines.append(f"missing keys (in the model, not the checkpoint): {len(self.missing)}")
            lines += [f"  {k}" for k in self.missing]
        if self.unexpected:
            lines.append(
                f"unexpected keys (in the checkpoint, not the model): {len(self.unexpected)}"
            )
            lines += [f"  {k}" for k in self.unexpected]
        if self.shape_mismatches:
            lines.append(f"shape mismatches (checkpoint vs model): {len(self.shape_mismatches)}")
            lines += [f"  {k}: {tuple(ck)} vs {tuple(md)}" for k, ck, md in self.shape_mismatches]
        return "\n".join(lines)


def load_state_dict_report(
    model: torch.nn.Module, state_dict: Mapping[str, Any], strict: bool = True
) -> StateDictReport:
    """Load ``state_dict`` into ``model`` and report every key that does not fit.

    With ``strict=True`` any missing key, unexpected key or shape mismatch raises
    :class:`CheckpointError` listing all of them, and the model is left unchanged. With
    ``strict=False`` the keys that fit are loaded, the rest are logged as a warning, and the
    report is returned either way.
    """
    expected = model.state_dict()
    report = StateDictReport(
        missing=[k for k in expected if k not in state_dict],
        unexpected=[k for k in state_dict if k not in expected],
    )
    fitting = {}
    for key, value in state_dict.items():
        if key not in expected:
            continue
        ck_shape, md_shape = getattr(value, "shape", None), getattr(expected[key], "shape", None)
        if ck_shape is not None and md_shape is not None and tuple(ck_shape) != tuple(md_shape):
            report.shape_mismatches.append((key, tuple(ck_shape), tuple(md_shape)))
        else:
            fitting[key] = value
    if strict and not report.ok:
        raise CheckpointError(f"state dict does not fit {type(model).__name__}:\n{report}")
    try:
        model.load_state_dict(_keep_metadata(fitting, state_dict), strict=False)
    except RuntimeError as err:
        raise CheckpointError(f"loading into {type(model).__name__} failed: {err}") from err
    if not report.ok:
        logger.warning("loaded a partial state dict into %s:\n%s", type(model).__name__, report)
    return report


def _keep_metadata(new: dict[str, Any], old: Mapping[str, Any]) -> dict[str, Any]:
    """Carry torch's per-module version table (``_metadata``) from ``old`` over to ``new``.

    A module whose prefix was renamed finds no entry there and is loaded as its oldest
    version, exactly as if the table were absent.
    """
    metadata = getattr(old, "_metadata", None)
    if metadata is None:
        return new
    new = OrderedDict(new)
    new._metadata = metadata
    return new


def _compile_rules(
    rules: Sequence[KeyRule], where: str
) -> list[tuple[re.Pattern[str], str | None]]:
    compiled = []
    for rule in rules:
        if not (isinstance(rule, (tuple, list)) and len(rule) == 2):
            raise CheckpointError(f"{where}: a rule is (pattern, replacement), got {rule!r}")
        pattern, replacement = rule
        if replacement is not None and not isinstance(replacement, str):
            raise CheckpointError(
                f"{where}: replacement for {pattern!r} must be a string or None, "
                f"got {replacement!r}"
            )
        try:
            compiled.append((re.compile(pattern), replacement))
        except (re.error, TypeError) as err:
            raise CheckpointError(f"{where}: invalid pattern {pattern!r}: {err}") from err
    return compiled


def _import_torch():
    try:
        import torch
    except ImportError as err:
        raise ImportError(
            "skel_core.checkpoint needs PyTorch for this function; install torch "
            "(e.g. pip install torch==2.13.0)"
        ) from err
    return torch


def _numpy_safe_globals() -> list[Any]:
    """The numpy types a checkpoint may contain under safe loading, under old and new names."""
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray

    # numpy 2 renamed numpy.core to numpy._core; older files name the functions the old way.
    functions = [
        (getattr(multiarray, fn), f"{module}.multiarray.{fn}")
        for fn in ("_reconstruct", "scalar")
        for module in ("numpy.core", "numpy._core")
    ]
    dtype_classes = [type(np.dtype(code)) for code in "?bhilqBHILQefdgFDGSUO"]
    return [np.ndarray, np.dtype, *dtype_classes, *functions]


def _refused_globals(torch: Any, path: Path, err: Exception) -> list[str]:
    """Globals the checkpoint's pickle names that safe loading does not allow (none if the
    failure was something else)."""
    if not isinstance(err, pickle.UnpicklingError):
        return []
    try:
        needed = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception:
        # Legacy (pre-zip) files cannot be scanned; torch's message names the first refusal.
        return re.findall(r"GLOBAL ([\w.]+)", str(err))
    allowed = {
        entry[1] if isinstance(entry, tuple) else f"{entry.__module__}.{entry.__qualname__}"
        for entry in _numpy_safe_globals()
    }
    return [name for name in needed if name not in allowed]


register_key_map("strip-ddp-prefix", [(r"^module\.", "")])

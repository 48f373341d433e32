"""Load PYSKL / MMAction2 1.x checkpoints into skel models, reporting every key that does not fit.

:func:`load_pretrained` reads a checkpoint safely, takes its state dict, renames MMAction2 keys
to PYSKL's (:mod:`skel_models.key_maps`) and loads it, returning a
:class:`~skel_core.checkpoint.StateDictReport`. Nothing is dropped silently: with
``strict=True`` any missing, unexpected or wrongly shaped key raises ``CheckpointError`` naming
all of them.

``python -m skel_models.checkpoint_report CONFIG CHECKPOINT`` does this from the command line
and prints the keys that did not match.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torch import nn

from skel_core.checkpoint import (
    StateDictReport,
    extract_state_dict,
    get_key_map,
    load_checkpoint,
    load_state_dict_report,
    remap_state_dict,
)

from .key_maps import guess_key_map


def load_pretrained(
    model: nn.Module,
    checkpoint: str | os.PathLike[str] | Mapping[str, Any],
    *,
    key_map: str | None = "auto",
    strict: bool = True,
) -> StateDictReport:
    """Load ``checkpoint`` (a path, a checkpoint dict or a state dict) into ``model``.

    ``key_map``: ``'auto'`` renames MMAction2 1.x keys when the checkpoint has them
    (:func:`~skel_models.key_maps.guess_key_map`), a registered key-map name applies that map,
    None loads the names as they are. ``strict`` is as in
    :func:`skel_core.checkpoint.load_state_dict_report`.
    """
    ckpt = checkpoint if isinstance(checkpoint, Mapping) else load_checkpoint(checkpoint)
    state_dict = extract_state_dict(ckpt)
    name = guess_key_map(state_dict) if key_map == "auto" else key_map
    if name is not None:
        state_dict = remap_state_dict(state_dict, get_key_map(name))
    return load_state_dict_report(model, state_dict, strict=strict)

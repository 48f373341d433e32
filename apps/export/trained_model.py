"""A trained model ready for inference: built from its config, weights loaded, in eval mode."""

from __future__ import annotations

import os

from torch import nn

from skel_core.checkpoint import StateDictReport
from skel_core.config import Config
from skel_models.pretrained import load_pretrained

from ..builders import build_model


def load_trained_model(
    cfg: Config,
    checkpoint: str | os.PathLike[str],
    *,
    key_map: str | None = "auto",
    strict: bool = True,
) -> tuple[nn.Module, StateDictReport]:
    """Build ``cfg.model`` and load ``checkpoint`` into it, safely (``weights_only``).

    ``key_map`` and ``strict`` are those of :func:`skel_models.load_pretrained`: ``'auto'``
    renames MMAction2 1.x keys to PYSKL's, and with ``strict`` any missing, unexpected or
    wrongly shaped key raises CheckpointError naming all of them. Returns the model in eval
    mode and the report of the keys that did not fit.
    """
    model = build_model(cfg.model.to_dict())
    report = load_pretrained(model, checkpoint, key_map=key_map, strict=strict)
    return model.eval(), report

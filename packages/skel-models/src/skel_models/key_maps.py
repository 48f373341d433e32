"""Key maps from other codebases' GCN checkpoints to skel's (= PYSKL's) parameter names.

MMAction2 1.x builds the same ST-GCN / ST-GCN++ / AAGCN backbones as PYSKL, module for module,
but its ``GCNHead`` names the classifier ``fc`` where PYSKL says ``fc_cls``, and its models may
carry a ``data_preprocessor`` that skel keeps outside the model. The rule set is registered
with :func:`skel_core.checkpoint.register_key_map` under :data:`MMACTION2_GCN`.
"""

from __future__ import annotations

from collections.abc import Mapping

from skel_core.checkpoint import register_key_map

MMACTION2_GCN = "mmaction2-gcn"

register_key_map(
    MMACTION2_GCN,
    [
        (r"^cls_head\.fc\.", "cls_head.fc_cls."),
        (r"^data_preprocessor\.", None),
    ],
)


def guess_key_map(state_dict: Mapping[str, object]) -> str | None:
    """The registered key map that ``state_dict``'s names need: :data:`MMACTION2_GCN` for an
    MMAction2 1.x GCN recognizer (a ``cls_head.fc.`` classifier), None for PYSKL's names."""
    if any(key.startswith("cls_head.fc.") for key in state_dict):
        return MMACTION2_GCN
    return None

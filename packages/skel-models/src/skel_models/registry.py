"""Names under which skel-models' modules are built from PYSKL-style ``dict(type=...)`` configs.

The models themselves are plain ``nn.Module``s; this registry is the config edge.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from skel_core.registry import Registry

from .aagcn import AAGCN
from .ctrgcn import CTRGCN
from .dgstgcn import DGSTGCN
from .heads import GCNHead, I3DHead
from .msg3d import MSG3D
from .posec3d import ResNet3dSlowOnly
from .recognizers import Recognizer3D, RecognizerGCN
from .stgcn import STGCN

MODELS = Registry("model")
for _cls in (STGCN, AAGCN, CTRGCN, MSG3D, DGSTGCN, ResNet3dSlowOnly, GCNHead, I3DHead):
    MODELS.register(obj=_cls)


def _register_recognizer(cls: type[nn.Module]) -> None:
    """Register ``cls`` under its name, built from its backbone's and head's configs."""

    def build(backbone: Mapping, cls_head: Mapping, train_cfg=None, test_cfg=None):
        return cls(MODELS.build(backbone), MODELS.build(cls_head), train_cfg, test_cfg)

    MODELS.register(cls.__name__, obj=build)


for _cls in (RecognizerGCN, Recognizer3D):
    _register_recognizer(_cls)


def build_model(cfg: Mapping) -> nn.Module:
    """Build a model from a PYSKL-style config dict (``model=dict(type='RecognizerGCN', ...)``,
    ``'Recognizer3D'`` for PoseC3D)."""
    return MODELS.build(cfg)

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
from .heads import GCNHead
from .msg3d import MSG3D
from .recognizers import RecognizerGCN
from .stgcn import STGCN

MODELS = Registry("model")
for _cls in (STGCN, AAGCN, CTRGCN, MSG3D, DGSTGCN, GCNHead):
    MODELS.register(obj=_cls)


@MODELS.register("RecognizerGCN")
def _build_recognizer_gcn(backbone: Mapping, cls_head: Mapping, train_cfg=None, test_cfg=None):
    return RecognizerGCN(MODELS.build(backbone), MODELS.build(cls_head), train_cfg, test_cfg)


def build_model(cfg: Mapping) -> nn.Module:
    """Build a model from a PYSKL-style config dict (``model=dict(type='RecognizerGCN', ...)``)."""
    return MODELS.build(cfg)

"""Building blocks shared by the GCN backbones: graph convolution units (``unit_gcn``,
``unit_aagcn``, ``unit_ctrgcn``, ``dggcn``, MS-G3D's ``MSGCN`` and ``MW_MSG3DBlock``) and
temporal convolution units (``unit_tcn``, ``mstcn``, ``dgmstcn``, MS-G3D's ``MSTCN``), with
PYSKL's names."""

from .ctrgcn import unit_ctrgcn
from .dggcn import dggcn, dgmstcn
from .gcn import unit_aagcn, unit_gcn
from .init import bn_init, conv_branch_init, conv_init
from .layers import build_act, build_norm
from .msg3d import MSGCN, MSTCN, MW_MSG3DBlock
from .tcn import build_tcn, mstcn, unit_tcn

__all__ = [
    "MSGCN",
    "MSTCN",
    "MW_MSG3DBlock",
    "bn_init",
    "build_act",
    "build_norm",
    "build_tcn",
    "conv_branch_init",
    "conv_init",
    "dggcn",
    "dgmstcn",
    "mstcn",
    "unit_aagcn",
    "unit_ctrgcn",
    "unit_gcn",
    "unit_tcn",
]

"""skel-models: backbones, heads and recognizers for skeleton action recognition."""

from .aagcn import AAGCN
from .ctrgcn import CTRGCN
from .dgstgcn import DGSTGCN
from .graph_conv_switch import graph_conv_impl, set_graph_conv_impl, use_graph_conv
from .heads import GCNHead
from .msg3d import MSG3D
from .pretrained import load_pretrained  # also registers the MMAction2 key map
from .recognizers import RecognizerGCN
from .stgcn import STGCN, stgcnpp

__version__ = "0.1.0"

__all__ = [
    "AAGCN",
    "CTRGCN",
    "DGSTGCN",
    "GCNHead",
    "MSG3D",
    "RecognizerGCN",
    "STGCN",
    "__version__",
    "graph_conv_impl",
    "load_pretrained",
    "set_graph_conv_impl",
    "stgcnpp",
    "use_graph_conv",
]

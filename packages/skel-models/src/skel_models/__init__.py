"""skel-models: backbones, heads and recognizers for skeleton action recognition."""

from .aagcn import AAGCN
from .ctrgcn import CTRGCN
from .dgstgcn import DGSTGCN
from .graph_conv_switch import graph_conv_impl, set_graph_conv_impl, use_graph_conv
from .heads import GCNHead, I3DHead
from .msg3d import MSG3D
from .posec3d import ResNet3dSlowOnly
from .pretrained import load_pretrained  # also registers the MMAction2 key map
from .recognizers import Recognizer3D, RecognizerGCN
from .stgcn import STGCN, stgcnpp

__version__ = "0.1.0"

__all__ = [
    "AAGCN",
    "CTRGCN",
    "DGSTGCN",
    "GCNHead",
    "I3DHead",
    "MSG3D",
    "Recognizer3D",
    "RecognizerGCN",
    "ResNet3dSlowOnly",
    "STGCN",
    "__version__",
    "graph_conv_impl",
    "load_pretrained",
    "set_graph_conv_impl",
    "stgcnpp",
    "use_graph_conv",
]

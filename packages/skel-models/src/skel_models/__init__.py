"""skel-models: backbones, heads and recognizers for skeleton action recognition."""

from .heads import GCNHead
from .recognizers import RecognizerGCN
from .stgcn import STGCN

__version__ = "0.1.0"

__all__ = ["GCNHead", "RecognizerGCN", "STGCN", "__version__"]

"""skel-data: datasets, transform pipelines and converters for skeleton action data."""

from .dataset import PoseDataset, RepeatDataset, SyntheticPoseDataset
from .loader import build_dataloader
from .packed import PackedAnnotations, pack_annotations
from .transforms import TRANSFORMS, Compose

__version__ = "0.1.0"

__all__ = [
    "TRANSFORMS",
    "Compose",
    "PackedAnnotations",
    "PoseDataset",
    "RepeatDataset",
    "SyntheticPoseDataset",
    "__version__",
    "build_dataloader",
    "pack_annotations",
]

"""skel-data: datasets, transform pipelines and converters for skeleton action data."""

from .dataset import PoseDataset, RepeatDataset, SyntheticPoseDataset
from .transforms import TRANSFORMS, Compose

__version__ = "0.1.0"

__all__ = [
    "TRANSFORMS",
    "Compose",
    "PoseDataset",
    "RepeatDataset",
    "SyntheticPoseDataset",
    "__version__",
]

"""Names under which skel-data's datasets are built from PYSKL-style ``dict(type=...)`` configs."""

from skel_core.registry import Registry

from .dataset import PoseDataset, SyntheticPoseDataset

DATASETS = Registry("dataset")
DATASETS.register(obj=PoseDataset)
DATASETS.register(obj=SyntheticPoseDataset)

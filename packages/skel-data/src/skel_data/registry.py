"""Names under which skel-data's datasets are built from PYSKL-style ``dict(type=...)`` configs."""

from skel_core.registry import Registry

from .dataset import PoseDataset, RepeatDataset, SyntheticPoseDataset

DATASETS = Registry("dataset")
DATASETS.register(obj=PoseDataset)
DATASETS.register(obj=SyntheticPoseDataset)


@DATASETS.register("RepeatDataset")
def _build_repeat_dataset(dataset: dict, times: int) -> RepeatDataset:
    return RepeatDataset(DATASETS.build(dataset), times)

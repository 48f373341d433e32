# A very small variant of the demo for tests and quick checks of the commands (seconds on a CPU):
# 4 ST-GCN++ stages of 8-16 channels, 16-frame clips, 32 synthetic clips (24 train / 8 test),
# two epochs, validation on the test split, two-clip testing.
_base_ = "stgcnpp_synthetic_j.py"

model = dict(
    backbone=dict(base_channels=8, num_stages=4, inflate_stages=[3], down_stages=[3]),
    cls_head=dict(in_channels=16),
)

clip_len = 16
train_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
test_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=2, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
num_synthetic_samples = 32
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=0,
    test_dataloader=dict(videos_per_gpu=8),
    train=dict(num_samples=num_synthetic_samples, pipeline=train_pipeline),
    val=dict(
        type="SyntheticPoseDataset",
        split="test",
        num_samples=num_synthetic_samples,
        pipeline=test_pipeline,
        test_mode=True,
    ),
    test=dict(num_samples=num_synthetic_samples, pipeline=test_pipeline),
)
evaluation = dict(interval=1, metrics=["top_k_accuracy", "mean_class_accuracy"], save_best="auto")
total_epochs = 2
work_dir = "./work_dirs/demo/stgcnpp_synthetic_tiny"

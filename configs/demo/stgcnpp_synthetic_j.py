# The README's main job: a small ST-GCN++ trained on skel's built-in synthetic dataset
# (8 actions, COCO-17 2D keypoints, generated on the fly; nothing to download).
# Same schema as a PYSKL config, so the same keys work with --cfg-options.
num_classes = 8
model = dict(
    type="RecognizerGCN",
    backbone=dict(
        type="STGCN",
        graph_cfg=dict(layout="coco", mode="spatial"),
        in_channels=3,
        base_channels=16,
        num_stages=6,
        inflate_stages=[3, 5],
        down_stages=[3, 5],
        gcn_adaptive="init",
        gcn_with_res=True,
    ),
    cls_head=dict(type="GCNHead", num_classes=num_classes, in_channels=64),
    test_cfg=dict(average_clips="prob"),
)

clip_len = 48
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
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=5, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
num_synthetic_samples = 800  # 600 train / 200 test
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=1,
    test_dataloader=dict(videos_per_gpu=32),
    train=dict(
        type="SyntheticPoseDataset",
        split="train",
        num_samples=num_synthetic_samples,
        pipeline=train_pipeline,
    ),
    test=dict(
        type="SyntheticPoseDataset",
        split="test",
        num_samples=num_synthetic_samples,
        pipeline=test_pipeline,
        test_mode=True,
    ),
)

optimizer = dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=0.0005, nesterov=True)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy="CosineAnnealing", min_lr=0, by_epoch=False)
total_epochs = 15
work_dir = "./work_dirs/demo/stgcnpp_synthetic_j"

# A tiny PoseC3D for tests and quick checks of the commands (seconds on a CPU): SlowOnly with
# 4-channel stem and one block per stage on 17 COCO keypoint heatmaps of 32x32, 8-frame clips of
# the built-in synthetic dataset (8 actions); two-clip testing with flipped copies (4 views).
num_classes = 8
model = dict(
    type="Recognizer3D",
    backbone=dict(
        type="ResNet3dSlowOnly",
        in_channels=17,
        base_channels=4,
        num_stages=3,
        out_indices=(2,),
        stage_blocks=(1, 1, 1),
        conv1_stride=(1, 1),
        pool1_stride=(1, 1),
        inflate=(0, 1, 1),
        spatial_strides=(2, 2, 2),
        temporal_strides=(1, 1, 2),
    ),
    cls_head=dict(type="I3DHead", in_channels=64, num_classes=num_classes, dropout=0.5),
    test_cfg=dict(average_clips="prob"),
)

clip_len = 8
left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
right_kp = [2, 4, 6, 8, 10, 12, 14, 16]
train_pipeline = [
    dict(type="UniformSampleFrames", clip_len=clip_len),
    dict(type="PoseDecode"),
    dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
    dict(type="Resize", scale=(32, 32), keep_ratio=False),
    dict(type="Flip", flip_ratio=0.5, left_kp=left_kp, right_kp=right_kp),
    dict(type="GeneratePoseTarget", with_kp=True, with_limb=False),
    dict(type="FormatShape", input_format="NCTHW_Heatmap"),
    dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["imgs", "label"]),
]
test_pipeline = [
    dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=2, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
    dict(type="Resize", scale=(32, 32), keep_ratio=False),
    dict(type="GeneratePoseTarget", with_kp=True, with_limb=False, double=True,
         left_kp=left_kp, right_kp=right_kp),
    dict(type="FormatShape", input_format="NCTHW_Heatmap"),
    dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["imgs"]),
]
num_synthetic_samples = 32  # 24 train / 8 test
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=0,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(type="SyntheticPoseDataset", split="train", num_samples=num_synthetic_samples,
               pipeline=train_pipeline),
    test=dict(type="SyntheticPoseDataset", split="test", num_samples=num_synthetic_samples,
              pipeline=test_pipeline, test_mode=True),
)
optimizer = dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=0.0003)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy="CosineAnnealing", by_epoch=False, min_lr=0)
total_epochs = 2
work_dir = "./work_dirs/demo/posec3d_synthetic_tiny"

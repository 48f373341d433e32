# Penn Action (15 sports and exercises, one person, 2D), as written from the shared data by
# (run from the repository root)
#   skel-convert penn ../shared/data/penn_action/labels data/penn_action/penn_action.pkl
# The 13 annotated joints in the COCO-17 layout, the converter's default (eyes and ears
# missing, with score 0); splits train (1258 clips) and test (1068), clips of 18-663 frames
# (median 56). PYSKL's 2D GCN pipeline with 64-frame clips of one person; the test split, one
# clip per sample, validates. Joint (j) stream.
dataset_type = "PoseDataset"
ann_file = "data/penn_action/penn_action.pkl"
train_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=64),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
val_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=64, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
test_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=64, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(
        type="RepeatDataset",
        times=5,
        dataset=dict(
            type=dataset_type, ann_file=ann_file, pipeline=train_pipeline, split="train"
        ),
    ),
    val=dict(type=dataset_type, ann_file=ann_file, pipeline=val_pipeline, split="test"),
    test=dict(type=dataset_type, ann_file=ann_file, pipeline=test_pipeline, split="test"),
)

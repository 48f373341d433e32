# NW-UCLA Multiview Action 3D, cross-view protocol (train: views 1 and 2; test: view 3), as
# written from the shared data by (run from the repository root)
#   skel-convert nw-ucla ../shared/data/nw_ucla/all_sqe data/nw_ucla/nw_ucla.pkl
# One Kinect v1 person (20 joints, metres), 10 actions, clips of 1-201 frames (median 31).
# NTU's 3D pipeline in the kinect_v1 layout: PreNormalize3D's default axes are the same joint
# indices there (hip centre -> spine along z, left -> right shoulder along x; it centres on the
# last joint, PYSKL's rule for layouts other than NTU's), a random rotation of up to 0.2 rad for
# training, and 52-frame clips (CTR-GCN's NW-UCLA window; shorter clips loop, as in PYSKL) of
# one person. There is no validation split: the test split, one clip per sample, validates.
# Joint (j) stream; nw_ucla_xview_b.py is the bone stream.
dataset_type = "PoseDataset"
ann_file = "data/nw_ucla/nw_ucla.pkl"
train_pipeline = [
    dict(type="PreNormalize3D"),
    dict(type="RandomRot", theta=0.2),
    dict(type="GenSkeFeat", dataset="kinect_v1", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=52),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
val_pipeline = [
    dict(type="PreNormalize3D"),
    dict(type="GenSkeFeat", dataset="kinect_v1", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=52, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=1),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
test_pipeline = [
    dict(type="PreNormalize3D"),
    dict(type="GenSkeFeat", dataset="kinect_v1", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=52, num_clips=10, test_mode=True),
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

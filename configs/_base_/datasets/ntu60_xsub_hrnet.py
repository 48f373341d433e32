# NTU RGB+D 60, cross-subject, 2D: COCO-17 keypoints estimated by HRNet (PYSKL's
# ntu60_hrnet.pkl; splits xsub_train / xsub_val). PYSKL's GCN pipelines: 100-frame clips of 2
# persons; one clip per validation sample, 10 per test sample; the training set is repeated 5
# times per epoch, 16 clips per batch and process. This is the joint (j) stream;
# ntu60_xsub_hrnet_{b,jm,bm}.py are the bone, joint-motion and bone-motion streams.
dataset_type = "PoseDataset"
ann_file = "data/nturgbd/ntu60_hrnet.pkl"
train_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
val_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
test_pipeline = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
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
            type=dataset_type, ann_file=ann_file, pipeline=train_pipeline, split="xsub_train"
        ),
    ),
    val=dict(type=dataset_type, ann_file=ann_file, pipeline=val_pipeline, split="xsub_val"),
    test=dict(type=dataset_type, ann_file=ann_file, pipeline=test_pipeline, split="xsub_val"),
)

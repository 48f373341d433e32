# DG-STGCN's data recipe (PYSKL's configs/dgstgcn) on ntu60_xsub_3danno.py: spine alignment off,
# a random rotation of up to 0.2 rad for training, 4 loader workers, and the training set not
# repeated (DG-STGCN trains 150 epochs: schedules/sgd_cosine_150e.py). Joint (j) stream;
# ntu60_xsub_3danno_dgstgcn_{b,jm,bm}.py are the others.
_base_ = "ntu60_xsub_3danno.py"

ann_file = "data/nturgbd/ntu60_3danno.pkl"
train_pipeline = [
    dict(type="PreNormalize3D", align_spine=False),
    dict(type="RandomRot", theta=0.2),
    dict(type="GenSkeFeat", dataset="nturgb+d", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
val_pipeline = [
    dict(type="PreNormalize3D", align_spine=False),
    dict(type="GenSkeFeat", dataset="nturgb+d", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100, num_clips=1, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
test_pipeline = [
    dict(type="PreNormalize3D", align_spine=False),
    dict(type="GenSkeFeat", dataset="nturgb+d", feats=["j"]),
    dict(type="UniformSampleFrames", clip_len=100, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]
data = dict(
    workers_per_gpu=4,
    train=dict(
        _delete_=True,
        type="PoseDataset",
        ann_file=ann_file,
        pipeline=train_pipeline,
        split="xsub_train",
    ),
    val=dict(pipeline=val_pipeline),
    test=dict(pipeline=test_pipeline),
)

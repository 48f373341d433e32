# MS-G3D on NTU RGB+D 120 cross-subject, 2D (HRNet keypoints): joint-motion (jm) stream.
_base_ = [
    "../../_base_/models/msg3d.py",
    "../../_base_/datasets/ntu120_xsub_hrnet_jm.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(cls_head=dict(num_classes=120))
work_dir = "./work_dirs/msg3d/msg3d_pyskl_ntu120_xsub_hrnet/jm"

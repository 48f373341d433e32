# MS-G3D on NTU RGB+D 60 cross-subject, 2D (HRNet keypoints): bone-motion (bm) stream.
_base_ = [
    "../../_base_/models/msg3d.py",
    "../../_base_/datasets/ntu60_xsub_hrnet_bm.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
work_dir = "./work_dirs/msg3d/msg3d_pyskl_ntu60_xsub_hrnet/bm"

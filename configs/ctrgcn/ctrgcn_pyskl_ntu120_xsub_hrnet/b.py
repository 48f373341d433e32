# CTR-GCN on NTU RGB+D 120 cross-subject, 2D (HRNet keypoints): bone (b) stream.
_base_ = [
    "../../_base_/models/ctrgcn.py",
    "../../_base_/datasets/ntu120_xsub_hrnet_b.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(cls_head=dict(num_classes=120))
work_dir = "./work_dirs/ctrgcn/ctrgcn_pyskl_ntu120_xsub_hrnet/b"

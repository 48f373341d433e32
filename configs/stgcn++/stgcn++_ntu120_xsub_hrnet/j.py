# ST-GCN++ on NTU RGB+D 120 cross-subject, 2D (HRNet keypoints): joint (j) stream.
_base_ = [
    "../../_base_/models/stgcnpp.py",
    "../../_base_/datasets/ntu120_xsub_hrnet.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(cls_head=dict(num_classes=120))
work_dir = "./work_dirs/stgcn++/stgcn++_ntu120_xsub_hrnet/j"

# ST-GCN++ on NTU RGB+D 60 cross-subject, 2D (HRNet keypoints): bone (b) stream.
_base_ = [
    "../../_base_/models/stgcnpp.py",
    "../../_base_/datasets/ntu60_xsub_hrnet_b.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
work_dir = "./work_dirs/stgcn++/stgcn++_ntu60_xsub_hrnet/b"

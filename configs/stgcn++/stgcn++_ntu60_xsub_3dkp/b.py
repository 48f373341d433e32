# ST-GCN++ on NTU RGB+D 60 cross-subject, 3D (Kinect skeletons): bone (b) stream.
_base_ = [
    "../../_base_/models/stgcnpp.py",
    "../../_base_/datasets/ntu60_xsub_3danno_b.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(backbone=dict(graph_cfg=dict(layout="nturgb+d")))
work_dir = "./work_dirs/stgcn++/stgcn++_ntu60_xsub_3dkp/b"

# DG-STGCN on NTU RGB+D 60 cross-subject, 3D (Kinect skeletons), with its own recipe: bone
# (b) stream.
_base_ = [
    "../../_base_/models/dgstgcn.py",
    "../../_base_/datasets/ntu60_xsub_3danno_dgstgcn_b.py",
    "../../_base_/schedules/sgd_cosine_150e.py",
]
model = dict(backbone=dict(graph_cfg=dict(layout="nturgb+d")))
work_dir = "./work_dirs/dgstgcn/ntu60_xsub_3dkp/b"

# CTR-GCN on NTU RGB+D 60 cross-subject, 3D (Kinect skeletons): joint-motion (jm) stream.
_base_ = [
    "../../_base_/models/ctrgcn.py",
    "../../_base_/datasets/ntu60_xsub_3danno_jm.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(backbone=dict(graph_cfg=dict(layout="nturgb+d")))
work_dir = "./work_dirs/ctrgcn/ctrgcn_pyskl_ntu60_xsub_3dkp/jm"

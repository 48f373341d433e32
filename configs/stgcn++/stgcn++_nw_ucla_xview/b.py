# ST-GCN++ on NW-UCLA (Kinect v1, 3D), cross-view: bone (b) stream.
# Convert the shared data first (from the repository root):
#   skel-convert nw-ucla ../shared/data/nw_ucla/all_sqe data/nw_ucla/nw_ucla.pkl
_base_ = [
    "../../_base_/models/stgcnpp.py",
    "../../_base_/datasets/nw_ucla_xview_b.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(
    backbone=dict(graph_cfg=dict(layout="kinect_v1")),
    cls_head=dict(num_classes=10),
)
work_dir = "./work_dirs/stgcn++/stgcn++_nw_ucla_xview/b"

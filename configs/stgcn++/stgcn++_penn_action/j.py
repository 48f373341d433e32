# ST-GCN++ on Penn Action (2D, COCO layout): joint (j) stream.
# Convert the shared data first (from the repository root):
#   skel-convert penn ../shared/data/penn_action/labels data/penn_action/penn_action.pkl
_base_ = [
    "../../_base_/models/stgcnpp.py",
    "../../_base_/datasets/penn_action.py",
    "../../_base_/schedules/sgd_cosine_16e.py",
]
model = dict(cls_head=dict(num_classes=15))
work_dir = "./work_dirs/stgcn++/stgcn++_penn_action/j"

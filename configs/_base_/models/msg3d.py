# MS-G3D as PYSKL trains it (configs/msg3d/msg3d_pyskl_*): multi-scale graph and unified
# spatial-temporal (G3D) convolutions on the 0/1 adjacency, 96-384 channels (so the head takes
# 384). Set up for PYSKL's 2D NTU-60 data (COCO layout, 60 classes); leaf configs change the
# layout and classes.
model = dict(
    type="RecognizerGCN",
    backbone=dict(type="MSG3D", graph_cfg=dict(layout="coco", mode="binary_adj")),
    cls_head=dict(type="GCNHead", num_classes=60, in_channels=384),
)

# MS-AAGCN as PYSKL trains it (configs/aagcn/aagcn_pyskl_*): adaptive graph units with spatial,
# temporal and channel attention on the spatial partition. Set up for PYSKL's 2D NTU-60 data
# (COCO layout, 60 classes); leaf configs change the layout and classes.
model = dict(
    type="RecognizerGCN",
    backbone=dict(type="AAGCN", graph_cfg=dict(layout="coco", mode="spatial")),
    cls_head=dict(type="GCNHead", num_classes=60, in_channels=256),
)

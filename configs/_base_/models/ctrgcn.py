# CTR-GCN as PYSKL trains it (configs/ctrgcn/ctrgcn_pyskl_*): channel-wise topology refinement
# of the spatial partition. Set up for PYSKL's 2D NTU-60 data (COCO layout, 60 classes); leaf
# configs change the layout and classes.
model = dict(
    type="RecognizerGCN",
    backbone=dict(type="CTRGCN", graph_cfg=dict(layout="coco", mode="spatial")),
    cls_head=dict(type="GCNHead", num_classes=60, in_channels=256),
)

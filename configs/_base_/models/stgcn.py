# ST-GCN as PYSKL trains it (configs/stgcn/stgcn_pyskl_*): the 'stgcn_spatial' partition,
# learned edge importance, 10 blocks of 64-256 channels. Like every model base, it is set up for
# PYSKL's 2D NTU-60 data (COCO layout, 60 classes); leaf configs change the layout and classes.
model = dict(
    type="RecognizerGCN",
    backbone=dict(type="STGCN", graph_cfg=dict(layout="coco", mode="stgcn_spatial")),
    cls_head=dict(type="GCNHead", num_classes=60, in_channels=256),
)

# DG-STGCN (PYSKL's configs/dgstgcn): dynamic group graph convolutions over 8 learned affinity
# matrices (initialised at random around 0.04) and multi-branch temporal convolutions. Set up
# like the other model bases for 2D NTU-60 data (COCO layout, 60 classes; PYSKL publishes
# DG-STGCN on 3D data only, see configs/dgstgcn); leaf configs change the layout and classes.
model = dict(
    type="RecognizerGCN",
    backbone=dict(
        type="DGSTGCN",
        gcn_ratio=0.125,
        gcn_ctr="T",
        gcn_ada="T",
        tcn_ms_cfg=[(3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"],
        graph_cfg=dict(layout="coco", mode="random", num_filter=8, init_off=0.04, init_std=0.02),
    ),
    cls_head=dict(type="GCNHead", num_classes=60, in_channels=256),
)

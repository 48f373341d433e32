# ST-GCN++ (PYSKL's configs/stgcn++): learned adjacency initialised from the spatial partition,
# a residual inside each graph unit and multi-scale temporal convolutions. Set up for PYSKL's 2D
# NTU-60 data (COCO layout, 60 classes); leaf configs change the layout and classes.
model = dict(
    type="RecognizerGCN",
    backbone=dict(
        type="STGCN",
        gcn_adaptive="init",
        gcn_with_res=True,
        tcn_type="mstcn",
        graph_cfg=dict(layout="coco", mode="spatial"),
    ),
    cls_head=dict(type="GCNHead", num_classes=60, in_channels=256),
)

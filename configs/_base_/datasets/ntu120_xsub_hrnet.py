# NTU RGB+D 120, cross-subject, 2D (PYSKL's ntu120_hrnet.pkl): the splits and pipelines of
# ntu60_xsub_hrnet.py on NTU-120's annotations (120 classes: leaf configs set
# cls_head.num_classes). Joint (j) stream; ntu120_xsub_hrnet_{b,jm,bm}.py are the others.
_base_ = "ntu60_xsub_hrnet.py"

ann_file = "data/nturgbd/ntu120_hrnet.pkl"
data = dict(
    train=dict(dataset=dict(ann_file=ann_file)),
    val=dict(ann_file=ann_file),
    test=dict(ann_file=ann_file),
)

# The bone (b) stream of ntu120_xsub_hrnet.py: ntu60_xsub_hrnet_b.py on NTU-120's
# annotations.
_base_ = "ntu60_xsub_hrnet_b.py"

ann_file = "data/nturgbd/ntu120_hrnet.pkl"
data = dict(
    train=dict(dataset=dict(ann_file=ann_file)),
    val=dict(ann_file=ann_file),
    test=dict(ann_file=ann_file),
)

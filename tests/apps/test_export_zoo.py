"""Every model of the zoo exports to standard ONNX (the skel ops lowered) with dynamic batch and
time, and onnxruntime reproduces PyTorch's class scores within 1e-4 on both the example shape and
a longer, larger batch. Small versions of each backbone keep it fast; the structure (units,
attention, adaptive graphs, multi-scale G3D windows, data-dependent DG graphs) is the zoo's."""

from __future__ import annotations

import pytest
import torch

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from skel_apps.export.onnx_export import (  # noqa: E402
    check_shapes,
    custom_op_types,
    export_recognizer,
    max_abs_differences,
)
from skel_models.registry import build_model  # noqa: E402

COCO = dict(layout="coco", mode="spatial")
NTU = dict(layout="nturgb+d", mode="spatial")
SMALL = dict(base_channels=8, num_stages=3, inflate_stages=[3], down_stages=[3])
BACKBONES = {  # backbone config, head input channels
    "stgcn": (dict(type="STGCN", graph_cfg=dict(layout="coco", mode="stgcn_spatial"), **SMALL),
              16),
    "stgcn++": (dict(type="STGCN", gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn",
                     graph_cfg=COCO, **SMALL), 16),
    "aagcn": (dict(type="AAGCN", graph_cfg=NTU, **SMALL), 16),
    "ctrgcn": (dict(type="CTRGCN", graph_cfg=COCO, **SMALL), 16),
    "msg3d": (dict(type="MSG3D", graph_cfg=dict(layout="coco", mode="binary_adj"),
                   base_channels=6, num_gcn_scales=4, num_g3d_scales=3), 24),
    "dgstgcn": (dict(type="DGSTGCN", gcn_ratio=0.125, gcn_ctr="T", gcn_ada="T",
                     tcn_ms_cfg=[(3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"],
                     graph_cfg=dict(layout="nturgb+d", mode="random", num_filter=8,
                                    init_off=0.04, init_std=0.02),
                     base_channels=16, num_stages=3, inflate_stages=[3], down_stages=[3]), 32),
}


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_zoo_model_exports_and_onnxruntime_agrees(name):
    backbone, head_channels = BACKBONES[name]
    torch.manual_seed(0)
    model = build_model(dict(type="RecognizerGCN", backbone=backbone,
                             cls_head=dict(type="GCNHead", num_classes=5,
                                           in_channels=head_channels))).eval()
    with torch.no_grad():  # off the init, where some terms (AAGCN's alpha) are exactly zero
        for param in model.parameters():
            param.add_(0.05 * torch.randn_like(param))
    joints = 25 if backbone["graph_cfg"]["layout"] == "nturgb+d" else 17
    example = torch.randn(2, 2, 16, joints, 3)
    proto = export_recognizer(model, example, dynamic=("batch", "time"))
    onnx.checker.check_model(proto)
    assert custom_op_types(proto) == []
    assert {opset.domain for opset in proto.opset_import} <= {"", "ai.onnx"}
    shapes = check_shapes(example.shape, ("batch", "time"))
    assert shapes == [(2, 2, 16, joints, 3), (3, 2, 24, joints, 3)]
    differences = max_abs_differences(model, proto, shapes)
    assert max(differences) < 1e-4, differences

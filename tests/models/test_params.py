"""Parameter counts against the published ones, and FLOPs per clip against a hand count."""

import pytest
import torch

from skel_models import STGCN
from skel_models.params import count_parameters, flops_per_clip
from skel_models.registry import build_model


def _recognizer(backbone, num_classes=60):
    return build_model(
        dict(
            type="RecognizerGCN",
            backbone=backbone,
            cls_head=dict(type="GCNHead", num_classes=num_classes, in_channels=256),
        )
    )


COCO = dict(layout="coco", mode="spatial")


@pytest.mark.parametrize(
    ("backbone", "published"),
    [
        # PYSKL's model zoo: ST-GCN 3.1M, ST-GCN++ 1.39M (COCO-17 keypoints, 60 classes)
        (dict(type="STGCN", graph_cfg=dict(layout="coco", mode="stgcn_spatial")), 3.1e6),
        (
            dict(
                type="STGCN",
                gcn_adaptive="init",
                gcn_with_res=True,
                tcn_type="mstcn",
                graph_cfg=COCO,
            ),
            1.39e6,
        ),
        # 2s-AGCN (AAGCN without the attention module): 3.47M on NTU RGB+D (25 joints, 60
        # classes), quoted as 3.5M
        (
            dict(
                type="AAGCN",
                gcn_attention=False,
                graph_cfg=dict(layout="nturgb+d", mode="spatial"),
            ),
            3.5e6,
        ),
        # PYSKL's AAGCN config (attention on, COCO): 3.76M
        (dict(type="AAGCN", graph_cfg=COCO), 3.76e6),
    ],
    ids=["stgcn", "stgcn++", "2s-agcn", "aagcn"],
)
def test_parameter_counts_match_the_published_ones(backbone, published):
    count = count_parameters(_recognizer(backbone))
    assert abs(count - published) / published < 0.01, count


def test_trainable_only_leaves_out_frozen_parameters():
    model = STGCN(graph_cfg=COCO, base_channels=8, num_stages=2)
    total = count_parameters(model)
    model.data_bn.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == total - 2 * 17 * 3
    assert count_parameters(model) == total


def test_flops_per_clip_counts_the_convolutions_and_the_aggregation():
    # one block, no input norm: unit_gcn's 1x1 conv (3 -> K * 4), its aggregation over V
    # joints, and unit_tcn's 9x1 conv (4 -> 4); 2 FLOPs per multiply-add
    model = STGCN(graph_cfg=COCO, in_channels=3, base_channels=4, num_stages=1, data_bn_type=None)
    m, t, v, k = 2, 10, 17, 3
    expected = 2 * m * t * v * (3 * k * 4) + 2 * m * t * k * v * v * 4 + 2 * m * t * v * 4 * 4 * 9
    model.train()
    assert flops_per_clip(model, (m, t, v, 3)) == expected
    assert model.training  # restored


def test_flops_need_a_clip_shape_of_four_dimensions():
    with pytest.raises(ValueError, match=r"\(M, T, V, C\)"):
        flops_per_clip(STGCN(graph_cfg=COCO, num_stages=1), (100, 17, 3))


def test_flops_scale_with_clip_length():
    model = STGCN(graph_cfg=COCO, base_channels=8, num_stages=3)
    assert flops_per_clip(model, (2, 16, 17, 3)) == 2 * flops_per_clip(model, (2, 8, 17, 3))
    assert torch.is_grad_enabled()

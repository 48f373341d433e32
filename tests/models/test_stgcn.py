"""The ST-GCN(++) backbone, GCN head and recognizer."""

import pytest
import torch
import torch.nn.functional as F

from skel_models import STGCN, GCNHead, RecognizerGCN
from skel_models.registry import build_model

COCO = dict(layout="coco", mode="spatial")


def test_default_stgcn_output_shape_and_pyskl_names():
    net = STGCN(graph_cfg=COCO)
    x = torch.randn(2, 2, 32, 17, 3)
    assert net(x).shape == (2, 2, 256, 8, 17)
    keys = set(net.state_dict())
    for key in (
        "data_bn.running_mean",
        "gcn.0.gcn.A",
        "gcn.0.gcn.PA",
        "gcn.0.gcn.conv.weight",
        "gcn.0.tcn.conv.weight",
        "gcn.0.tcn.bn.running_var",
        "gcn.4.residual.conv.weight",
        "gcn.9.gcn.bn.weight",
    ):
        assert key in keys, key
    assert not any(k.startswith("gcn.0.residual") for k in keys)  # first block has no residual
    assert len(net.gcn) == 10


def test_stgcnpp_style_options_learn_the_adjacency_and_add_unit_residuals():
    net = STGCN(
        graph_cfg=COCO,
        gcn_adaptive="init",
        gcn_with_res=True,
        base_channels=16,
        num_stages=4,
        inflate_stages=[3],
        down_stages=[3],
    )
    names = dict(net.named_parameters())
    assert "gcn.0.gcn.A" in names and "gcn.0.gcn.PA" not in names
    assert "gcn.2.gcn.down.0.weight" in names  # 16 -> 32 channels inside the unit
    assert net(torch.randn(1, 2, 20, 17, 3)).shape == (1, 2, 32, 10, 17)


def test_unit_gcn_matches_an_explicit_sum_over_subsets():
    net = STGCN(graph_cfg=COCO, num_stages=1, base_channels=4, in_channels=3)
    unit = net.gcn[0].gcn.eval()
    x = torch.randn(2, 3, 5, 17)
    w, b = unit.conv.weight[:, :, 0, 0], unit.conv.bias
    A = unit.A * unit.PA
    y = torch.zeros(2, 4, 5, 17)
    for k in range(A.shape[0]):
        z = (
            torch.einsum("oc,nctv->notv", w[4 * k : 4 * k + 4], x)
            + b[4 * k : 4 * k + 4, None, None]
        )
        y += torch.einsum("notv,vw->notw", z, A[k])
    torch.testing.assert_close(unit(x), F.relu(unit.bn(y)))


def test_recognizer_averages_test_clips():
    model = RecognizerGCN(
        STGCN(graph_cfg=COCO, base_channels=8, num_stages=2),
        GCNHead(num_classes=5, in_channels=8),
        test_cfg=dict(average_clips="prob"),
    ).eval()
    x = torch.randn(2, 3, 2, 12, 17, 3)
    per_clip = torch.stack([model(x[:, s]) for s in range(3)], 1)
    torch.testing.assert_close(model(x), per_clip.softmax(-1).mean(1))
    model.test_cfg["average_clips"] = "score"
    torch.testing.assert_close(model(x), per_clip.mean(1))
    with pytest.raises(ValueError, match=r"\(N, M, T, V, C\)"):
        model(torch.randn(2, 17, 3))


def test_build_from_a_pyskl_config_and_one_step_lowers_the_loss():
    model = build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="STGCN", graph_cfg=COCO, base_channels=8, num_stages=3),
            cls_head=dict(type="GCNHead", num_classes=4, in_channels=8),
        )
    )
    torch.manual_seed(0)
    x, y = torch.randn(8, 2, 16, 17, 3), torch.arange(8) % 4
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(5):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="adaptive must be one of"):
        STGCN(graph_cfg=COCO, gcn_adaptive="offsett")
    with pytest.raises(TypeError, match="gcn_adaptve"):
        STGCN(graph_cfg=COCO, gcn_adaptve="init")

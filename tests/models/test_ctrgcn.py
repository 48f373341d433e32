"""The CTR-GCN backbone, its unit unit_ctrgcn and MS-G3D's MSTCN as CTR-GCN uses it.

The expected key set is written out from PYSKL's module structure (pyskl/models/gcns/ctrgcn.py,
utils/gcn.py unit_ctrgcn/CTRGC, utils/msg3d_utils.py MSTCN), not from skel's code.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from skel_models import CTRGCN, GCNHead, RecognizerGCN
from skel_models.params import count_parameters
from skel_models.registry import build_model
from skel_models.units import unit_ctrgcn

COCO = dict(layout="coco", mode="spatial")
NTU = dict(layout="nturgb+d", mode="spatial")
SMALL = dict(base_channels=8, num_stages=4, inflate_stages=(3,), down_stages=(3,))

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
CONV = ("weight", "bias")


@pytest.mark.parametrize(
    ("graph_cfg", "joints"), [(COCO, 17), (NTU, 25)], ids=["coco-2d", "ntu-3d"]
)
def test_output_shapes(graph_cfg, joints):
    net = CTRGCN(graph_cfg, **SMALL)
    x = torch.randn(2, 2, 8, joints, 3)
    assert net(x).shape == (2, 2, 16, 4, joints)  # 8 -> 16 channels and T / 2 at stage 3
    assert net.data_bn.num_features == 2 * joints * 3  # person x joint x channel
    assert net.A.shape == (3, joints, joints) and "A" in dict(net.named_buffers())
    assert CTRGCN(graph_cfg).out_channels == 256


def _pyskl_unit_ctrgcn(unit, x):
    """unit_ctrgcn as PYSKL computes it: per subset, embeddings averaged over time after the
    convs, tanh of pairwise joint differences, conv4 * alpha + A[i] as one (V, V) graph per
    sample and channel, applied to conv3(x) by a matrix product per (sample, channel)."""
    y = 0
    for i, ctrgc in enumerate(unit.convs):
        x1 = ctrgc.conv1(x).mean(2)  # N, R, V
        x2 = ctrgc.conv2(x).mean(2)
        relation = torch.tanh(x1[:, :, :, None] - x2[:, :, None, :])  # N, R, V, V
        graph = ctrgc.conv4(relation) * unit.alpha + unit.A[i]  # N, C, V, V
        y = y + torch.matmul(ctrgc.conv3(x), graph)  # (T, V) @ (V, V) per (n, c)
    return F.relu(unit.bn(y) + unit.down(x))


def test_unit_ctrgcn_matches_pyskls_formulation():
    torch.manual_seed(0)
    unit = unit_ctrgcn(6, 20, torch.rand(3, 17, 17)).eval()
    with torch.no_grad():  # move the refinement and the final norm off their init
        unit.alpha.fill_(0.7)
        unit.bn.weight.fill_(1.3)
        unit.A.add_(0.1 * torch.randn_like(unit.A))
    x = torch.randn(2, 6, 9, 17)
    torch.testing.assert_close(unit(x), _pyskl_unit_ctrgcn(unit, x), rtol=1e-5, atol=1e-5)
    assert unit.convs[0].rel_channels == 8  # in_channels <= 16
    assert unit_ctrgcn(64, 64, torch.rand(3, 5, 5)).convs[0].rel_channels == 64 // 8


def test_init_follows_pyskl():
    torch.manual_seed(0)
    unit = unit_ctrgcn(64, 128, torch.rand(3, 25, 25))
    assert unit.alpha.item() == 0
    assert torch.all(unit.bn.weight == 1e-6) and torch.all(unit.down[1].weight == 1)
    conv3 = unit.convs[0].conv3
    assert conv3.weight.std().item() == pytest.approx(math.sqrt(2 / 128), rel=0.1)  # fan_out
    assert torch.all(conv3.bias == 0)
    tcn = CTRGCN(NTU, base_channels=64, num_stages=2).net[1].tcn1
    squeeze = tcn.branches[0][0]  # 64 -> 16 channels, Kaiming fan_out
    assert squeeze.weight.std().item() == pytest.approx(math.sqrt(2 / 16), rel=0.1)
    temporal = tcn.branches[1][3].conv  # 5x1, dilation 2
    assert temporal.kernel_size == (5, 1) and temporal.dilation == (2, 1)
    assert temporal.padding == (4, 0) and torch.all(temporal.bias == 0)
    assert torch.all(tcn.branches[2][4].weight == 1)  # the BN after the max pool


def _keys(prefix, names):
    return {f"{prefix}.{name}" for name in names}


def _mstcn_keys(prefix, num_dilations):
    """MS-G3D's MSTCN without residual: per dilation 1x1 conv, BN, ReLU, unit_tcn; then the
    max-pool branch (conv, BN, ReLU, pool, BN) and the 1x1 branch (conv, BN)."""
    keys = set()
    for b in range(num_dilations):
        branch = f"{prefix}.branches.{b}"
        keys |= _keys(f"{branch}.0", CONV) | _keys(f"{branch}.1", BN)
        keys |= _keys(f"{branch}.3.conv", CONV) | _keys(f"{branch}.3.bn", BN)
    pool = f"{prefix}.branches.{num_dilations}"
    keys |= _keys(f"{pool}.0", CONV) | _keys(f"{pool}.1", BN) | _keys(f"{pool}.4", BN)
    last = f"{prefix}.branches.{num_dilations + 1}"
    return keys | _keys(f"{last}.0", CONV) | _keys(f"{last}.1", BN)


def pyskl_ctrgcn_keys():
    # the default 10 blocks: 3 -> 64, 128 from block 5, 256 from block 8, stride 2 there
    channels = [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]
    keys = {"backbone.A"} | _keys("backbone.data_bn", BN) | _keys("cls_head.fc_cls", CONV)
    for i, out in enumerate(channels):
        block = f"backbone.net.{i}"
        in_channels = 3 if i == 0 else channels[i - 1]
        keys |= {f"{block}.gcn1.A", f"{block}.gcn1.alpha"} | _keys(f"{block}.gcn1.bn", BN)
        for k in range(3):
            for conv in ("conv1", "conv2", "conv3", "conv4"):
                keys |= _keys(f"{block}.gcn1.convs.{k}.{conv}", CONV)
        if in_channels != out:
            keys |= _keys(f"{block}.gcn1.down.0", CONV) | _keys(f"{block}.gcn1.down.1", BN)
        keys |= _mstcn_keys(f"{block}.tcn1", num_dilations=2)
        if i > 0 and (in_channels != out or i in (4, 7)):
            keys |= _keys(f"{block}.residual.conv", CONV) | _keys(f"{block}.residual.bn", BN)
    return keys


def _pyskl_config_model(graph_cfg=COCO, num_classes=60):
    # configs/ctrgcn/ctrgcn_pyskl_ntu60_xsub_hrnet/j.py
    return build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="CTRGCN", graph_cfg=graph_cfg),
            cls_head=dict(type="GCNHead", num_classes=num_classes, in_channels=256),
        )
    )


def test_state_dict_keys_and_shapes_are_pyskls():
    state = _pyskl_config_model().state_dict()
    assert set(state) == pyskl_ctrgcn_keys()
    assert state["backbone.data_bn.weight"].shape == (2 * 17 * 3,)
    assert state["backbone.net.0.gcn1.A"].shape == (3, 17, 17)
    assert state["backbone.net.0.gcn1.convs.0.conv1.weight"].shape == (8, 3, 1, 1)
    assert state["backbone.net.7.gcn1.convs.2.conv2.weight"].shape == (16, 128, 1, 1)
    assert state["backbone.net.7.gcn1.convs.2.conv4.weight"].shape == (256, 16, 1, 1)
    assert state["backbone.net.4.gcn1.down.0.weight"].shape == (128, 64, 1, 1)
    # 128 channels over 2 dilations + max + 1x1: four branches of 32
    assert state["backbone.net.4.tcn1.branches.1.3.conv.weight"].shape == (32, 32, 5, 1)
    assert state["backbone.net.4.tcn1.branches.3.0.weight"].shape == (32, 128, 1, 1)
    assert state["backbone.net.4.residual.conv.weight"].shape == (128, 64, 1, 1)


def test_parameter_count_matches_the_published_one():
    # CTR-GCN paper (Chen et al., ICCV 2021), whose ablations run on NTU RGB+D 120
    # (25 joints, 120 classes): 1.46M parameters.
    count = count_parameters(_pyskl_config_model(NTU, num_classes=120))
    assert abs(count - 1.46e6) / 1.46e6 < 0.005, count


def test_block_one_is_kept_and_has_no_dropout():
    net = CTRGCN(COCO, in_channels=8, tcn_dropout=0.3, **SMALL)
    assert len(net.net) == 4 and net.net[0].residual_mode == "none"
    assert [block.tcn1.drop.p for block in net.net] == [0.0, 0.3, 0.3, 0.3]
    assert net(torch.randn(1, 2, 4, 17, 8)).shape == (1, 2, 16, 2, 17)


def test_one_sgd_step_on_a_fixed_batch_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="CTRGCN", graph_cfg=NTU, **SMALL),
            cls_head=dict(type="GCNHead", num_classes=4, in_channels=16),
        )
    )
    x, y = torch.randn(8, 2, 8, 25, 3), torch.arange(8) % 4
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = F.cross_entropy(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    assert F.cross_entropy(model(x), y).item() < before.item()


def test_state_dict_round_trip(tmp_path):
    def build():
        return RecognizerGCN(CTRGCN(COCO, **SMALL), GCNHead(3, 16)).eval()

    torch.manual_seed(0)
    model = build()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch.save(model.state_dict(), tmp_path / "ctrgcn.pth")
    torch.manual_seed(1)
    fresh = build()
    fresh.load_state_dict(torch.load(tmp_path / "ctrgcn.pth"), strict=True)
    x = torch.randn(2, 2, 8, 17, 3)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_bad_options_raise_clear_errors():
    with pytest.raises(TypeError, match="kernel_sise"):
        CTRGCN(COCO, kernel_sise=3)
    with pytest.raises(ValueError, match="one per dilation"):
        CTRGCN(COCO, kernel_size=[3, 5, 7], **SMALL)
    with pytest.raises(ValueError, match=r"unit_ctrgcn: A must be \(K, V, V\)"):
        unit_ctrgcn(3, 8, torch.rand(17, 17))

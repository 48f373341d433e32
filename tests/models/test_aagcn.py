"""The AAGCN backbone and its graph unit, unit_aagcn."""

import math

import pytest
import torch
import torch.nn.functional as F

from skel_models import AAGCN, GCNHead, RecognizerGCN
from skel_models.registry import build_model
from skel_models.units import unit_aagcn

COCO = dict(layout="coco", mode="spatial")
NTU = dict(layout="nturgb+d", mode="spatial")


@pytest.mark.parametrize(
    ("graph_cfg", "joints"), [(COCO, 17), (NTU, 25)], ids=["coco-2d", "ntu-3d"]
)
def test_default_aagcn_output_shape(graph_cfg, joints):
    net = AAGCN(graph_cfg=graph_cfg)
    x = torch.randn(1, 2, 8, joints, 3)
    assert net(x).shape == (1, 2, 256, 2, joints)
    assert net.data_bn.num_features == 2 * 3 * joints  # 'MVC' by default
    assert net.A.shape == (3, joints, joints) and "A" in dict(net.named_buffers())


def _pyskl_unit_aagcn(unit, x):
    """unit_aagcn's forward written out as in the MS-AAGCN paper / PYSKL: per subset i, the
    graph A_i + alpha * tanh(theta_i(x)^T phi_i(x) / (C_inter T)) aggregates x, conv_d[i] mixes
    channels, the subsets are summed; then BN, residual, ReLU and the three attentions."""
    n, c, t, v = x.shape
    y = 0
    for i in range(unit.num_subset):
        theta = unit.conv_a[i](x).permute(0, 3, 1, 2).reshape(n, v, -1)  # N, V, C_inter * T
        phi = unit.conv_b[i](x).reshape(n, -1, v)  # N, C_inter * T, V
        graph = unit.A[i] + unit.alpha * torch.tanh(theta @ phi / theta.shape[-1])
        aggregated = (x.reshape(n, c * t, v) @ graph).reshape(n, c, t, v)
        y = y + unit.conv_d[i](aggregated)
    y = F.relu(unit.bn(y) + unit.down(x))
    spatial = torch.sigmoid(unit.conv_sa(y.mean(2)))  # N, 1, V
    y = y + y * spatial[:, :, None, :]
    temporal = torch.sigmoid(unit.conv_ta(y.mean(3)))  # N, 1, T
    y = y + y * temporal[:, :, :, None]
    channel = torch.sigmoid(unit.fc2c(F.relu(unit.fc1c(y.mean((2, 3))))))
    return y + y * channel[:, :, None, None]


def test_unit_aagcn_matches_the_per_subset_formulation():
    torch.manual_seed(0)
    A = torch.rand(3, 17, 17)
    unit = unit_aagcn(6, 8, A).eval()
    with torch.no_grad():  # move every learned term off its init so each one matters
        unit.alpha.fill_(0.7)
        unit.bn.weight.fill_(1.3)
        for layer in (unit.conv_ta, unit.fc2c):
            layer.weight.normal_(0, 0.3)
            layer.bias.normal_(0, 0.3)
    x = torch.randn(2, 6, 9, 17)
    torch.testing.assert_close(unit(x), _pyskl_unit_aagcn(unit, x), rtol=1e-5, atol=1e-5)


def test_unit_aagcn_init_follows_pyskl():
    torch.manual_seed(0)
    unit = unit_aagcn(64, 128, torch.rand(3, 25, 25))
    assert unit.alpha.item() == 0
    assert torch.all(unit.bn.weight == 1e-6) and torch.all(unit.down[1].weight == 1)
    for zeroed in (unit.conv_ta.weight, unit.conv_ta.bias, unit.fc2c.weight, unit.fc2c.bias):
        assert torch.all(zeroed == 0)
    # conv_d: normal with std sqrt(2 / (C_out * C_in * 1 * K)); conv_a: Kaiming fan_out
    expected_std = math.sqrt(2 / (128 * 64 * 3))
    assert unit.conv_d[0].weight.std().item() == pytest.approx(expected_std, rel=0.05)
    assert unit.conv_a[0].weight.std().item() == pytest.approx(math.sqrt(2 / 32), rel=0.05)
    assert unit.conv_sa.kernel_size == (25,) and unit.conv_sa.padding == (12,)
    assert unit_aagcn(8, 8, torch.rand(3, 18, 18)).conv_sa.kernel_size == (17,)  # odd, keeps V


def test_block_temporal_units_are_initialised_like_pyskl():
    torch.manual_seed(0)
    net = AAGCN(graph_cfg=NTU, base_channels=64, num_stages=2)
    tcn = net.gcn[1].tcn
    assert tcn.conv.weight.std().item() == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.05)
    assert torch.all(tcn.conv.bias == 0) and torch.all(tcn.bn.weight == 1)


def test_non_adaptive_aagcn_keeps_a_fixed_graph():
    net = AAGCN(graph_cfg=COCO, gcn_adaptive=False, gcn_attention=False, num_stages=2)
    unit = net.gcn[0].gcn
    assert "A" in dict(unit.named_buffers()) and "A" not in dict(unit.named_parameters())
    adaptive_or_attention = ("conv_a", "conv_b", "alpha", "conv_sa")
    assert not any(k.startswith(adaptive_or_attention) for k in unit.state_dict())


def test_per_stage_options_and_no_dropout_in_stage_one():
    net = AAGCN(
        graph_cfg=COCO,
        num_stages=3,
        base_channels=8,
        gcn_attention=(False, True, True),
        tcn_dropout=0.3,
    )
    assert not net.gcn[0].gcn.attention and net.gcn[1].gcn.attention
    assert [block.tcn.drop.p for block in net.gcn] == [0.0, 0.3, 0.3]


def test_one_sgd_step_on_a_fixed_batch_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(
                type="AAGCN", graph_cfg=NTU, base_channels=8, num_stages=3, inflate_stages=[3]
            ),
            cls_head=dict(type="GCNHead", num_classes=4, in_channels=16),
        )
    )
    x, y = torch.randn(8, 2, 8, 25, 3), torch.arange(8) % 4
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = F.cross_entropy(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    after = F.cross_entropy(model(x), y)
    assert after.item() < before.item()


def test_state_dict_round_trip(tmp_path):
    torch.manual_seed(0)
    model = RecognizerGCN(AAGCN(COCO, base_channels=8, num_stages=3), GCNHead(3, 8)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch.save(model.state_dict(), tmp_path / "aagcn.pth")
    torch.manual_seed(1)
    fresh = RecognizerGCN(AAGCN(COCO, base_channels=8, num_stages=3), GCNHead(3, 8)).eval()
    fresh.load_state_dict(torch.load(tmp_path / "aagcn.pth"), strict=True)
    x = torch.randn(2, 2, 8, 17, 3)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_mixed_precision_autocast():
    torch.manual_seed(0)
    model = AAGCN(COCO, base_channels=8, num_stages=3).eval()
    x = torch.randn(2, 2, 8, 17, 3)
    full = model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(x)
    assert low.dtype == torch.bfloat16
    assert ((low.float() - full).abs().max() / full.abs().max()).item() < 3e-2

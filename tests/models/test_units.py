"""The shared GCN units: unit_gcn, unit_tcn, mstcn, and the norm/activation/TCN builders."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skel_models.units import build_act, build_norm, build_tcn, mstcn, unit_gcn, unit_tcn


def test_unit_gcn_post_matches_aggregate_then_convolve():
    torch.manual_seed(0)
    A = torch.rand(3, 17, 17)
    unit = unit_gcn(5, 7, A, adaptive="offset", conv_pos="post").eval()
    assert unit.conv.weight.shape == (7, 3 * 5, 1, 1)
    x = torch.randn(2, 5, 6, 17)
    # PYSKL's 'post': aggregate each subset, stack the subsets as channels, then the 1x1 conv
    adjacency = unit.A + unit.PA
    stacked = torch.einsum("nctv,kvw->nkctw", x, adjacency).reshape(2, 15, 6, 17)
    expected = F.relu(unit.bn(unit.conv(stacked)))
    torch.testing.assert_close(unit(x), expected, rtol=1e-5, atol=1e-5)


def test_unit_gcn_residual_inside_the_unit():
    torch.manual_seed(0)
    A = torch.rand(2, 17, 17)
    same = unit_gcn(4, 4, A, adaptive=None, with_res=True).eval()
    assert same.down is None and "A" in dict(same.named_buffers())
    x = torch.randn(1, 4, 3, 17)
    plain = torch.einsum("nkctv,kvw->nctw", same.conv(x).view(1, 2, 4, 3, 17), A)
    torch.testing.assert_close(same(x), F.relu(same.bn(plain) + x), rtol=1e-5, atol=1e-5)
    wider = unit_gcn(4, 6, A, with_res=True, norm=dict(type="BN", momentum=0.3), act="GELU")
    assert isinstance(wider.down[1], nn.BatchNorm2d) and wider.down[1].momentum == 0.3
    assert isinstance(wider.act, nn.GELU)


def test_unit_gcn_rejects_bad_options():
    A = torch.rand(3, 17, 17)
    with pytest.raises(ValueError, match="conv_pos must be one of"):
        unit_gcn(3, 4, A, conv_pos="middle")
    with pytest.raises(ValueError, match=r"A must be \(K, V, V\), got shape \[17, 17\]"):
        unit_gcn(3, 4, A[0])


@pytest.mark.parametrize(("kernel", "dilation", "stride"), [(9, 1, 1), (3, 4, 1), (9, 1, 2)])
def test_unit_tcn_pads_to_keep_or_halve_time(kernel, dilation, stride):
    unit = unit_tcn(4, 6, kernel, stride=stride, dilation=dilation)
    out = unit(torch.randn(2, 4, 11, 5))
    assert out.shape == (2, 6, (11 + stride - 1) // stride, 5)


def test_unit_tcn_without_norm_and_with_dropout():
    unit = unit_tcn(4, 4, norm=None, dropout=0.5)
    assert isinstance(unit.bn, nn.Identity) and unit.drop.p == 0.5


def test_mstcn_branches_follow_pyskl():
    unit = mstcn(128, 128, stride=2)
    # 6 branches of 128 // 6 = 21 channels, the first taking the remainder, 23
    assert [b[0].out_channels if isinstance(b, nn.Sequential) else b.out_channels
            for b in unit.branches] == [23, 21, 21, 21, 21, 21]
    dilated = unit.branches[3][3]
    assert isinstance(dilated, unit_tcn) and dilated.conv.dilation == (4, 1)
    assert dilated.conv.padding == (4, 0) and isinstance(dilated.bn, nn.Identity)
    assert isinstance(unit.branches[4][3], nn.MaxPool2d)
    assert unit.branches[5].stride == (2, 1)
    assert unit(torch.randn(1, 128, 9, 17)).shape == (1, 128, 5, 17)


def test_mstcn_custom_branches_and_mid_channels():
    unit = mstcn(16, 32, mid_channels=0.25, ms_cfg=[[5, 1], ("max", 3)], dropout=0.1)
    assert unit.ms_cfg == [(5, 1), ("max", 3)]
    assert unit.transform[0].num_features == 16  # 2 branches of int(32 * 0.25) = 8
    assert unit(torch.randn(2, 16, 7, 3)).shape == (2, 32, 7, 3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(ms_cfg=[(3, 1), ("avg", 3)]), r"ms_cfg entry .* got \('avg', 3\)"),
        (dict(ms_cfg=[(3, 0)]), r"got \(3, 0\)"),
        (dict(ms_cfg=[]), "at least one branch"),
        (dict(mid_channels=16), "mid_channels must be None or a positive float"),
    ],
)
def test_mstcn_rejects_bad_configs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mstcn(8, 8, **kwargs)


def test_build_tcn_takes_only_the_options_of_its_type():
    assert isinstance(build_tcn("unit_tcn", 8, 2), unit_tcn)
    assert isinstance(build_tcn("mstcn", 12, 1, ms_cfg=[(3, 1), "1x1"]), mstcn)
    with pytest.raises(ValueError, match="tcn_ms_cfg and tcn_mid_channels apply to"):
        build_tcn("unit_tcn", 8, ms_cfg=[(3, 1)])
    with pytest.raises(ValueError, match="tcn_norm and tcn_dilation apply to"):
        build_tcn("mstcn", 8, dilation=2)
    with pytest.raises(ValueError, match=r"tcn_type must be one of .*'tcn'"):
        build_tcn("tcn", 8)


def test_norm_and_activation_builders():
    assert isinstance(build_norm("SyncBN", 4), nn.BatchNorm2d)
    group = build_norm(dict(type="GN", num_groups=2), 8)
    assert isinstance(group, nn.GroupNorm) and group.num_groups == 2
    assert isinstance(build_norm(None, 4), nn.Identity)
    assert build_act(dict(type="LeakyReLU", negative_slope=0.2)).negative_slope == 0.2
    with pytest.raises(ValueError, match="norm type must be one of .*'LN'"):
        build_norm("LN", 4)
    with pytest.raises(ValueError, match="GN needs num_groups"):
        build_norm(dict(type="GN"), 4)
    with pytest.raises(ValueError, match="act type must be one of .*'Mish'"):
        build_act("Mish")
    with pytest.raises(ValueError, match=r"norm must be a type name or a dict\(type=...\)"):
        build_norm(dict(momentum=0.1), 4)

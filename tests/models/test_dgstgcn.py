"""The DG-STGCN backbone and its units dggcn and dgmstcn.

The expected key set and parameter count are derived here from PYSKL's module structure and
layer shapes (pyskl/models/gcns/dgstgcn.py, utils/gcn.py dggcn, utils/tcn.py dgmstcn), not
from skel's code. PYSKL publishes no parameter count for DG-STGCN, so the count is checked
against that derivation.
"""

import pytest
import torch
import torch.nn.functional as F

from skel_models import DGSTGCN, GCNHead, RecognizerGCN
from skel_models.params import count_parameters
from skel_models.registry import build_model
from skel_models.units import dggcn, dgmstcn, mstcn


def _graph(layout, num_filter=8):
    return dict(layout=layout, mode="random", num_filter=num_filter, init_off=0.04, init_std=0.02)


# configs/dgstgcn/ntu120_xsub_3dkp/j.py, less the graph
PYSKL_OPTIONS = dict(
    gcn_ratio=0.125,
    gcn_ctr="T",
    gcn_ada="T",
    tcn_ms_cfg=[(3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"],
)
SMALL = dict(base_channels=16, num_stages=4, inflate_stages=(3,), down_stages=(3,))

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
CONV = ("weight", "bias")
CHANNELS = [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]  # the default 10 stages
STRIDED = {4, 7}


@pytest.mark.parametrize(("layout", "joints"), [("coco", 17), ("nturgb+d", 25)])
def test_output_shapes(layout, joints):
    net = DGSTGCN(_graph(layout), **SMALL, **PYSKL_OPTIONS)
    x = torch.randn(2, 2, 8, joints, 3)
    assert net(x).shape == (2, 2, 32, 4, joints)
    assert net.data_bn.num_features == joints * 3  # 'VC'
    assert net.gcn[0].gcn.A.shape == (8, joints, joints)
    assert net.gcn[0].gcn.mid_channels == 2  # int(0.125 * 16)
    assert net.gcn[0].tcn.add_coeff.shape == (25,)  # PYSKL's default, whatever the layout


ACTS = {
    "tanh": torch.tanh,
    "relu": F.relu,
    "sigmoid": torch.sigmoid,
    "softmax": lambda g: g.softmax(-2),  # over the sending joint
}


def _reference_dggcn(unit, x):
    """dggcn written out with every graph materialised as (N, K, mid, T, V, V): embeddings by
    conv then (for 'T') mean over time, ctr = act(e1_v - e2_w) per channel, ada =
    act(sum_c e1_v e2_w), each scaled by alpha/beta (per group when subset_wise); each group's
    channels then aggregated by a row-vector x matrix product per (n, k, c, t)."""
    n, _, t, v = x.shape
    k, mid = unit.num_subsets, unit.mid_channels
    groups = unit.pre(x).view(n, k, mid, t, v)

    def scaled(graph, weight):
        return graph * (weight.view(1, k, 1, 1, 1, 1) if unit.subset_wise else weight[0])

    graph = unit.A.view(1, k, 1, 1, v, v)
    if unit.ctr or unit.ada:
        e1 = unit.conv1(x).view(n, k, mid, t, v)
        e2 = unit.conv2(x).view(n, k, mid, t, v)
        if "NA" not in (unit.ctr, unit.ada):
            e1, e2 = e1.mean(3, keepdim=True), e2.mean(3, keepdim=True)
        if unit.ctr:
            graph = graph + scaled(ACTS[unit.ctr_act](e1[..., :, None] - e2[..., None, :]),
                                   unit.alpha)
        if unit.ada:
            affinity = (e1[..., :, None] * e2[..., None, :]).sum(2, keepdim=True)
            graph = graph + scaled(ACTS[unit.ada_act](affinity), unit.beta)
    graph = graph.expand(n, k, mid, t, v, v)
    y = (groups.unsqueeze(-2) @ graph).squeeze(-2)
    y = unit.post(y.reshape(n, k * mid, t, v))
    return F.relu(unit.bn(y) + (x if unit.down is None else unit.down(x)))


@pytest.mark.parametrize(
    ("ctr", "ada", "subset_wise", "ctr_act", "ada_act", "batch", "out_channels"),
    [
        ("T", "T", False, "tanh", "softmax", 2, 16),  # PYSKL's configs
        ("T", "T", True, "softmax", "relu", 1, 16),  # one sample: graphs still per sample
        ("NA", None, False, "sigmoid", "softmax", 2, 16),  # per frame, channel-wise only
        (None, "NA", True, "tanh", "sigmoid", 2, 16),  # per frame, affinity only
        ("T", None, False, "relu", "softmax", 2, 8),  # one channel per group
        (None, None, False, "tanh", "softmax", 2, 6),  # learned A only, identity residual
    ],
)
def test_dggcn_matches_the_materialised_formulation(
    ctr, ada, subset_wise, ctr_act, ada_act, batch, out_channels
):
    torch.manual_seed(0)
    unit = dggcn(6, out_channels, torch.rand(4, 7, 7), ratio=0.125 if out_channels == 8 else 0.25,
                 ctr=ctr, ada=ada, subset_wise=subset_wise, ctr_act=ctr_act, ada_act=ada_act)
    unit.eval()
    with torch.no_grad():  # the dynamic terms start at alpha = beta = 0: switch them on
        unit.alpha.uniform_(0.5, 1.5)
        unit.beta.uniform_(0.5, 1.5)
        unit.bn.weight.uniform_(0.5, 1.5)
    x = torch.randn(batch, 6, 5, 7)
    torch.testing.assert_close(unit(x), _reference_dggcn(unit, x), rtol=1e-5, atol=1e-5)
    assert hasattr(unit, "conv1") == bool(ctr or ada)
    assert (unit.down is None) == (out_channels == 6)


def test_dgmstcn_fuses_the_global_joint_feature():
    """In eval mode the branches act joint by joint, so DG-TCN equals the branches on the
    joints plus add_coeff times the branches on the joint-averaged frame, then transform."""
    torch.manual_seed(0)
    tcn = dgmstcn(12, 12, num_joints=25, stride=2).eval()
    with torch.no_grad():
        tcn.add_coeff.normal_()
        for bn in (tcn.bn, tcn.transform[0]):
            bn.running_mean.normal_()
    x = torch.randn(2, 12, 8, 17)
    local = torch.cat([branch(x) for branch in tcn.branches], 1)
    pooled = torch.cat([branch(x.mean(-1, keepdim=True)) for branch in tcn.branches], 1)
    expected = tcn.bn(tcn.transform(local + pooled * tcn.add_coeff[:17]))
    torch.testing.assert_close(tcn(x), expected, rtol=1e-5, atol=1e-5)

    # with add_coeff = 0 it is ST-GCN++'s mstcn with the same weights
    plain = mstcn(12, 12, stride=2).eval()
    state = {k: v for k, v in tcn.state_dict().items() if k != "add_coeff"}
    plain.load_state_dict(state, strict=True)
    with torch.no_grad():
        tcn.add_coeff.zero_()
    torch.testing.assert_close(tcn(x), plain(x), rtol=1e-5, atol=1e-5)


def _keys(prefix, names):
    return {f"{prefix}.{name}" for name in names}


def _dgmstcn_keys(prefix):
    keys = {f"{prefix}.add_coeff"}
    for branch in range(4):  # (3, 1) .. (3, 4): 1x1 conv, BN, ReLU, unit_tcn without norm
        b = f"{prefix}.branches.{branch}"
        keys |= _keys(f"{b}.0", CONV) | _keys(f"{b}.1", BN) | _keys(f"{b}.3.conv", CONV)
    keys |= _keys(f"{prefix}.branches.4.0", CONV) | _keys(f"{prefix}.branches.4.1", BN)
    keys |= _keys(f"{prefix}.branches.5", CONV)
    keys |= _keys(f"{prefix}.transform.0", BN) | _keys(f"{prefix}.transform.2", CONV)
    return keys | _keys(f"{prefix}.bn", BN)


def pyskl_dgstgcn_keys():
    keys = _keys("backbone.data_bn", BN) | _keys("cls_head.fc_cls", CONV)  # no backbone.A
    for i, out in enumerate(CHANNELS):
        block = f"backbone.gcn.{i}"
        in_channels = 3 if i == 0 else CHANNELS[i - 1]
        unit = f"{block}.gcn"
        keys |= {f"{unit}.A", f"{unit}.alpha", f"{unit}.beta"}
        keys |= _keys(f"{unit}.pre.0", CONV) | _keys(f"{unit}.pre.1", BN)
        keys |= _keys(f"{unit}.post", CONV) | _keys(f"{unit}.bn", BN)
        keys |= _keys(f"{unit}.conv1", CONV) | _keys(f"{unit}.conv2", CONV)
        if in_channels != out:
            keys |= _keys(f"{unit}.down.0", CONV) | _keys(f"{unit}.down.1", BN)
        keys |= _dgmstcn_keys(f"{block}.tcn")
        if i > 0 and (in_channels != out or i in STRIDED):
            keys |= _keys(f"{block}.residual.conv", CONV) | _keys(f"{block}.residual.bn", BN)
    return keys


def pyskl_dgstgcn_parameter_count(joints, num_classes, subsets=8, ratio=0.125):
    """Parameters of PYSKL's DG-STGCN config, layer by layer (conv: weight + bias, BN: 2 per
    channel), with a GCNHead on 256 channels."""
    def conv(c_in, c_out, k=1):
        return c_in * c_out * k + c_out

    def bn(c):
        return 2 * c

    total = bn(3 * joints) + conv(256, num_classes)  # data_bn 'VC', fc_cls
    for i, out in enumerate(CHANNELS):
        c_in = 3 if i == 0 else CHANNELS[i - 1]
        grouped = int(ratio * out) * subsets
        total += subsets * joints * joints + 2 * subsets  # A, alpha, beta
        total += conv(c_in, grouped) + bn(grouped) + conv(grouped, out) + bn(out)  # pre/post/bn
        total += 2 * conv(c_in, grouped)  # conv1, conv2
        if c_in != out:
            total += conv(c_in, out) + bn(out)  # down
        mid = out // 6
        first = out - 5 * mid
        total += 25  # add_coeff
        total += conv(out, first) + bn(first) + conv(first, first, 3)  # (3, 1)
        total += 3 * (conv(out, mid) + bn(mid) + conv(mid, mid, 3))  # (3, 2) .. (3, 4)
        total += conv(out, mid) + bn(mid) + conv(out, mid)  # max pool branch, '1x1'
        total += bn(out) + conv(out, out) + bn(out)  # transform, bn
        if i > 0 and (c_in != out or i in STRIDED):
            total += conv(c_in, out) + bn(out)  # residual unit_tcn
    return total


def _pyskl_config_model(layout="nturgb+d", num_classes=60):
    return build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="DGSTGCN", graph_cfg=_graph(layout), **PYSKL_OPTIONS),
            cls_head=dict(type="GCNHead", num_classes=num_classes, in_channels=256),
        )
    )


def test_state_dict_keys_and_shapes_are_pyskls():
    state = _pyskl_config_model().state_dict()
    assert set(state) == pyskl_dgstgcn_keys()
    assert state["backbone.data_bn.weight"].shape == (3 * 25,)
    assert state["backbone.gcn.0.gcn.A"].shape == (8, 25, 25)
    assert state["backbone.gcn.0.gcn.pre.0.weight"].shape == (8 * 8, 3, 1, 1)  # 8 x int(64/8)
    assert state["backbone.gcn.7.gcn.post.weight"].shape == (256, 8 * 32, 1, 1)
    assert state["backbone.gcn.7.gcn.alpha"].shape == (8,)
    assert state["backbone.gcn.7.tcn.branches.0.0.weight"].shape == (256 - 5 * 42, 256, 1, 1)
    assert state["backbone.gcn.7.residual.conv.weight"].shape == (256, 128, 1, 1)


@pytest.mark.parametrize(("layout", "joints"), [("coco", 17), ("nturgb+d", 25)])
def test_parameter_count_matches_the_layer_by_layer_derivation(layout, joints):
    count = count_parameters(_pyskl_config_model(layout))
    assert count == pyskl_dgstgcn_parameter_count(joints, 60)
    if layout == "nturgb+d":
        assert count == 1_701_172


def test_per_stage_options_and_no_dropout_in_stage_one():
    stagewise = dict(gcn_ctr=(None, "T", "T", "T"), gcn_ada=None, tcn_dropout=0.2)
    net = DGSTGCN(_graph("coco", 4), **stagewise, **SMALL)
    assert [block.gcn.ctr for block in net.gcn] == [None, "T", "T", "T"]
    assert not hasattr(net.gcn[0].gcn, "conv1") and hasattr(net.gcn[1].gcn, "conv1")
    assert [block.tcn.drop.p for block in net.gcn] == [0.0, 0.2, 0.2, 0.2]
    skipped = DGSTGCN(_graph("coco", 4), in_channels=16, **SMALL)  # PYSKL skips stage 1 then
    assert skipped.num_stages == 3 and skipped.gcn[0].residual_mode == "identity"


def test_one_sgd_step_on_a_fixed_batch_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="DGSTGCN", graph_cfg=_graph("coco", 4), **SMALL, **PYSKL_OPTIONS),
            cls_head=dict(type="GCNHead", num_classes=4, in_channels=32),
        )
    )
    x, y = torch.randn(4, 2, 6, 17, 3), torch.arange(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = F.cross_entropy(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    assert F.cross_entropy(model(x), y).item() < before.item()


def test_state_dict_round_trip(tmp_path):
    def build():
        backbone = DGSTGCN(_graph("nturgb+d", 4), **SMALL, **PYSKL_OPTIONS)
        return RecognizerGCN(backbone, GCNHead(3, 32)).eval()

    torch.manual_seed(0)
    model = build()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))  # alpha, beta and add_coeff off 0 too
    torch.save(model.state_dict(), tmp_path / "dgstgcn.pth")
    torch.manual_seed(1)
    fresh = build()
    fresh.load_state_dict(torch.load(tmp_path / "dgstgcn.pth"), strict=True)
    x = torch.randn(2, 2, 6, 25, 3)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match=r"tcn_num_joints=10 \(stage 1\).*17 joints.*'coco'"):
        DGSTGCN(_graph("coco"), tcn_num_joints=10)
    with pytest.raises(ValueError, match="dggcn: ctr must be one of"):
        DGSTGCN(_graph("coco"), gcn_ctr="N")
    with pytest.raises(ValueError, match="0 channels per group"):
        dggcn(3, 4, torch.rand(8, 17, 17), ratio=0.125)
    with pytest.raises(ValueError, match="30 joints but num_joints=25"):
        dgmstcn(6, 6)(torch.randn(1, 6, 4, 30))
    with pytest.raises(TypeError, match="gcn_ration"):
        DGSTGCN(_graph("coco"), gcn_ration=0.5)

"""The MS-G3D backbone and its units: multi-scale graphs, MSGCN / ST_MSGCN through the
graph_conv switch, temporal windows, MS-G3D's MSTCN.

The expected key set is written out from PYSKL's module structure (pyskl/models/gcns/msg3d.py,
utils/msg3d_utils.py), not from skel's code.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import skel_models.units.gcn as gcn_module
from skel_core.graph import Graph
from skel_models import MSG3D, GCNHead, RecognizerGCN, use_graph_conv
from skel_models.params import count_parameters
from skel_models.registry import build_model
from skel_models.units import MSGCN, MSTCN
from skel_models.units.msg3d import (
    UnfoldTemporalWindows,
    multiscale_adjacency,
    spatial_temporal_graph,
)

COCO = dict(layout="coco", mode="binary_adj")
NTU = dict(layout="nturgb+d", mode="binary_adj")
SMALL = dict(base_channels=6, num_gcn_scales=4, num_g3d_scales=3)

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
CONV = ("weight", "bias")


@pytest.mark.parametrize(
    ("graph_cfg", "joints"), [(COCO, 17), (NTU, 25)], ids=["coco-2d", "ntu-3d"]
)
def test_output_shapes(graph_cfg, joints):
    net = MSG3D(graph_cfg, **SMALL)
    x = torch.randn(2, 2, 9, joints, 3)
    assert net(x).shape == (2, 2, 24, 3, joints)  # 4 x base channels, ceil(ceil(9 / 2) / 2)
    assert net.A.shape == (joints, joints) and net.data_bn.num_features == 2 * joints * 3
    assert net.sgcn1[0].A.shape == (4, joints, joints)
    assert net.gcn3d1.gcn3d[1].gcn3d[1].A.shape == (3, 5 * joints, 5 * joints)


def _pyskl_k_adjacency(A, k):
    """Joints exactly k hops apart plus self-loops, by matrix powers as PYSKL computes it."""
    eye = np.eye(len(A))
    if k == 0:
        return eye
    reach = np.minimum(np.linalg.matrix_power(A + eye, k), 1)
    return reach - np.minimum(np.linalg.matrix_power(A + eye, k - 1), 1) + eye


def test_multiscale_and_spatial_temporal_graphs():
    A = Graph(**COCO).A[0]
    scales = multiscale_adjacency(A, 4)
    assert scales.shape == (4, 17, 17)
    np.testing.assert_array_equal(scales[0], np.eye(17))
    for k in range(1, 4):
        hops = _pyskl_k_adjacency(A, k)
        np.testing.assert_allclose(scales[k], hops / hops.sum(0, keepdims=True))
    # nose (0) and left eye (1) are neighbours; nose and left ear (3) are two hops apart
    assert scales[1][0, 1] > 0 and scales[1][0, 3] == 0 and scales[2][0, 3] > 0

    big = spatial_temporal_graph(A, 3)
    assert big.shape == (51, 51)
    with_self = A + np.eye(17)
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(big[17 * i : 17 * (i + 1), 17 * j : 17 * (j + 1)],
                                          with_self)


@pytest.mark.parametrize(("size", "stride", "dilation"), [(3, 1, 1), (5, 2, 1), (3, 2, 2)])
def test_unfold_temporal_windows(size, stride, dilation):
    x = torch.randn(2, 3, 9, 4)
    out = UnfoldTemporalWindows(size, stride, dilation)(x)
    pad = ((size - 1) * dilation) // 2
    padded = F.pad(x, (0, 0, pad, pad))
    windows = len(range(0, padded.shape[2] - (size - 1) * dilation, stride))
    assert out.shape == (2, 3, windows, size * 4)
    for j in range(windows):
        for i in range(size):
            frame = padded[:, :, j * stride + i * dilation]
            torch.testing.assert_close(out[:, :, j, 4 * i : 4 * (i + 1)], frame, rtol=0, atol=0)


@pytest.mark.parametrize("impl", ["auto", "reference"])
def test_msgcn_matches_pyskls_formulation(impl):
    torch.manual_seed(0)
    unit = MSGCN(5, 6, 10, Graph(**NTU).A[0]).eval()
    with torch.no_grad():
        unit.PA.normal_(0, 0.1)
        unit.mlp.layers[1].weight.uniform_(0.5, 1.5)
        unit.mlp.layers[1].running_mean.normal_()
    x = torch.randn(2, 6, 7, 25)
    # PYSKL: aggregate with every scale of A + PA, stack the scales as channels, then the MLP
    support = torch.einsum("kvu,nctv->nkctu", unit.A + unit.PA, x).reshape(2, 5 * 6, 7, 25)
    expected = support
    for layer in unit.mlp.layers:
        expected = layer(expected)
    with use_graph_conv(impl):
        torch.testing.assert_close(unit(x), expected, rtol=1e-5, atol=1e-5)


def test_msg3d_mstcn_branches_and_residuals():
    tcn = MSTCN(8, 14, stride=2)
    # 6 branches of 14 // 6 = 2 channels, the last (1x1) one the remainder 14 - 5 * 2 = 4
    assert [branch[0].out_channels for branch in tcn.branches] == [2, 2, 2, 2, 2, 4]
    assert tcn.residual_mode == "conv" and tcn.residual.conv.stride == (2, 1)
    x = torch.randn(2, 8, 9, 5)
    assert tcn(x).shape == (2, 14, 5, 5)
    assert MSTCN(8, 8).residual_mode == "identity"
    assert MSTCN(8, 8, residual=False).residual_mode == "none"
    x = torch.randn(2, 8, 6, 3)
    assert (MSTCN(8, 8).eval()(x) >= 0).all()
    assert (MSTCN(8, 8, activation=False).eval()(x) < 0).any()  # no ReLU at the end


def _keys(prefix, names):
    return {f"{prefix}.{name}" for name in names}


def _mstcn_keys(prefix, strided_or_widening):
    keys = set()
    for b in range(4):  # dilations 1..4: 1x1 conv, BN, ReLU, unit_tcn
        branch = f"{prefix}.branches.{b}"
        keys |= _keys(f"{branch}.0", CONV) | _keys(f"{branch}.1", BN)
        keys |= _keys(f"{branch}.3.conv", CONV) | _keys(f"{branch}.3.bn", BN)
    keys |= _keys(f"{prefix}.branches.4.0", CONV) | _keys(f"{prefix}.branches.4.1", BN)
    keys |= _keys(f"{prefix}.branches.4.4", BN)  # BN after the max pool
    keys |= _keys(f"{prefix}.branches.5.0", CONV) | _keys(f"{prefix}.branches.5.1", BN)
    if strided_or_widening:
        keys |= _keys(f"{prefix}.residual.conv", CONV) | _keys(f"{prefix}.residual.bn", BN)
    return keys


def _graph_unit_keys(prefix):
    keys = {f"{prefix}.A", f"{prefix}.PA"}
    return keys | _keys(f"{prefix}.mlp.layers.0", CONV) | _keys(f"{prefix}.mlp.layers.1", BN)


def pyskl_msg3d_keys():
    keys = {"backbone.A"} | _keys("backbone.data_bn", BN) | _keys("cls_head.fc_cls", CONV)
    for stage in (1, 2, 3):
        for window in (0, 1):  # window sizes 3 and 5
            block = f"backbone.gcn3d{stage}.gcn3d.{window}"
            keys |= _graph_unit_keys(f"{block}.gcn3d.1")
            keys |= _keys(f"{block}.out_conv", CONV) | _keys(f"{block}.out_bn", BN)
        keys |= _graph_unit_keys(f"backbone.sgcn{stage}.0")
        keys |= _mstcn_keys(f"backbone.sgcn{stage}.1", strided_or_widening=stage > 1)
        keys |= _mstcn_keys(f"backbone.sgcn{stage}.2", strided_or_widening=False)
        keys |= _mstcn_keys(f"backbone.tcn{stage}", strided_or_widening=False)
    return keys


def _pyskl_config_model(graph_cfg=COCO, num_classes=60):
    # configs/msg3d/msg3d_pyskl_ntu60_xsub_hrnet/j.py
    return build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="MSG3D", graph_cfg=graph_cfg),
            cls_head=dict(type="GCNHead", num_classes=num_classes, in_channels=384),
        )
    )


def test_state_dict_keys_and_shapes_are_pyskls():
    state = _pyskl_config_model().state_dict()
    assert set(state) == pyskl_msg3d_keys()
    assert state["backbone.A"].shape == (17, 17)
    assert state["backbone.data_bn.weight"].shape == (2 * 17 * 3,)
    assert state["backbone.sgcn1.0.A"].shape == (13, 17, 17)
    assert state["backbone.sgcn1.0.mlp.layers.0.weight"].shape == (96, 13 * 3, 1, 1)
    assert state["backbone.sgcn2.0.mlp.layers.0.weight"].shape == (96, 13 * 96, 1, 1)
    first = "backbone.gcn3d1.gcn3d.1"  # window 5 of the input block: 3 -> 96 in the graph conv
    assert state[f"{first}.gcn3d.1.A"].shape == (6, 85, 85)
    assert state[f"{first}.gcn3d.1.mlp.layers.0.weight"].shape == (96, 6 * 3, 1, 1)
    assert state[f"{first}.out_conv.weight"].shape == (96, 96, 1, 5, 1)
    second = "backbone.gcn3d2.gcn3d.0"  # window 3: 96 -> 96, then 96 -> 192 at the collapse
    assert state[f"{second}.gcn3d.1.mlp.layers.0.weight"].shape == (96, 6 * 96, 1, 1)
    assert state[f"{second}.out_conv.weight"].shape == (192, 96, 1, 3, 1)
    assert state["backbone.sgcn2.1.residual.conv.weight"].shape == (192, 96, 1, 1)
    assert state["backbone.tcn3.branches.5.0.weight"].shape == (384 - 5 * 64, 384, 1, 1)


def test_parameter_count_matches_the_published_one():
    # MS-G3D paper (Liu et al., CVPR 2020), NTU RGB+D 60 (25 joints, 60 classes): 3.2M
    count = count_parameters(_pyskl_config_model(NTU))
    assert abs(count - 3.2e6) / 3.2e6 < 0.01, count


def _perturbed_small_model():
    torch.manual_seed(0)
    model = MSG3D(COCO, **SMALL)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, MSGCN):
                module.PA.normal_(0, 0.1)
    return model


def _run(model, x, impl):
    model.zero_grad()
    with use_graph_conv(impl):
        y = model(x)
    (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
    return y.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


def test_fused_and_reference_graph_conv_agree():
    """Training mode in float32: outputs within 1e-5 of their scale, gradients within 1e-5
    of the largest gradient; eval mode in float64: every tensor within 1e-10."""
    model = _perturbed_small_model().train()
    x = torch.randn(2, 2, 8, 17, 3)
    fused_y, fused_grads = _run(model, x, "auto")
    ref_y, ref_grads = _run(model, x, "reference")
    assert ((fused_y - ref_y).abs().max() / ref_y.abs().max()).item() <= 1e-5
    scale = max(g.abs().max() for g in ref_grads.values())
    for key, grad in ref_grads.items():
        assert ((fused_grads[key] - grad).abs().max() / scale).item() <= 1e-5, key

    model = model.double().eval()
    x = x.double()
    fused_y, fused_grads = _run(model, x, "auto")
    ref_y, ref_grads = _run(model, x, "reference")
    torch.testing.assert_close(fused_y, ref_y, rtol=1e-10, atol=1e-10)
    for key, grad in ref_grads.items():
        torch.testing.assert_close(fused_grads[key], grad, rtol=1e-10, atol=1e-10, msg=key)


def test_the_switch_reaches_every_graph_convolution(monkeypatch):
    seen = []
    real = gcn_module.graph_conv

    def recording_graph_conv(*args, impl):
        seen.append(impl)
        return real(*args, impl="reference")

    monkeypatch.setattr(gcn_module, "graph_conv", recording_graph_conv)
    with use_graph_conv("cpu"):
        MSG3D(COCO, **SMALL)(torch.randn(1, 2, 4, 17, 3))
    assert seen == ["cpu"] * 9  # 3 stages x (1 MSGCN + 2 windows of ST_MSGCN)


def test_one_sgd_step_on_a_fixed_batch_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type="MSG3D", graph_cfg=NTU, **SMALL),
            cls_head=dict(type="GCNHead", num_classes=4, in_channels=24),
        )
    )
    x, y = torch.randn(4, 2, 6, 25, 3), torch.arange(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = F.cross_entropy(model(x), y)
    opt.zero_grad()
    before.backward()
    opt.step()
    assert F.cross_entropy(model(x), y).item() < before.item()


def test_state_dict_round_trip(tmp_path):
    def build():
        return RecognizerGCN(MSG3D(COCO, **SMALL), GCNHead(3, 24)).eval()

    torch.manual_seed(0)
    model = build()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch.save(model.state_dict(), tmp_path / "msg3d.pth")
    torch.manual_seed(1)
    fresh = build()
    fresh.load_state_dict(torch.load(tmp_path / "msg3d.pth"), strict=True)
    x = torch.randn(2, 2, 8, 17, 3)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)

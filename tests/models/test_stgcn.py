"""The ST-GCN(++) backbone, GCN head and recognizer."""

import pytest
import torch
import torch.nn.functional as F

from skel_models import STGCN, GCNHead, RecognizerGCN, stgcnpp
from skel_models.registry import build_model
from skel_models.units import mstcn, unit_tcn

COCO = dict(layout="coco", mode="spatial")


def test_default_stgcn_output_shape_and_pyskl_names():
    net = STGCN(graph_cfg=COCO)
    x = torch.randn(1, 2, 16, 17, 3)
    assert net(x).shape == (1, 2, 256, 4, 17)
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


@pytest.mark.parametrize("variant", ["stgcn", "stgcn++"])
@pytest.mark.parametrize(
    ("graph_cfg", "joints"),
    [
        (dict(layout="coco", mode="stgcn_spatial"), 17),
        (dict(layout="nturgb+d", mode="spatial"), 25),
    ],
    ids=["coco-2d", "ntu-3d"],
)
def test_default_configs_give_pyskls_output_shapes(variant, graph_cfg, joints):
    net = STGCN(graph_cfg=graph_cfg) if variant == "stgcn" else stgcnpp(graph_cfg)
    x = torch.randn(1, 2, 8, joints, 3)  # 2D: (x, y, score); 3D: (x, y, z)
    assert net(x).shape == (1, 2, 256, 2, joints)
    assert net.out_channels == 256


def test_per_stage_tuples_set_options_stage_by_stage_and_stage_one_has_no_dropout():
    net = STGCN(
        graph_cfg=COCO,
        base_channels=8,
        num_stages=3,
        gcn_adaptive=("init", "importance", None),
        tcn_type=("unit_tcn", "mstcn", "unit_tcn"),
        tcn_dropout=0.5,
    )
    params, buffers = dict(net.named_parameters()), dict(net.named_buffers())
    assert "gcn.0.gcn.A" in params and "gcn.1.gcn.PA" in params and "gcn.2.gcn.A" in buffers
    assert isinstance(net.gcn[1].tcn, mstcn) and isinstance(net.gcn[2].tcn, unit_tcn)
    assert net.gcn[0].tcn.drop.p == 0 and net.gcn[1].tcn.drop.p == 0.5


def test_mstcn_default_branches_are_not_split_by_stage_count():
    # six stages and PYSKL's six default mstcn branches: the branches stay one shared list
    net = stgcnpp(COCO, base_channels=12, num_stages=6, inflate_stages=[3], down_stages=[3])
    assert all(len(block.tcn.branches) == 6 for block in net.gcn)


def test_no_input_block_when_input_and_base_channels_agree():
    net = STGCN(graph_cfg=COCO, in_channels=8, base_channels=8, num_stages=4)
    assert len(net.gcn) == 3 and net.gcn[0].residual_mode == "identity"
    assert net(torch.randn(1, 1, 6, 17, 8)).shape == (1, 1, 8, 6, 17)


def test_state_dict_round_trip_reproduces_the_outputs(tmp_path):
    torch.manual_seed(0)
    model = RecognizerGCN(stgcnpp(COCO, base_channels=12, num_stages=3), GCNHead(5, 12)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    torch.save(model.state_dict(), tmp_path / "model.pth")
    torch.manual_seed(1)
    fresh = RecognizerGCN(stgcnpp(COCO, base_channels=12, num_stages=3), GCNHead(5, 12)).eval()
    fresh.load_state_dict(torch.load(tmp_path / "model.pth"), strict=True)
    x = torch.randn(2, 2, 8, 17, 3)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_recognizer_averages_probabilities_by_default_as_pyskl_does():
    model = RecognizerGCN(STGCN(graph_cfg=COCO, base_channels=8, num_stages=2), GCNHead(3, 8))
    model.eval()
    x = torch.randn(2, 4, 2, 8, 17, 3)
    per_clip = torch.stack([model(x[:, s]) for s in range(4)], 1)
    torch.testing.assert_close(model(x), per_clip.softmax(-1).mean(1))


def test_head_names_a_channel_mismatch_and_takes_pooled_features():
    head = GCNHead(num_classes=4, in_channels=16)
    with pytest.raises(ValueError, match="in_channels=16 but the features have 8 channels"):
        head(torch.randn(2, 2, 8, 4, 17))
    pooled = torch.randn(3, 16)
    torch.testing.assert_close(head(pooled), head.fc_cls(pooled))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(tcn_type="tcn"), ValueError, "tcn_type must be one of"),
        (dict(gcn_type="unit_aagcn"), ValueError, "gcn_type must be 'unit_gcn'"),
        (dict(data_bn_type="NVC"), ValueError, "data_bn_type must be one of"),
        (dict(tcn_type="mstcn", tcn_norm=None), ValueError, "tcn_norm and tcn_dilation"),
        (dict(pretrained="x.pth"), TypeError, "pretrained"),
    ],
)
def test_bad_block_options_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        STGCN(graph_cfg=COCO, num_stages=2, **kwargs)


def test_input_of_the_wrong_rank_is_named():
    with pytest.raises(ValueError, match=r"\(N, M, T, V, C\), got \(2, 8, 17, 3\)"):
        STGCN(graph_cfg=COCO, num_stages=2)(torch.randn(2, 8, 17, 3))


@pytest.mark.shared_data
def test_real_pyskl_hrnet_keypoints_through_stgcnpp_on_both_paths(shared_data):
    """Two real clips of PYSKL's 2D HRNet format (COCO-17 keypoints + scores) through a small
    ST-GCN++: finite scores, and the fused and reference graph convolutions agree."""
    from skel_core.annotations import load_annotations
    from skel_models import use_graph_conv

    records = load_annotations(shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl").annotations
    clips = []
    for record in records[:2]:
        kp = torch.as_tensor(record["keypoint"][:, :16], dtype=torch.float32)  # M, T, V, 2
        score = torch.as_tensor(record["keypoint_score"][:, :16], dtype=torch.float32)
        clip = torch.cat([kp / 1000, score[..., None]], -1)[:1]  # first person, (1, T, V, 3)
        clips.append(clip)
    x = torch.stack(clips)
    torch.manual_seed(0)
    model = RecognizerGCN(stgcnpp(COCO, base_channels=16, num_stages=4), GCNHead(16, 16))
    model.train()
    fused = model(x)
    with use_graph_conv("reference"):
        reference = model(x)
    assert fused.shape == (2, 16) and torch.isfinite(fused).all()
    torch.testing.assert_close(fused, reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("conv_pos", ["pre", "post"])
def test_mixed_precision_autocast_runs_the_graph_convolution_in_low_precision(conv_pos):
    torch.manual_seed(0)
    model = stgcnpp(COCO, base_channels=8, num_stages=3, gcn_conv_pos=conv_pos).eval()
    x = torch.randn(2, 2, 8, 17, 3)
    full = model(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model(x)
    assert low.dtype == torch.bfloat16
    assert ((low.float() - full).abs().max() / full.abs().max()).item() < 3e-2

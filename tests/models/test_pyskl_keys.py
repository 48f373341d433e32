"""PYSKL and MMAction2 1.x checkpoints: the exact key sets, strict loading, the MMAction2 key
map, and the report of keys that do not match.

The expected key sets are written out here from PYSKL's module structure
(pyskl/models/gcns/{stgcn,aagcn}.py, utils/{gcn,tcn}.py, heads/simple_head.py), not from skel's
code: a checkpoint saved by PYSKL has exactly these names.
"""

import pytest
import torch

from skel_core.checkpoint import save_checkpoint
from skel_core.errors import CheckpointError, RegistryError
from skel_models import load_pretrained
from skel_models.checkpoint_report import main
from skel_models.registry import build_model

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
CONV = ("weight", "bias")
# The default 10 stages: stage 1 maps the input to 64 channels, 128 from stage 5, 256 from
# stage 8, stride 2 at stages 5 and 8.
CHANNELS = [64, 64, 64, 64, 128, 128, 128, 256, 256, 256]
STRIDED = {4, 7}  # 0-based block indices


def _keys(prefix, names):
    return {f"{prefix}.{name}" for name in names}


def _unit_tcn(prefix):
    return _keys(f"{prefix}.conv", CONV) | _keys(f"{prefix}.bn", BN)


def _mstcn(prefix):
    keys = set()
    for branch in range(4):  # (3, 1) (3, 2) (3, 3) (3, 4): 1x1 conv, BN, ReLU, unit_tcn w/o BN
        b = f"{prefix}.branches.{branch}"
        keys |= _keys(f"{b}.0", CONV) | _keys(f"{b}.1", BN) | _keys(f"{b}.3.conv", CONV)
    keys |= _keys(f"{prefix}.branches.4.0", CONV) | _keys(f"{prefix}.branches.4.1", BN)  # max
    keys |= _keys(f"{prefix}.branches.5", CONV)  # '1x1'
    keys |= _keys(f"{prefix}.transform.0", BN) | _keys(f"{prefix}.transform.2", CONV)
    return keys | _keys(f"{prefix}.bn", BN)


def _block_residual(prefix, i):
    if i in STRIDED or (i > 0 and CHANNELS[i] != CHANNELS[i - 1]):
        return _unit_tcn(f"{prefix}.residual")
    return set()  # none in block 0, identity elsewhere


def pyskl_stgcn_keys(adaptive="importance", with_res=False, mstcn=False, num_classes=60):
    keys = _keys("backbone.data_bn", BN) | _keys("cls_head.fc_cls", CONV)
    for i, out in enumerate(CHANNELS):
        block = f"backbone.gcn.{i}"
        keys |= {f"{block}.gcn.A"} | _keys(f"{block}.gcn.conv", CONV) | _keys(f"{block}.gcn.bn", BN)
        if adaptive in ("importance", "offset"):
            keys.add(f"{block}.gcn.PA")
        in_channels = 3 if i == 0 else CHANNELS[i - 1]
        if with_res and in_channels != out:
            keys |= _keys(f"{block}.gcn.down.0", CONV) | _keys(f"{block}.gcn.down.1", BN)
        keys |= _mstcn(f"{block}.tcn") if mstcn else _unit_tcn(f"{block}.tcn")
        keys |= _block_residual(block, i)
    return keys


def pyskl_aagcn_keys():
    keys = {"backbone.A"} | _keys("backbone.data_bn", BN) | _keys("cls_head.fc_cls", CONV)
    for i, out in enumerate(CHANNELS):
        unit = f"backbone.gcn.{i}.gcn"
        keys |= {f"{unit}.A", f"{unit}.alpha"} | _keys(f"{unit}.bn", BN)
        for k in range(3):
            for conv in ("conv_d", "conv_a", "conv_b"):
                keys |= _keys(f"{unit}.{conv}.{k}", CONV)
        for attention in ("conv_ta", "conv_sa", "fc1c", "fc2c"):
            keys |= _keys(f"{unit}.{attention}", CONV)
        if (3 if i == 0 else CHANNELS[i - 1]) != out:
            keys |= _keys(f"{unit}.down.0", CONV) | _keys(f"{unit}.down.1", BN)
        keys |= _unit_tcn(f"backbone.gcn.{i}.tcn") | _block_residual(f"backbone.gcn.{i}", i)
    return keys


def _recognizer(backbone_type, **backbone):
    graph_cfg = backbone.pop("graph_cfg", dict(layout="coco", mode="spatial"))
    return build_model(
        dict(
            type="RecognizerGCN",
            backbone=dict(type=backbone_type, graph_cfg=graph_cfg, **backbone),
            cls_head=dict(type="GCNHead", num_classes=60, in_channels=256),
        )
    )


CASES = {
    # configs/stgcn/stgcn_pyskl_*: graph_cfg=dict(layout='coco', mode='stgcn_spatial')
    "stgcn": (
        lambda: _recognizer("STGCN", graph_cfg=dict(layout="coco", mode="stgcn_spatial")),
        pyskl_stgcn_keys,
    ),
    # configs/stgcn++/*: gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn'
    "stgcn++": (
        lambda: _recognizer("STGCN", gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn"),
        lambda: pyskl_stgcn_keys(adaptive="init", with_res=True, mstcn=True),
    ),
    "stgcn-offset": (
        lambda: _recognizer("STGCN", gcn_adaptive="offset"),
        lambda: pyskl_stgcn_keys(adaptive="offset"),
    ),
    "aagcn": (lambda: _recognizer("AAGCN"), pyskl_aagcn_keys),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_keys_are_exactly_pyskls(name):
    build, expected = CASES[name]
    assert set(build().state_dict()) == expected()


def test_shapes_of_representative_pyskl_tensors():
    stgcnpp = CASES["stgcn++"][0]().state_dict()
    assert stgcnpp["backbone.data_bn.weight"].shape == (3 * 17,)  # 'VC'
    assert stgcnpp["backbone.gcn.0.gcn.A"].shape == (3, 17, 17)
    assert stgcnpp["backbone.gcn.0.gcn.conv.weight"].shape == (3 * 64, 3, 1, 1)
    assert stgcnpp["backbone.gcn.4.gcn.down.0.weight"].shape == (128, 64, 1, 1)
    # mstcn of 128 channels: 6 branches of 21 channels, the first one 128 - 5 * 21 = 23
    assert stgcnpp["backbone.gcn.4.tcn.branches.0.0.weight"].shape == (23, 128, 1, 1)
    assert stgcnpp["backbone.gcn.4.tcn.branches.1.3.conv.weight"].shape == (21, 21, 3, 1)
    assert stgcnpp["backbone.gcn.4.tcn.transform.2.weight"].shape == (128, 128, 1, 1)
    assert stgcnpp["backbone.gcn.4.residual.conv.weight"].shape == (128, 64, 1, 1)
    assert stgcnpp["cls_head.fc_cls.weight"].shape == (60, 256)
    stgcn = CASES["stgcn"][0]().state_dict()
    assert stgcn["backbone.gcn.9.tcn.conv.weight"].shape == (256, 256, 9, 1)
    assert stgcn["backbone.gcn.3.gcn.PA"].shape == (3, 17, 17)
    aagcn = CASES["aagcn"][0]().state_dict()
    assert aagcn["backbone.data_bn.weight"].shape == (2 * 3 * 17,)  # 'MVC'
    assert aagcn["backbone.gcn.1.gcn.conv_a.0.weight"].shape == (16, 64, 1, 1)
    assert aagcn["backbone.gcn.1.gcn.conv_sa.weight"].shape == (1, 64, 17)
    assert aagcn["backbone.gcn.1.gcn.fc1c.weight"].shape == (32, 64)


def _pyskl_checkpoint(model, seed=0):
    """A checkpoint as PYSKL's runner saves it: {'meta': ..., 'state_dict': ...}, with values
    unlike any fresh model's."""
    gen = torch.Generator().manual_seed(seed)
    state = {
        k: (torch.randn(v.shape, generator=gen) if v.is_floating_point() else v + 7)
        for k, v in model.state_dict().items()
    }
    meta = {"epoch": 16, "config": "model = dict(type='RecognizerGCN')"}
    return {"meta": meta, "state_dict": state}


def test_a_pyskl_checkpoint_loads_strictly_from_disk(tmp_path):
    build, _ = CASES["stgcn++"]
    ckpt = _pyskl_checkpoint(build())
    path = save_checkpoint(ckpt, tmp_path / "stgcnpp_j.pth")
    model = build()
    report = load_pretrained(model, path)
    assert report.ok
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, ckpt["state_dict"][key], rtol=0, atol=0, msg=key)


def test_mmaction2_names_load_through_the_key_map():
    build, _ = CASES["stgcn"]
    state = _pyskl_checkpoint(build())["state_dict"]
    mmaction = {k.replace("cls_head.fc_cls.", "cls_head.fc."): v for k, v in state.items()}
    assert "cls_head.fc.weight" in mmaction and "cls_head.fc_cls.weight" not in mmaction
    model = build()
    assert load_pretrained(model, {"state_dict": mmaction, "meta": {}}).ok
    torch.testing.assert_close(model.cls_head.fc_cls.weight, state["cls_head.fc_cls.weight"])
    # without the map the classifier does not fit, and strict loading says which keys
    with pytest.raises(CheckpointError, match=r"(?s)missing.*cls_head\.fc_cls\.weight.*"
                       r"unexpected.*cls_head\.fc\.weight"):
        load_pretrained(build(), mmaction, key_map=None)


def test_the_report_tool_lists_every_key_that_does_not_match(tmp_path, capsys):
    config = tmp_path / "stgcn.py"
    config.write_text(
        "model = dict(type='RecognizerGCN',\n"
        "             backbone=dict(type='STGCN', graph_cfg=dict(layout='coco', mode='spatial')),\n"
        "             cls_head=dict(type='GCNHead', num_classes=60, in_channels=256))\n"
    )
    state = _pyskl_checkpoint(CASES["stgcn"][0]())["state_dict"]
    del state["backbone.gcn.3.gcn.PA"]
    state["backbone.gcn.3.gcn.PB"] = torch.ones(3, 17, 17)
    state["cls_head.fc_cls.weight"] = torch.zeros(120, 256)  # a 120-class checkpoint
    good = save_checkpoint({"state_dict": _pyskl_checkpoint(CASES["stgcn"][0]())["state_dict"]},
                           tmp_path / "good.pth")
    bad = save_checkpoint({"state_dict": state}, tmp_path / "bad.pth")

    assert main([str(config), str(good)]) == 0
    assert "state dict matches the model" in capsys.readouterr().out
    assert main([str(config), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "missing keys (in the model, not the checkpoint): 1\n  backbone.gcn.3.gcn.PA" in out
    assert "unexpected keys (in the checkpoint, not the model): 1\n  backbone.gcn.3.gcn.PB" in out
    assert "cls_head.fc_cls.weight: (120, 256) vs (60, 256)" in out


def test_an_unknown_key_map_is_named():
    with pytest.raises(RegistryError, match="no key map named 'mmaction3'"):
        load_pretrained(CASES["stgcn"][0](), {"state_dict": {}}, key_map="mmaction3")

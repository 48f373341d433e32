"""Tests of skel_core.config: real config files written to tmp_path and read back."""

from __future__ import annotations

import argparse
import copy
import math
import pickle
import textwrap
from pathlib import Path

import pytest

from skel_core.cfg_options import DictAction, parse_cfg_options
from skel_core.config import Config, ConfigDict
from skel_core.errors import ConfigError, ConfigKeyError

# A faithful transcription of configs/stgcn++/stgcn++_ntu60_xsub_hrnet/j.py from PYSKL
# (kennymckormick/pyskl), comments included.
PYSKL_STGCNPP_J = """\
model = dict(
    type='RecognizerGCN',
    backbone=dict(
        type='STGCN',
        gcn_adaptive='init',
        gcn_with_res=True,
        tcn_type='mstcn',
        graph_cfg=dict(layout='coco', mode='spatial')),
    cls_head=dict(type='GCNHead', num_classes=60, in_channels=256))

dataset_type = 'PoseDataset'
ann_file = 'data/nturgbd/ntu60_hrnet.pkl'
train_pipeline = [
    dict(type='PreNormalize2D'),
    dict(type='GenSkeFeat', dataset='coco', feats=['j']),
    dict(type='UniformSample', clip_len=100),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', num_person=2),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint'])
]
val_pipeline = [
    dict(type='PreNormalize2D'),
    dict(type='GenSkeFeat', dataset='coco', feats=['j']),
    dict(type='UniformSample', clip_len=100, num_clips=1),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', num_person=2),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint'])
]
test_pipeline = [
    dict(type='PreNormalize2D'),
    dict(type='GenSkeFeat', dataset='coco', feats=['j']),
    dict(type='UniformSample', clip_len=100, num_clips=10),
    dict(type='PoseDecode'),
    dict(type='FormatGCNInput', num_person=2),
    dict(type='Collect', keys=['keypoint', 'label'], meta_keys=[]),
    dict(type='ToTensor', keys=['keypoint'])
]
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=2,
    test_dataloader=dict(videos_per_gpu=1),
    train=dict(
        type='RepeatDataset',
        times=5,
        dataset=dict(type=dataset_type, ann_file=ann_file, pipeline=train_pipeline, split='xsub_train')),
    val=dict(type=dataset_type, ann_file=ann_file, pipeline=val_pipeline, split='xsub_val'),
    test=dict(type=dataset_type, ann_file=ann_file, pipeline=test_pipeline, split='xsub_val'))

# optimizer
optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0005, nesterov=True)
optimizer_config = dict(grad_clip=None)
# learning policy
lr_config = dict(policy='CosineAnnealing', min_lr=0, by_epoch=False)
total_epochs = 16
checkpoint_config = dict(interval=1)
evaluation = dict(interval=1, metrics=['top_k_accuracy'])
log_config = dict(interval=100, hooks=[dict(type='TextLoggerHook')])

# runtime settings
log_level = 'INFO'
work_dir = './work_dirs/stgcn++/stgcn++_ntu60_xsub_hrnet/j'
"""  # noqa: E501

PYSKL_TOP_LEVEL_KEYS = [
    "model", "dataset_type", "ann_file", "train_pipeline", "val_pipeline", "test_pipeline",
    "data", "optimizer", "optimizer_config", "lr_config", "total_epochs", "checkpoint_config",
    "evaluation", "log_config", "log_level", "work_dir",
]  # fmt: skip


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def assert_plain(value):
    """No ConfigDict anywhere in a to_dict() result."""
    assert type(value) in (dict, list, tuple) or not isinstance(value, (dict, list, tuple))
    if isinstance(value, dict):
        for item in value.values():
            assert_plain(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            assert_plain(item)


@pytest.fixture
def pyskl_cfg(tmp_path):
    return Config.fromfile(write(tmp_path, "stgcn++_ntu60_xsub_hrnet/j.py", PYSKL_STGCNPP_J))


def test_pyskl_stgcnpp_config_loads(pyskl_cfg, tmp_path):
    cfg = pyskl_cfg
    assert list(cfg) == PYSKL_TOP_LEVEL_KEYS
    assert cfg.filename == str(tmp_path / "stgcn++_ntu60_xsub_hrnet/j.py")
    backbone = cfg.model.backbone
    assert (backbone.type, backbone.gcn_adaptive, backbone.gcn_with_res, backbone.tcn_type) == (
        "STGCN", "init", True, "mstcn"
    )  # fmt: skip
    assert backbone.graph_cfg == {"layout": "coco", "mode": "spatial"}
    assert cfg.model.cls_head.num_classes == 60 and cfg.model.cls_head.in_channels == 256
    assert cfg["data"]["train"]["type"] == "RepeatDataset" and cfg.data.train.times == 5
    train_set = cfg.data.train.dataset
    assert (train_set.type, train_set.split) == ("PoseDataset", "xsub_train")
    assert train_set.ann_file == "data/nturgbd/ntu60_hrnet.pkl"
    assert train_set.pipeline == cfg.train_pipeline
    assert [step.type for step in train_set.pipeline] == [
        "PreNormalize2D", "GenSkeFeat", "UniformSample", "PoseDecode", "FormatGCNInput",
        "Collect", "ToTensor",
    ]  # fmt: skip
    assert train_set.pipeline[1].feats == ["j"]
    assert train_set.pipeline[5]["keys"] == ["keypoint", "label"]  # 'keys' is a dict method
    assert cfg.data.val.pipeline[2].num_clips == 1
    assert cfg.data.test.pipeline[2].num_clips == 10 and cfg.data.test.split == "xsub_val"
    assert cfg.data.test_dataloader.videos_per_gpu == 1 and cfg.data.videos_per_gpu == 16
    assert cfg.optimizer == dict(
        type="SGD", lr=0.1, momentum=0.9, weight_decay=0.0005, nesterov=True
    )
    assert cfg.optimizer_config.grad_clip is None
    assert cfg.lr_config.policy == "CosineAnnealing" and cfg.lr_config.by_epoch is False
    assert cfg.total_epochs == 16 and cfg.evaluation.metrics == ["top_k_accuracy"]
    assert cfg.log_config.hooks[0].type == "TextLoggerHook"
    assert cfg.work_dir == "./work_dirs/stgcn++/stgcn++_ntu60_xsub_hrnet/j"
    assert isinstance(cfg.data.train.dataset.pipeline[0], ConfigDict)


def test_pyskl_config_dump_round_trip(pyskl_cfg, tmp_path):
    out = tmp_path / "dumped.py"
    text = pyskl_cfg.dump(out)
    assert out.read_text() == text
    assert max(len(line) for line in text.splitlines()) <= 100
    again = Config.fromfile(out)
    assert again == pyskl_cfg
    assert list(again) == list(pyskl_cfg)


def test_nested_values_are_config_dicts_and_to_dict_is_plain(pyskl_cfg):
    assert isinstance(pyskl_cfg.model, ConfigDict)
    assert isinstance(pyskl_cfg.model, dict)
    plain = pyskl_cfg.to_dict()
    assert type(plain) is dict and type(plain["model"]["backbone"]) is dict
    assert_plain(plain)
    assert plain == pyskl_cfg


def test_fromfile_keeps_only_public_values(tmp_path):
    path = write(
        tmp_path,
        "cfg.py",
        """\
        import math
        from os import path as osp
        from math import sqrt
        from collections import OrderedDict

        _hidden = 3
        def helper(x):
            return x * 2
        class Thing:
            pass
        channels = helper(_hidden)
        side = sqrt(16)
        here = osp.basename(__file__)
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {"channels": 6, "side": 4.0, "here": "cfg.py"}


def test_base_and_child_override_merges_key_by_key(tmp_path):
    write(
        tmp_path,
        "base.py",
        """\
        model = dict(type='RecognizerGCN',
                     backbone=dict(type='STGCN', in_channels=3, graph_cfg=dict(layout='coco')),
                     cls_head=dict(type='GCNHead', num_classes=60))
        pipeline = [dict(type='A'), dict(type='B')]
        total_epochs = 16
        """,
    )
    child = write(
        tmp_path,
        "child.py",
        """\
        _base_ = 'base.py'
        model = dict(backbone=dict(in_channels=2, graph_cfg=dict(mode='spatial')),
                     cls_head=dict(num_classes=120))
        pipeline = [dict(type='C')]
        work_dir = 'out'
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.model.to_dict() == {
        "type": "RecognizerGCN",
        "backbone": {
            "type": "STGCN",
            "in_channels": 2,
            "graph_cfg": {"layout": "coco", "mode": "spatial"},
        },
        "cls_head": {"type": "GCNHead", "num_classes": 120},
    }
    assert cfg.pipeline == [{"type": "C"}]  # lists replace, they do not merge
    assert cfg.total_epochs == 16
    assert list(cfg) == ["model", "pipeline", "total_epochs", "work_dir"]
    assert "_base_" not in cfg


def test_delete_replaces_the_base_dict(tmp_path):
    write(
        tmp_path,
        "base.py",
        """\
        optimizer = dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True)
        model = dict(backbone=dict(type='STGCN', gcn_adaptive='init'))
        """,
    )
    child = write(
        tmp_path,
        "child.py",
        """\
        _base_ = ['base.py']
        optimizer = dict(_delete_=True, type='AdamW', lr=0.001)
        model = dict(backbone=dict(_delete_=True, type='CTRGCN', extra=dict(_delete_=True, a=1)))
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.optimizer.to_dict() == {"type": "AdamW", "lr": 0.001}
    assert cfg.model.to_dict() == {"backbone": {"type": "CTRGCN", "extra": {"a": 1}}}


def test_multiple_bases_combine(tmp_path):
    write(tmp_path, "model.py", "model = dict(type='RecognizerGCN', backbone=dict(type='STGCN'))\n")
    write(tmp_path, "schedule.py", "optimizer = dict(type='SGD', lr=0.1)\ntotal_epochs = 16\n")
    child = write(
        tmp_path,
        "child.py",
        """\
        _base_ = ['model.py', 'schedule.py']
        optimizer = dict(lr=0.05)
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.to_dict() == {
        "model": {"type": "RecognizerGCN", "backbone": {"type": "STGCN"}},
        "optimizer": {"type": "SGD", "lr": 0.05},
        "total_epochs": 16,
    }


def test_duplicate_key_in_two_bases_names_both_files(tmp_path):
    write(tmp_path, "a.py", "model = dict(type='A')\nx = 1\n")
    write(tmp_path, "b.py", "model = dict(type='B')\n")
    child = write(tmp_path, "child.py", "_base_ = ['a.py', 'b.py']\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "'model'" in message
    assert str(tmp_path / "a.py") in message and str(tmp_path / "b.py") in message


def test_nested_base_chain_resolves_paths_relative_to_each_file(tmp_path):
    write(tmp_path, "_base_/models/stgcn.py", "model = dict(type='STGCN', channels=64, depth=10)\n")
    write(
        tmp_path,
        "_base_/stgcn_ntu.py",
        "_base_ = 'models/stgcn.py'\nmodel = dict(depth=8)\ndataset = 'ntu'\n",
    )
    child = write(
        tmp_path,
        "configs/run.py",
        "_base_ = '../_base_/stgcn_ntu.py'\nmodel = dict(channels=32)\n",
    )
    cfg = Config.fromfile(child)
    assert cfg.to_dict() == {
        "model": {"type": "STGCN", "channels": 32, "depth": 8},
        "dataset": "ntu",
    }


def test_missing_and_circular_bases_are_reported(tmp_path):
    child = write(tmp_path, "child.py", "_base_ = 'nowhere/base.py'\n")
    with pytest.raises(ConfigError, match=r"base config 'nowhere/base.py' not found") as info:
        Config.fromfile(child)
    assert str(child) in str(info.value)

    write(tmp_path, "a.py", "_base_ = 'b.py'\n")
    b = write(tmp_path, "b.py", "_base_ = 'a.py'\n")
    with pytest.raises(ConfigError, match="circular _base_"):
        Config.fromfile(b)

    bad = write(tmp_path, "bad.py", "_base_ = 3\n")
    with pytest.raises(ConfigError, match="_base_ must be a file name"):
        Config.fromfile(bad)

    with pytest.raises(ConfigError, match="does not exist"):
        Config.fromfile(tmp_path / "absent.py")
    with pytest.raises(ConfigError, match=r"only Python \(\.py\)"):
        Config.fromfile(write(tmp_path, "cfg.yaml", "a: 1\n"))


def test_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "broken.py", "a = 1\nb = dict(x=1,\nc = 3 +\n")
    with pytest.raises(ConfigError) as info:
        Config.fromfile(path)
    assert str(path) in str(info.value)
    assert str(info.value).startswith(f"{path}, line 2: invalid config syntax")


def test_syntax_error_in_a_base_names_the_base(tmp_path):
    base = write(tmp_path, "base.py", "x = 1\ny = = 2\n")
    child = write(tmp_path, "child.py", "_base_ = 'base.py'\n")
    with pytest.raises(ConfigError, match=rf"{base}, line 2: invalid config syntax"):
        Config.fromfile(child)


def test_runtime_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "cfg.py", "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(ConfigError, match=r"cfg.py, line 2: NameError .*undefined_name"):
        Config.fromfile(path)


def test_missing_key_names_dotted_path_and_close_matches(pyskl_cfg):
    with pytest.raises(AttributeError) as info:
        _ = pyskl_cfg.model.backbone.graph_cfg.layot
    error = info.value
    assert isinstance(error, ConfigKeyError) and isinstance(error, KeyError)
    assert "'model.backbone.graph_cfg.layot'" in str(error)
    assert "did you mean 'layout'?" in str(error)

    with pytest.raises(KeyError, match=r"'data\.train\.dataset\.pipeline\.3\.tipe'.*'type'"):
        _ = pyskl_cfg["data"]["train"]["dataset"]["pipeline"][3]["tipe"]
    with pytest.raises(ConfigKeyError, match=r"no key 'modle'; did you mean 'model'"):
        _ = pyskl_cfg.modle
    with pytest.raises(ConfigKeyError, match="no key 'model.neck'"):
        del pyskl_cfg.model.neck
    assert not hasattr(pyskl_cfg.model, "neck")
    assert pyskl_cfg.get("neck", 7) == 7 and pyskl_cfg.model.get("neck") is None


def test_dict_protocol(pyskl_cfg):
    cfg = pyskl_cfg
    assert "model" in cfg and "neck" not in cfg.model
    assert len(cfg) == len(PYSKL_TOP_LEVEL_KEYS)
    assert list(cfg.keys()) == PYSKL_TOP_LEVEL_KEYS
    cfg.model.neck = dict(type="Neck", layers=[dict(a=1)])
    assert cfg.model.neck.layers[0].a == 1
    with pytest.raises(ConfigKeyError, match=r"'model\.neck\.layers\.0\.b'"):
        _ = cfg.model.neck.layers[0].b
    cfg["seed"] = 3
    assert cfg.seed == 3
    del cfg.seed
    assert "seed" not in cfg
    cfg.model.update(extra=dict(x=1))
    assert isinstance(cfg.model.extra, ConfigDict)


def test_moved_values_report_their_new_path():
    cfg = Config(dict(a=dict(b=dict(c=1)), lst=[dict(d=2)]))
    cfg.z = cfg.a.b
    with pytest.raises(ConfigKeyError, match=r"no key 'z\.x'"):
        _ = cfg.z.x


def test_copy_deepcopy_pickle_and_equality(pyskl_cfg):
    deep = copy.deepcopy(pyskl_cfg)
    assert deep == pyskl_cfg and deep.filename == pyskl_cfg.filename
    deep.model.backbone.graph_cfg.layout = "nturgb+d"
    deep.train_pipeline[0].type = "Changed"
    assert pyskl_cfg.model.backbone.graph_cfg.layout == "coco"
    assert pyskl_cfg.train_pipeline[0].type == "PreNormalize2D"
    assert deep != pyskl_cfg

    shallow = pyskl_cfg.copy()
    shallow.total_epochs = 1
    assert pyskl_cfg.total_epochs == 16
    assert shallow.model is not None and shallow.model is pyskl_cfg.model

    loaded = pickle.loads(pickle.dumps(pyskl_cfg))
    assert loaded == pyskl_cfg and isinstance(loaded.model.backbone, ConfigDict)
    with pytest.raises(ConfigKeyError, match="'model.backbone.nope'"):
        _ = loaded.model.backbone.nope

    nested_copy = copy.deepcopy(pyskl_cfg.model)
    assert isinstance(nested_copy, ConfigDict) and nested_copy == pyskl_cfg.model
    assert nested_copy.backbone is not pyskl_cfg.model.backbone


def test_config_from_dict_and_string_do_not_alias_the_input(tmp_path, monkeypatch):
    source = {"model": {"type": "STGCN", "layers": [{"c": 1}]}, "t": (1, {"k": 2})}
    cfg = Config(source)
    assert cfg.filename is None
    assert isinstance(cfg.t[1], ConfigDict) and cfg.t[1].k == 2
    cfg.model.layers[0].c = 5
    assert source["model"]["layers"][0]["c"] == 1
    assert Config(source) == source

    write(tmp_path, "base.py", "a = dict(x=1, y=2)\n")
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromstring("_base_ = 'base.py'\na = dict(y=3)\nb = [1, 2]\n")
    assert cfg.to_dict() == {"a": {"x": 1, "y": 3}, "b": [1, 2]}
    with pytest.raises(ConfigError, match="<string>, line 1"):
        Config.fromstring("a = (\n")
    with pytest.raises(ConfigError, match="suffix"):
        Config.fromstring("a: 1", suffix=".yaml")
    with pytest.raises(ConfigError, match="must be strings"):
        Config({1: "a"})


def test_merge_from_dict_with_dotted_keys_and_list_indices(pyskl_cfg):
    cfg = pyskl_cfg
    cfg.merge_from_dict(
        {
            "model.backbone.in_channels": 2,
            "data.train.dataset.pipeline.2.clip_len": 64,
            "data.train.dataset.pipeline.-1.keys": ["x"],
            "model.neck.type": "New",  # dict keys on the way are created
            "optimizer": dict(lr=0.2),  # a dict merges key by key
            "lr_config": dict(_delete_=True, policy="Step", step=[10]),
        }
    )
    assert cfg.model.backbone.in_channels == 2 and cfg.model.backbone.type == "STGCN"
    assert cfg.data.train.dataset.pipeline[2].to_dict() == {
        "type": "UniformSample",
        "clip_len": 64,
    }
    assert cfg.data.train.dataset.pipeline[6]["keys"] == ["x"]
    assert cfg.model.neck.to_dict() == {"type": "New"}
    assert cfg.optimizer.lr == 0.2 and cfg.optimizer.nesterov is True
    assert cfg.lr_config.to_dict() == {"policy": "Step", "step": [10]}
    assert cfg.train_pipeline[2].clip_len == 100  # a separate copy of the list

    cfg.merge_from_dict({"data.val.pipeline.0": dict(type="Replaced", a=1)})
    assert cfg.data.val.pipeline[0].to_dict() == {"type": "Replaced", "a": 1}
    with pytest.raises(ConfigKeyError, match=r"'data\.val\.pipeline\.0\.zz'"):
        _ = cfg.data.val.pipeline[0].zz


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("data.train.dataset.pipeline.7.type", r"index 7 is out of range .* \(7 items\)"),
        ("data.train.dataset.pipeline.first.type", "must be an integer index"),
        ("total_epochs.value", r"'total_epochs' holds int value 16"),
        ("model..type", "empty component"),
    ],
)
def test_merge_from_dict_rejects_bad_paths(pyskl_cfg, key, message):
    before = copy.deepcopy(pyskl_cfg)
    with pytest.raises(ConfigError, match=message) as info:
        pyskl_cfg.merge_from_dict({key: 1})
    assert key in str(info.value)
    assert pyskl_cfg == before


def test_merge_into_a_tuple_is_an_error():
    cfg = Config(dict(scale=(1, 2)))
    with pytest.raises(ConfigError, match="'scale' is a tuple"):
        cfg.merge_from_dict({"scale.0": 3})


EVERY_KIND = [
    "a.b=1",
    "c=[1,2]",
    "d=(1,2)",
    "e=abc",
    "f=True",
    "g=None",
    "h=0.5",
    "i=[(a,b),(c,d)]",
    "j='quoted'",
    "k=false",
    "l=1,2,x",
    "m=[]",
    "n=(7,)",
    'o="a,b"',
    "p=[1, [2, (3, 4.5)], 'x y']",
    "q=-3",
    "r=1e-4",
    "s=it's",
]
EVERY_KIND_PARSED = {
    "a.b": 1,
    "c": [1, 2],
    "d": (1, 2),
    "e": "abc",
    "f": True,
    "g": None,
    "h": 0.5,
    "i": [("a", "b"), ("c", "d")],
    "j": "quoted",
    "k": False,
    "l": [1, 2, "x"],
    "m": [],
    "n": (7,),
    "o": "a,b",
    "p": [1, [2, (3, 4.5)], "x y"],
    "q": -3,
    "r": 1e-4,
    "s": "it's",
}


def test_parse_cfg_options_every_value_kind():
    parsed = parse_cfg_options(EVERY_KIND)
    assert parsed == EVERY_KIND_PARSED
    # == does not tell 1 from True or 1 from 1.0; the types must match too.
    assert [type(v) for v in parsed.values()] == [type(v) for v in EVERY_KIND_PARSED.values()]
    assert type(parsed["i"][0]) is tuple and type(parsed["p"][1][1]) is tuple


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("novalue", "not of the form KEY=VALUE"),
        ("=3", "not of the form KEY=VALUE"),
        ("a=[1,2", r"missing '\]'"),
        ("a=(1,2]", r"unbalanced '\]'"),
        ("a='open", "missing closing '"),
    ],
)
def test_parse_cfg_options_rejects_malformed_options(option, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_cfg_options([option])
    assert option in str(info.value)


def test_dict_action_with_argparse():
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(["--cfg-options", *EVERY_KIND[:9], "--cfg-options", *EVERY_KIND[9:]])
    assert args.cfg_options == EVERY_KIND_PARSED
    assert parser.parse_args([]).cfg_options is None
    with pytest.raises(argparse.ArgumentError, match="not of the form KEY=VALUE"):
        parser.parse_args(["--cfg-options", "oops"])

    cfg = Config(dict(a=dict(b=0, keep=True), f=False))
    cfg.merge_from_dict(parser.parse_args(["--cfg-options", "a.b=1", "f=True"]).cfg_options)
    assert cfg.to_dict() == {"a": {"b": 1, "keep": True}, "f": True}


def test_dump_round_trip_of_awkward_values(tmp_path):
    cfg = Config(
        {
            "ints": [0, -1, 2**70],
            "floats": [0.1, -0.0, 1e-300, math.inf, -math.inf],
            "flags": (True, False, None),
            "single": (5,),
            "empty": {"d": {}, "l": [], "t": ()},
            "text": ["it's", 'say "hi"', "back\\slash", "new\nline", "ünï"],
            "raw": b"\x00bytes",
            "mapping": {"a-b": 1, 2: "two", "class": 3, (1, 2): [dict(x=1)]},
            "long": [dict(type=f"Step{i}", value=list(range(i))) for i in range(12)],
            "deep": dict(a=dict(b=dict(c=dict(d=dict(e=["x" * 60, "y" * 60]))))),
        }
    )
    out = tmp_path / "dump.py"
    text = cfg.dump(out)
    assert max(len(line) for line in text.splitlines()) <= 100
    again = Config.fromfile(out)
    assert again == cfg
    assert type(again.single) is tuple and type(again.flags) is tuple
    assert type(again.mapping[(1, 2)][0]) is ConfigDict


def test_dump_refuses_values_without_a_literal_form(tmp_path):
    cfg = Config(dict(model=dict(backbone=dict(act=print, layers=[1, object()]))))
    with pytest.raises(ConfigError, match=r"'model\.backbone\.act'.*builtin_function_or_method"):
        cfg.dump(tmp_path / "x.py")
    del cfg.model.backbone.act
    with pytest.raises(ConfigError, match=r"'model\.backbone\.layers\.1'"):
        cfg.dump()
    assert not (tmp_path / "x.py").exists()
    assert "object object at" in cfg.pretty_text  # printing still works
    with pytest.raises(ConfigError, match="'_private'"):
        Config({"_private": 1}).dump()


def test_pretty_text_reads_back(pyskl_cfg):
    text = pyskl_cfg.pretty_text
    assert text.startswith("model = dict(\n    type='RecognizerGCN',\n")
    assert Config.fromstring(text) == pyskl_cfg

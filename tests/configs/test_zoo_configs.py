"""The config zoo under configs/: every file loads, its model and pipelines build, models and
data agree (layout, classes, feature stream, persons), one leaf per model runs a forward pass,
ST-GCN and ST-GCN++ have their published sizes, and the real-data configs run end to end on
clips converted by the skel-convert command their header documents."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from skel_core.config import Config
from skel_core.layouts import get_layout
from skel_data.converters.cli import main as convert_main
from skel_data.registry import DATASETS
from skel_data.transforms import Compose
from skel_models.params import count_parameters
from skel_models.registry import build_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ALL_FILES = sorted(CONFIGS.rglob("*.py"))
# The GCN leaves; PoseC3D's heatmap leaves are checked in tests/models/test_posec3d.py.
LEAVES = [path for path in ALL_FILES
          if not {"_base_", "demo", "posec3d"} & set(path.relative_to(CONFIGS).parts)]
STREAM_SUFFIX = re.compile(r"_(b|jm|bm)\.py$")  # a dataset base of a non-joint feature stream
STREAM_BASES = [path for path in sorted((CONFIGS / "_base_" / "datasets").glob("*.py"))
                if STREAM_SUFFIX.search(path.name)]
SPLITS = ("train", "val", "test")
CHANNELS = 3  # x, y, score in 2D; x, y, z in 3D
FORWARD_LEAVES = (
    "stgcn/stgcn_pyskl_ntu60_xsub_hrnet/j.py",
    "stgcn++/stgcn++_ntu60_xsub_3dkp/b.py",
    "aagcn/aagcn_pyskl_ntu120_xsub_hrnet/jm.py",
    "ctrgcn/ctrgcn_pyskl_ntu60_xsub_3dkp/bm.py",
    "msg3d/msg3d_pyskl_ntu60_xsub_hrnet/j.py",
    "dgstgcn/ntu60_xsub_3dkp/j.py",
)


def _name(path: Path) -> str:
    return path.relative_to(CONFIGS).as_posix()


_BUILT: dict[str, nn.Module] = {}


def model_of(cfg: Config) -> nn.Module:
    """The config's model, in eval mode, built once per distinct model config (the zoo repeats
    each about a dozen times)."""
    key = json.dumps(cfg.model.to_dict(), sort_keys=True)
    if key not in _BUILT:
        _BUILT[key] = build_model(cfg.model).eval()
    return _BUILT[key]


def split_datasets(cfg: Config) -> Iterator[tuple[str, Mapping]]:
    """``(split, dataset cfg)`` of each split, looking inside a RepeatDataset."""
    for split in SPLITS:
        if split in cfg.get("data", {}):
            dataset = cfg.data[split]
            yield split, dataset.dataset if dataset.type == "RepeatDataset" else dataset


def step(pipeline: list, type_name: str) -> Mapping:
    (found,) = [item for item in pipeline if item["type"] == type_name]
    return found


@pytest.mark.parametrize("path", ALL_FILES, ids=_name)
def test_config_loads_and_its_model_and_pipelines_build(path):
    cfg = Config.fromfile(path)
    if "model" in cfg:
        model = model_of(cfg)
        assert model.cls_head.fc_cls.out_features == cfg.model.cls_head.num_classes
    pipelines = [cfg[key] for key in ("train_pipeline", "val_pipeline", "test_pipeline")
                 if key in cfg]
    pipelines += [dataset["pipeline"] for _, dataset in split_datasets(cfg)]
    for pipeline in pipelines:
        composed = Compose(pipeline)
        assert [type(t).__name__ for t in composed.transforms] == [
            item["type"] for item in pipeline
        ]
    if "model" not in cfg and not pipelines:  # the schedules: nothing to build, but all there
        assert {"optimizer", "lr_config", "total_epochs"} <= set(cfg)


@pytest.mark.parametrize("path", LEAVES, ids=_name)
def test_leaf_model_matches_its_data_and_file_name(path):
    cfg = Config.fromfile(path)
    model = model_of(cfg)
    stream = path.stem
    assert cfg.work_dir == f"./work_dirs/{_name(path).removesuffix('.py')}"
    datasets = dict(split_datasets(cfg))
    assert set(datasets) == set(SPLITS)
    for split, dataset in datasets.items():
        assert dataset.ann_file == cfg.ann_file, split
        features = step(dataset.pipeline, "GenSkeFeat")
        assert features.feats == [stream], f"{split}: {features.feats} in the {stream} config"
        assert get_layout(features.dataset) is model.backbone.graph.layout, split
        persons = step(dataset.pipeline, "FormatGCNInput").num_person
        data_bn = model.backbone.data_bn  # over joints x channels, or also persons
        per_person = model.backbone.graph.layout.num_joints * CHANNELS
        assert data_bn.num_features in (per_person, persons * per_person), split
        sampling = step(dataset.pipeline, "UniformSampleFrames")
        assert sampling.get("test_mode", False) == (split != "train")
        assert sampling.get("num_clips", 1) == {"train": 1, "val": 1, "test": 10}[split]


@pytest.mark.parametrize("name", FORWARD_LEAVES)
def test_one_leaf_per_model_classifies_a_tiny_clip(name):
    cfg = Config.fromfile(CONFIGS / name)
    model = model_of(cfg)
    joints = model.backbone.graph.layout.num_joints
    clip = torch.randn(1, 2, 8, joints, CHANNELS, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        scores = model(clip)
    assert scores.shape == (1, cfg.model.cls_head.num_classes)
    assert torch.isfinite(scores).all()


@pytest.mark.parametrize(("name", "published"), [
    ("stgcn++/stgcn++_ntu60_xsub_hrnet/j.py", 1.39e6),
    ("stgcn/stgcn_pyskl_ntu60_xsub_hrnet/j.py", 3.1e6),
])
def test_parameter_count_is_the_published_one(name, published):
    params = count_parameters(model_of(Config.fromfile(CONFIGS / name)))
    assert abs(params - published) / published < 0.01, params


def with_joint_features(value):
    """``value`` (plain dicts and lists) with every GenSkeFeat's feats set to ``['j']``."""
    if isinstance(value, dict):
        value = {key: with_joint_features(item) for key, item in value.items()}
        return {**value, "feats": ["j"]} if value.get("type") == "GenSkeFeat" else value
    if isinstance(value, list):
        return [with_joint_features(item) for item in value]
    return value


@pytest.mark.parametrize("path", STREAM_BASES, ids=_name)
def test_stream_base_differs_from_its_joint_base_only_in_features(path):
    joint_base = path.with_name(STREAM_SUFFIX.sub(".py", path.name))
    stream = Config.fromfile(path).to_dict()
    assert stream != Config.fromfile(joint_base).to_dict()
    assert with_joint_features(stream) == Config.fromfile(joint_base).to_dict()


# --- the real-data configs, end to end ------------------------------------------------------


def documented_command(path: Path) -> list[str]:
    """The ``skel-convert`` command in a config's header comment, as argv after the program."""
    commands = re.findall(r"^#\s+skel-convert (.+)$", path.read_text(), flags=re.MULTILINE)
    assert len(commands) == 1, f"{path}: expected one skel-convert command in its header"
    return shlex.split(commands[0])


def convert_subset(path: Path, shared_data: Path, tmp_path: Path, names: list[str]) -> None:
    """Run the config's documented command from ``tmp_path`` (as from the repository root) on
    a folder of links to a few of the shared data's files."""
    dataset, source, output, *options = documented_command(path)
    source_dir = Path(source.replace("../shared/data", str(shared_data)))
    subset = tmp_path / "subset"
    subset.mkdir()
    for name in names:
        (subset / name).symlink_to(source_dir / name)
    assert convert_main([dataset, str(subset), str(tmp_path / output), *options]) == 0


@pytest.mark.shared_data
@pytest.mark.parametrize(("name", "files", "classes"), [
    ("stgcn++/stgcn++_nw_ucla_xview/j.py",
     ["a01_s01_e00_v01.json", "a12_s02_e01_v02.json", "a04_s03_e02_v03.json"], 10),
    ("stgcn++/stgcn++_nw_ucla_xview/b.py",
     ["a06_s05_e00_v01.json", "a09_s06_e01_v03.json"], 10),
    ("stgcn++/stgcn++_penn_action/j.py", ["0001.mat", "0002.mat", "0003.mat"], 15),
])
def test_real_data_config_runs_on_clips_converted_as_documented(
    shared_data, tmp_path, monkeypatch, name, files, classes
):
    path = CONFIGS / name
    cfg = Config.fromfile(path)
    convert_subset(path, shared_data, tmp_path, files)
    monkeypatch.chdir(tmp_path)  # ann_file is relative to the repository root, as in PYSKL
    model = model_of(cfg)
    assert cfg.model.cls_head.num_classes == classes
    train = DATASETS.build(cfg.data.train)
    test = DATASETS.build(cfg.data.test)
    assert len(train) == 5 * len(train.dataset)  # RepeatDataset
    assert len(train.dataset) >= 1 and len(test) >= 1
    assert len(train.dataset) + len(test) == len(files)
    clip_len = step(cfg.train_pipeline, "UniformSampleFrames").clip_len
    joints = model.backbone.graph.layout.num_joints
    batch = torch.stack([train[i]["keypoint"] for i in range(len(train.dataset))])
    assert batch.shape == (len(train.dataset), 1, 1, clip_len, joints, CHANNELS)
    with torch.no_grad():
        scores = model(batch[:, 0])
        probabilities = model(test[0]["keypoint"][None])
    assert scores.shape == (len(train.dataset), classes)
    assert torch.isfinite(scores).all()
    assert probabilities.shape == (1, classes)  # 10 clips averaged as probabilities
    np.testing.assert_allclose(float(probabilities.sum()), 1.0, rtol=1e-5)

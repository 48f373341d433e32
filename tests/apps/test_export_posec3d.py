"""skel-export and skel-infer on a PoseC3D model: the tiny demo SlowOnly (17 heatmaps of 32x32,
2 clips x 2 flips of 8 frames per test sample) exported from a checkpoint to standard ONNX with
input ``imgs``, checked by onnxruntime at other batch sizes and clip lengths; the heatmap facts
(input kind, H x W, channels, layout) read from the config and carried in the file; skel-infer's
top-5 from the checkpoint equal to an independent computation (the config's test pipeline and
Recognizer3D's own clip averaging) and to the ONNX file's, whole and in sliding windows; a bare
heatmap ONNX file refused unless its config is given.
"""

from __future__ import annotations

import contextlib
import io
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from skel_apps.export import cli as export_cli  # noqa: E402
from skel_apps.export.model_info import ModelInfo, heatmap_size, read_model_info  # noqa: E402
from skel_apps.infer import cli as infer_cli  # noqa: E402
from skel_core.config import Config  # noqa: E402
from skel_core.errors import ConfigError  # noqa: E402
from skel_data.synthetic import ACTIONS, SyntheticConfig, generate_clips  # noqa: E402
from skel_data.transforms import Compose  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo" / "posec3d_synthetic_tiny.py"
CHANNELS, CLIP_LEN, SIZE, VIEWS = 17, 8, 32, 4  # VIEWS: 2 clips x 2 flips per test sample
DIFF_LINE = re.compile(r"input \(([\d, ]+)\): max abs difference (\S+)")
WINDOW = re.compile(r"^\s+frames (\d+)-(\d+): (.+) \((\d\.\d{4})\)$", re.MULTILINE)


def _run(main, argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(arg) for arg in argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def run(tmp_path_factory, seeded_checkpoint):
    """Config, checkpoint and model of a seeded tiny PoseC3D, its default ONNX export (dynamic
    batch and time) and what skel-export printed, and three synthetic COCO sequences."""
    folder = tmp_path_factory.mktemp("posec3d")
    cfg = Config.fromfile(DEMO)
    config, checkpoint, model = seeded_checkpoint(cfg, folder)
    exported = folder / "tiny.onnx"
    status, out, err = _run(export_cli.main, [config, checkpoint, exported])
    assert status == 0, err
    clips = generate_clips(SyntheticConfig(num_clips=3, min_frames=40, max_frames=48))
    return dict(folder=folder, cfg=cfg, config=config, checkpoint=checkpoint, model=model,
                onnx=exported, export_out=out, clips=clips)


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


@torch.no_grad()
def _reference(run, record: dict) -> np.ndarray:
    """Class probabilities from the config's test pipeline and Recognizer3D's own multi-clip
    ('prob') averaging of the (1, crops x clips, C, T, H, W) input."""
    sample = {**record, "test_mode": True, "start_index": 0, "modality": "Pose"}
    imgs = Compose(run["cfg"].data.test.pipeline.copy())(sample)["imgs"]
    assert tuple(imgs.shape) == (VIEWS, CHANNELS, CLIP_LEN, SIZE, SIZE)
    return run["model"](imgs[None]).numpy()[0]


def _pickle(path: Path, records: list[dict]) -> Path:
    with path.open("wb") as file:
        pickle.dump(records, file)
    return path


def test_export_is_checked_standard_onnx_taking_heatmap_volumes(run):
    proto = onnx.load(run["onnx"])
    onnx.checker.check_model(proto, full_check=True)
    assert {node.domain for node in proto.graph.node} <= {"", "ai.onnx"}
    assert {opset.domain for opset in proto.opset_import} <= {"", "ai.onnx"}
    (imgs,), (scores,) = proto.graph.input, proto.graph.output
    assert imgs.name == "imgs" and scores.name == "scores"
    assert _dims(imgs) == ["batch", CHANNELS, "time", SIZE, SIZE]
    assert _dims(scores) == ["batch", len(ACTIONS)]
    checks = DIFF_LINE.findall(run["export_out"])
    assert [shape for shape, _ in checks] == ["2, 17, 8, 32, 32", "3, 17, 12, 32, 32"]
    assert all(float(diff) < 1e-4 for _, diff in checks)


def test_onnxruntime_honours_dynamic_batch_and_time(run):
    session = ort.InferenceSession(str(run["onnx"]), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(5)
    for batch, frames in [(1, CLIP_LEN), (5, 6)]:
        x = torch.rand(batch, CHANNELS, frames, SIZE, SIZE, generator=generator)
        (scores,) = session.run(None, {"imgs": x.numpy()})
        with torch.no_grad():
            expected = run["model"](x).numpy()
        assert scores.shape == (batch, len(ACTIONS))
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-4)


def test_heatmap_model_info_travels_in_the_file(run):
    info = read_model_info(onnx.load(run["onnx"]), "tiny.onnx")
    assert (info.input_name, info.heatmap_size, info.in_channels) == ("imgs", (SIZE, SIZE), 17)
    assert (info.num_person, info.num_joints, info.clip_len) == (None, 17, CLIP_LEN)
    assert info.layout.name == "coco"  # 17 keypoints flipped as COCO's left/right pairs
    assert info.class_names == list(ACTIONS) and info.average_clips == "prob"
    pipeline = run["cfg"].to_dict()["data"]["test"]["pipeline"]
    assert info.test_pipeline == json.loads(json.dumps(pipeline))  # tuples become lists


def test_model_info_json_round_trip_and_old_files():
    info = ModelInfo(num_person=None, num_joints=17, in_channels=17, clip_len=48,
                     input_name="imgs", heatmap_size=(64, 56), average_clips="score")
    back = ModelInfo.from_json(info.to_json(), "x.onnx")
    assert back == info and back.heatmap_size == (64, 56)  # a tuple again, not a JSON list
    old = {"num_person": 2, "num_joints": 17, "in_channels": 3, "clip_len": 100, "layout": None,
           "class_names": None, "test_pipeline": None, "average_clips": "prob"}
    read = ModelInfo.from_json(json.dumps(old), "old.onnx")  # written before the heatmap fields
    assert (read.input_name, read.heatmap_size, read.num_person) == ("keypoint", None, 2)
    with pytest.raises(ConfigError, match=r"old\.onnx: unreadable skel\.model_info metadata "
                                          r".*unknown model input 'video'"):
        ModelInfo.from_json(json.dumps({**old, "input_name": "video"}), "old.onnx")


def _heatmap_config(pipeline: list[dict], in_channels: int = 17) -> Config:
    return Config(dict(model=dict(type="Recognizer3D",
                                  backbone=dict(type="ResNet3dSlowOnly", in_channels=in_channels)),
                       test_pipeline=pipeline))


def test_heatmap_size_layout_and_joints_are_read_from_the_pipeline():
    compact = dict(type="PoseCompact", hw_ratio=1.0)
    free = dict(type="Resize", scale=(-1, 64))
    target = dict(type="GeneratePoseTarget")
    assert heatmap_size([compact, free, dict(type="CenterCrop", crop_size=(56, 48)), target]) \
        == (48, 56)  # crop_size is (w, h)
    assert heatmap_size([compact, free, target]) is None  # the aspect ratio of the data decides
    assert heatmap_size([dict(type="Resize", scale=(40, 30), keep_ratio=False), compact,
                         target]) is None
    assert heatmap_size([dict(type="Resize", scale=(40, 30), keep_ratio=False), free,
                         dict(type="GeneratePoseTarget", scaling=0.5)]) == (32, 43)
    shape = dict(type="FormatShape", input_format="NCTHW_Heatmap")
    h36m = dict(type="GeneratePoseTarget", left_kp=[4, 5, 6, 11, 12, 13],
                right_kp=[1, 2, 3, 14, 15, 16])
    info = ModelInfo.from_config(_heatmap_config([h36m, shape]))
    assert (info.layout.name, info.num_joints, info.heatmap_size) == ("h36m", 17, None)
    limbs = dict(type="GeneratePoseTarget", with_kp=True, with_limb=True)  # + COCO's 17 limbs
    info = ModelInfo.from_config(_heatmap_config([limbs, shape], in_channels=34))
    assert (info.layout.name, info.num_joints) == ("coco", 17)
    only_limbs = dict(type="GeneratePoseTarget", with_kp=False, with_limb=True)
    info = ModelInfo.from_config(_heatmap_config([only_limbs, shape]))
    assert (info.layout, info.num_joints, info.in_channels) == (None, None, 17)


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        ([dict(type="GeneratePoseTarget"), dict(type="FormatShape", input_format="NCTHW")],
         "FormatShape has input_format='NCTHW'"),
        ([dict(type="FormatShape", input_format="NCTHW_Heatmap")],
         "has no GeneratePoseTarget to render the heatmaps"),
        ([dict(type="FormatGCNInput")],
         "model type Recognizer3D takes 'imgs' input but the test pipeline's FormatGCNInput "
         "makes 'keypoint'"),
    ],
)
def test_pipelines_that_cannot_feed_a_heatmap_model_are_refused(pipeline, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        ModelInfo.from_config(_heatmap_config(pipeline))


def test_export_refuses_a_pipeline_without_a_fixed_heatmap_size(run, tmp_path):
    ratio_kept = ["data.test.pipeline.3.scale=[-1,32]", "data.test.pipeline.3.keep_ratio=True"]
    status, _, err = _run(export_cli.main, [run["config"], run["checkpoint"],
                                            tmp_path / "x.onnx", "--cfg-options", *ratio_kept])
    assert status == 1
    assert "the heatmap size (H, W) is not fixed by the test pipeline" in err
    assert not (tmp_path / "x.onnx").exists()


def test_checkpoint_and_onnx_give_the_independent_top5(run, tmp_path, printed):
    path = _pickle(tmp_path / "clips.pkl", run["clips"])
    status, from_checkpoint, err = _run(infer_cli.main, [run["config"], run["checkpoint"], path])
    assert status == 0, err
    ranked = printed.ranked(from_checkpoint)
    assert len(ranked) == 15
    for k, clip in enumerate(run["clips"]):
        printed.assert_top5(ranked[5 * k:5 * k + 5], _reference(run, clip))
    assert ranked[0][1] > ranked[1][1] + 0.01  # far from a tie: the round trip below is sharp
    status, from_onnx, err = _run(infer_cli.main, [run["onnx"], path])  # all from the file
    assert status == 0, err
    assert [n for n, _ in printed.ranked(from_onnx)] == [n for n, _ in ranked]
    np.testing.assert_allclose([p for _, p in printed.ranked(from_onnx)], [p for _, p in ranked],
                               rtol=0, atol=1e-4)


def test_sliding_windows_and_vis_on_a_heatmap_model(run, tmp_path):
    from PIL import Image

    clip = run["clips"][0]
    part = {**clip, "keypoint": clip["keypoint"][:, :40],
            "keypoint_score": clip["keypoint_score"][:, :40], "total_frames": 40}
    path = _pickle(tmp_path / "long.pkl", [part])
    gif = tmp_path / "out.gif"
    status, out, err = _run(infer_cli.main, [run["onnx"], path, "--window", 16, "--stride", 8,
                                             "--vis", gif])
    assert status == 0, err
    windows = WINDOW.findall(out)
    assert [(int(a), int(b)) for a, b, _, _ in windows] == [(0, 15), (8, 23), (16, 31), (24, 39)]
    _, _, name, probability = windows[1]
    second = {**part, "keypoint": part["keypoint"][:, 8:24],
              "keypoint_score": part["keypoint_score"][:, 8:24], "total_frames": 16}
    expected = _reference(run, second)
    assert name == ACTIONS[int(np.argmax(expected))]
    assert float(probability) == pytest.approx(expected.max(), abs=1e-4)
    with Image.open(gif) as image:  # the keypoints drawn with the layout read from the config
        assert image.format == "GIF" and image.n_frames == 40


def test_bare_heatmap_onnx_needs_its_config(run, tmp_path, printed):
    proto = onnx.load(run["onnx"])
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, bare)
    path = _pickle(tmp_path / "one.pkl", run["clips"][1:2])
    status, out, err = _run(infer_cli.main, [bare, path])
    assert status == 1 and not printed.ranked(out)
    assert err.startswith("skel-infer: error: the ONNX model bare.onnx takes heatmap volumes")
    assert "a heatmap model needs its test pipeline (give --config CONFIG" in err
    status, out, err = _run(infer_cli.main, [bare, path, "--config", run["config"]])
    assert status == 0, err
    printed.assert_top5(printed.ranked(out), _reference(run, run["clips"][1]))


def test_config_of_another_input_kind_is_refused(run, tmp_path):
    gcn = Path(__file__).resolve().parents[2] / "configs" / "demo" / "stgcnpp_synthetic_j.py"
    path = _pickle(tmp_path / "one.pkl", run["clips"][:1])
    status, _, err = _run(infer_cli.main, [run["onnx"], path, "--config", gcn])
    assert status == 1
    assert "takes 'keypoint' input, but the ONNX model tiny.onnx takes 'imgs'" in err

"""skel-infer on synthetic COCO sequences with a tiny random ST-GCN++: the printed top-5 equals
an independent computation (the config's test pipeline and the recognizer's own multi-clip
averaging), the checkpoint and its ONNX export agree, npz/json/pickle files and directories are
read, sliding windows cover the expected frames, --vis writes one GIF frame per sequence frame,
and bad inputs and impossible requests are refused with messages naming the file and problem.
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
pytest.importorskip("onnxruntime")

from skel_apps.export import cli as export_cli  # noqa: E402
from skel_apps.infer import cli  # noqa: E402
from skel_apps.infer.recognition import average_clips  # noqa: E402
from skel_apps.infer.windows import window_starts  # noqa: E402
from skel_core.config import Config  # noqa: E402
from skel_data.synthetic import ACTIONS, SyntheticConfig, generate_clips  # noqa: E402
from skel_data.transforms import Compose  # noqa: E402
from skel_models.recognizers import RecognizerGCN  # noqa: E402

DEMO = Path(__file__).resolve().parents[2] / "configs" / "demo" / "stgcnpp_synthetic_j.py"
TINY = {  # two stages of 8 and 16 channels; 2 clips of 16 frames per test sample
    "model.backbone.base_channels": 8,
    "model.backbone.num_stages": 2,
    "model.backbone.inflate_stages": [2],
    "model.backbone.down_stages": [2],
    "model.cls_head.in_channels": 16,
    "data.test.pipeline.2.clip_len": 16,
    "data.test.pipeline.2.num_clips": 2,
}
WINDOW = re.compile(r"^\s+frames (\d+)-(\d+): (.+) \((\d\.\d{4})\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def run(tmp_path_factory, seeded_checkpoint):
    """Config, checkpoint, model and its ONNX export (fixed batch of 2 clips, any T), and
    three synthetic clips."""
    folder = tmp_path_factory.mktemp("infer")
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(TINY)
    config, checkpoint, model = seeded_checkpoint(cfg, folder)
    exported = folder / "tiny.onnx"  # a fixed batch of 2 clips: skel-infer pads to fill it
    with contextlib.redirect_stdout(io.StringIO()):
        assert export_cli.main([str(config), str(checkpoint), str(exported),
                                "--dynamic", "time", "--batch", "2"]) == 0
    clips = generate_clips(SyntheticConfig(num_clips=3, min_frames=40, max_frames=48))
    return dict(folder=folder, cfg=cfg, config=config, checkpoint=checkpoint, model=model,
                onnx=exported, clips=clips)


def _infer(argv: list) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(arg) for arg in argv])
    return status, out.getvalue(), err.getvalue()


def _with_checkpoint(run, *argv) -> tuple[int, str, str]:
    return _infer([run["config"], run["checkpoint"], *argv])


def _npz(path: Path, clip: dict, frames: slice = slice(None)) -> Path:
    np.savez(path, keypoint=clip["keypoint"][:, frames], label=clip["label"],
             keypoint_score=clip["keypoint_score"][:, frames], img_shape=clip["img_shape"])
    return path


@torch.no_grad()
def _reference(run, record: dict) -> np.ndarray:
    """Class probabilities from the config's test pipeline and RecognizerGCN's own multi-clip
    ('prob') averaging of the (1, S, M, T, V, C) input."""
    sample = {**record, "test_mode": True, "start_index": 0, "modality": "Pose"}
    clips = Compose(run["cfg"].data.test.pipeline.copy())(sample)["keypoint"]
    return run["model"](clips[None]).numpy()[0]


def test_help_describes_both_forms_and_the_inputs(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "skel-infer CONFIG CHECKPOINT INPUT" in text and "skel-infer MODEL.onnx INPUT" in text
    for option in ("--window", "--stride", "--vis", "--attention", "--label-map", ".npz"):
        assert option in text


def test_checkpoint_top5_matches_an_independent_computation(run, tmp_path, printed):
    clip = run["clips"][0]
    status, out, err = _with_checkpoint(run, _npz(tmp_path / "wave.npz", clip))
    assert status == 0, err
    assert out.splitlines()[0] == \
        f"wave.npz: {clip['total_frames']} frames, 1 person(s), 17 joints; true label 0 (wave)"
    ranked = printed.ranked(out)
    printed.assert_top5(ranked, _reference(run, clip))
    assert ranked[0][1] > ranked[1][1] + 0.01  # far from a tie: the round trip below is sharp


def test_onnx_export_round_trip_gives_the_same_top5(run, tmp_path, printed):
    path = tmp_path / "clips.pkl"
    with path.open("wb") as file:
        pickle.dump(run["clips"], file)  # 3 sequences of 2 clips: 3 runs of the fixed batch
    _, from_checkpoint, _ = _with_checkpoint(run, path)
    status, from_onnx, err = _infer([run["onnx"], path])  # pipeline and names from the file
    assert status == 0, err
    onnx_ranked, checkpoint_ranked = printed.ranked(from_onnx), printed.ranked(from_checkpoint)
    assert len(onnx_ranked) == 15
    assert [n for n, _ in onnx_ranked] == [n for n, _ in checkpoint_ranked]
    np.testing.assert_allclose([p for _, p in onnx_ranked], [p for _, p in checkpoint_ranked],
                               atol=1.5e-4)


def test_json_pickle_and_directory_inputs(run, tmp_path, printed):
    clips = run["clips"]
    json_path = tmp_path / "seq.json"
    json_path.write_text(json.dumps({"keypoint": clips[0]["keypoint"].tolist(),
                                     "keypoint_score": clips[0]["keypoint_score"].tolist(),
                                     "img_shape": list(clips[0]["img_shape"])}))
    status, out, err = _with_checkpoint(run, json_path)
    assert status == 0, err
    frames = clips[0]["total_frames"]
    assert out.splitlines()[0] == f"seq.json: {frames} frames, 1 person(s), 17 joints"  # no label
    printed.assert_top5(printed.ranked(out), _reference(run, clips[0]))

    pickle_path = tmp_path / "clips.pkl"
    with pickle_path.open("wb") as file:
        pickle.dump({"split": {"test": [c["frame_dir"] for c in clips]}, "annotations": clips},
                    file)
    status, out, err = _with_checkpoint(run, pickle_path)
    assert status == 0, err
    headers = [line for line in out.splitlines() if not line.startswith(" ")]
    assert [h.split(":")[1] for h in headers] == [c["frame_dir"] for c in clips]
    assert "2 person(s)" in headers[2] and headers[2].endswith("true label 2 (squat)")
    ranked = printed.ranked(out)
    assert len(ranked) == 15
    printed.assert_top5(ranked[10:], _reference(run, clips[2]))

    folder = tmp_path / "folder"
    folder.mkdir()
    _npz(folder / "b.npz", clips[1])
    (folder / "a.json").write_text(json_path.read_text())
    (folder / "notes.txt").write_text("not a sequence")
    status, out, err = _with_checkpoint(run, folder)
    assert status == 0, err
    headers = [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert headers == ["a.json", "b.npz"]
    printed.assert_top5(printed.ranked(out)[5:], _reference(run, clips[1]))


@pytest.mark.parametrize(("stride", "starts"), [(8, [0, 8, 16, 24]), (None, [0, 16])])
def test_sliding_windows_timeline(run, tmp_path, stride, starts):
    clip = run["clips"][0]
    path = _npz(tmp_path / "long.npz", clip, slice(0, 40))
    argv = ["--window", 16] + ([] if stride is None else ["--stride", stride])
    status, out, err = _with_checkpoint(run, path, *argv)
    assert status == 0, err
    assert f"{len(starts)} window(s) of 16 frames, stride {stride or 16}:" in out
    windows = WINDOW.findall(out)
    assert [(int(a), int(b)) for a, b, _, _ in windows] == [(s, s + 15) for s in starts]
    _, _, name, probability = windows[1]  # the second window, recomputed independently
    part = {**clip, "keypoint": clip["keypoint"][:, starts[1]:starts[1] + 16],
            "keypoint_score": clip["keypoint_score"][:, starts[1]:starts[1] + 16],
            "total_frames": 16}
    expected = _reference(run, part)
    assert name == ACTIONS[int(np.argmax(expected))]
    assert float(probability) == pytest.approx(expected.max(), abs=1e-4)


@pytest.mark.parametrize("mode", ["prob", "score"])
def test_clip_averaging_is_the_recognizers(rng, mode):
    """RecognizerGCN averaging S clips' scores (its head here passes them through)."""
    scores = rng.normal(0, 3, (4, 6))
    recognizer = RecognizerGCN(torch.nn.Identity(), torch.nn.Flatten(),
                               test_cfg=dict(average_clips=mode))
    averaged = recognizer(torch.from_numpy(scores).reshape(1, 4, 6, 1, 1, 1))[0]
    expected = averaged if mode == "prob" else averaged.softmax(-1)
    np.testing.assert_allclose(average_clips(scores, mode), expected.numpy(), rtol=1e-12)
    other = average_clips(scores, "score" if mode == "prob" else "prob")
    assert np.abs(other - expected.numpy()).max() > 1e-3  # the two modes are told apart


def test_window_starts():
    assert window_starts(40, 16, 8) == [0, 8, 16, 24]
    assert window_starts(10, 16, 8) == [0]  # shorter than a window: one window of it all
    assert len(window_starts(1000, 64, 10)) == (1000 - 64) // 10 + 1


def test_vis_writes_one_gif_frame_per_sequence_frame(run, tmp_path):
    from PIL import Image

    path = _npz(tmp_path / "short.npz", run["clips"][0], slice(0, 12))
    gif = tmp_path / "out.gif"
    status, out, err = _with_checkpoint(run, path, "--vis", gif, "--fps", 20)
    assert status == 0, err
    assert f"wrote {gif}" in out
    with Image.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == 12


def test_mp4_without_ffmpeg_is_a_clear_usage_error(run, tmp_path, monkeypatch, capsys):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: name != "ffmpeg")
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(run["config"]), str(run["checkpoint"]), "x.npz", "--vis",
                  str(tmp_path / "out.mp4")])
    assert exit_info.value.code == 2
    assert "writing .mp4 needs ffmpeg, which is not installed here" in capsys.readouterr().err


@pytest.mark.parametrize("use_onnx", [False, True])
def test_attention_maps_are_refused_for_a_model_without_them(run, tmp_path, capsys, use_onnx):
    path = _npz(tmp_path / "wave.npz", run["clips"][0])
    models = [run["onnx"]] if use_onnx else [run["config"], run["checkpoint"]]
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(p) for p in [*models, path, "--attention", tmp_path / "a.png"]])
    assert exit_info.value.code == 2
    described = "the ONNX model tiny.onnx" if use_onnx else "RecognizerGCN (backbone STGCN)"
    assert f"--attention: {described} has no attention maps" in capsys.readouterr().err


def _bad_inputs(folder: Path) -> dict[str, tuple[Path, str]]:
    rng = np.random.default_rng(0)
    pose = rng.uniform(0, 500, (1, 20, 17, 2)).astype(np.float32)
    with_nan = pose.copy()
    with_nan[0, 3, 4, 0] = np.nan
    files = {
        "wrong_v.npz": dict(keypoint=rng.uniform(0, 500, (1, 20, 18, 2)).astype(np.float32)),
        "nan.npz": dict(keypoint=with_nan),
        "empty.npz": dict(keypoint=np.zeros((1, 0, 17, 2), np.float32)),
        "nobody.npz": dict(keypoint=pose, keypoint_score=np.zeros((1, 20, 17), np.float32)),
    }
    for name, arrays in files.items():
        np.savez(folder / name, **arrays)
    (folder / "corrupt.npz").write_bytes(b"not a zip archive")
    (folder / "corrupt.json").write_text('{"keypoint": [[1, 2')
    (folder / "corrupt.pkl").write_bytes(pickle.dumps([{"frame_dir": "x"}])[:-5])
    return {
        "wrong_v.npz": "key 'keypoint': V = 18 joints but the layout has 17",
        "nan.npz": "key 'keypoint': 1 NaN/inf value(s)",
        "empty.npz": "empty clip (T = 0 frames)",
        "nobody.npz": "empty clip, all keypoint scores are 0",
        "corrupt.npz": "not a readable .npz archive",
        "corrupt.json": "not a readable JSON file",
        "corrupt.pkl": "truncated or corrupt",
    }


def test_bad_inputs_are_refused_naming_the_file_and_problem(run, tmp_path, printed):
    for name, problem in _bad_inputs(tmp_path).items():
        status, out, err = _with_checkpoint(run, tmp_path / name)
        assert status == 1, name
        assert name in err and problem in err, err
        assert err.startswith("skel-infer: error:") and not printed.ranked(out)


def test_onnx_without_metadata_uses_the_default_pipeline(run, tmp_path, printed):
    proto = onnx.load(run["onnx"])
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2  # 1 clip, padded
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, bare)
    clip = run["clips"][1]
    status, out, err = _infer([bare, _npz(tmp_path / "clap.npz", clip)])
    assert status == 0, err
    default = Compose([  # the documented default for a 2D sequence and a dynamic T
        dict(type="PreNormalize2D"),
        dict(type="UniformSampleFrames", clip_len=100, num_clips=1, test_mode=True),
        dict(type="PoseDecode"),
        dict(type="FormatGCNInput", num_person=2),
    ])
    sample = default({**clip, "test_mode": True, "start_index": 0})["keypoint"]
    with torch.no_grad():
        probabilities = run["model"](torch.from_numpy(sample)).softmax(-1).numpy()[0]
    indices = [f"class {i}" for i in range(len(ACTIONS))]
    printed.assert_top5(printed.ranked(out), probabilities, indices)


def test_custom_op_onnx_is_refused_with_a_clear_message(run, tmp_path):
    proto = onnx.load(run["onnx"])
    proto.graph.node[0].domain = "skel"  # what a --custom-ops export holds
    custom = tmp_path / "custom.onnx"
    onnx.save(proto, custom)
    status, _, err = _infer([custom, _npz(tmp_path / "wave.npz", run["clips"][0])])
    assert status == 1
    assert "custom.onnx keeps skel custom-op nodes" in err and "without --custom-ops" in err


def test_label_map_names_the_classes_and_must_fit_the_model(run, tmp_path, printed):
    path = _npz(tmp_path / "wave.npz", run["clips"][0])
    names = [f"action {i}" for i in range(len(ACTIONS))]
    label_map = tmp_path / "labels.txt"
    label_map.write_text("\n".join(names) + "\n")
    status, out, err = _with_checkpoint(run, path, "--label-map", label_map)
    assert status == 0, err
    printed.assert_top5(printed.ranked(out), _reference(run, run["clips"][0]), names)
    label_map.write_text("a\nb\nc\n")
    status, _, err = _with_checkpoint(run, path, "--label-map", label_map)
    assert status == 1 and "3 class names are given but" in err and "scores 8 classes" in err


@pytest.mark.shared_data
def test_real_pyskl_pickle(run, shared_data, printed):
    """PYSKL's genuine 2D HRNet pickle (float16 arrays, labels 1..16): every clip recognised."""
    from skel_core.annotations import load_annotations

    path = shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl"
    records = load_annotations(path).annotations
    status, out, err = _with_checkpoint(run, path)
    assert status == 0, err
    headers = [line for line in out.splitlines() if not line.startswith(" ")]
    assert len(headers) == len(records) == 486
    first = records[0]
    assert headers[0] == (f"custom_hrnet.pkl:{first['frame_dir']}: {first['total_frames']} "
                          f"frames, {len(first['keypoint'])} person(s), 17 joints; true label "
                          f"{first['label']} ({ACTIONS[first['label']]})")
    beyond = next(i for i, r in enumerate(records) if r["label"] >= len(ACTIONS))
    assert headers[beyond].endswith(f"true label {records[beyond]['label']} "
                                    f"(class {records[beyond]['label']})")  # the 8 names end
    ranked = printed.ranked(out)
    assert len(ranked) == 5 * len(records)
    printed.assert_top5(ranked[:5], _reference(run, first))


def test_attention_maps_of_an_aagcn_are_drawn(run, tmp_path, printed, seeded_checkpoint):
    cfg = run["cfg"].copy()
    cfg.model.backbone = dict(type="AAGCN", graph_cfg=dict(layout="coco", mode="spatial"),
                              base_channels=8, num_stages=2, inflate_stages=[2],
                              down_stages=[2])
    config, checkpoint, _ = seeded_checkpoint(cfg, tmp_path)
    image = tmp_path / "attention.png"
    path = _npz(tmp_path / "wave.npz", run["clips"][0])
    status, out, err = _infer([config, checkpoint, path, "--attention", image])
    assert status == 0, err
    assert f"wrote {image}" in out and len(printed.ranked(out)) == 5
    from PIL import Image

    with Image.open(image) as drawn:
        assert drawn.format == "PNG" and min(drawn.size) > 100


def test_attention_maps_need_a_png_path(run, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(run["config"]), str(run["checkpoint"]), "x.npz", "--attention",
                  str(tmp_path / "a.jpg")])
    assert exit_info.value.code == 2
    assert "the attention maps are written as .png" in capsys.readouterr().err

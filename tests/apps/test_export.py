"""skel-export: a tiny version of the demo's ST-GCN++ exported from a checkpoint to ONNX, checked
by the ONNX checker, run by onnxruntime at other batch sizes and clip lengths than it was traced
at and compared with the PyTorch model; the custom-op export keeps skel.GraphConv nodes; a file
that disagrees with PyTorch is refused and not written; a checkpoint that does not fit is named.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import torch

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from skel_apps.export import cli  # noqa: E402
from skel_apps.export.model_info import read_model_info  # noqa: E402
from skel_apps.export.onnx_export import check_shapes  # noqa: E402
from skel_core.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from skel_core.config import Config  # noqa: E402
from skel_data.synthetic import ACTIONS  # noqa: E402
from skel_models.registry import build_model  # noqa: E402

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
CLIP_LEN, NUM_PERSON, NUM_JOINTS, CHANNELS = 16, 2, 17, 3
DIFF_LINE = re.compile(r"input \(([\d, ]+)\): max abs difference (\S+)")


def _tiny_run(folder: Path, seed: int) -> tuple[Path, Path]:
    """A tiny config file and a checkpoint of a seeded random model for it."""
    cfg = Config.fromfile(DEMO)
    cfg.merge_from_dict(TINY)
    config = folder / "tiny.py"
    cfg.dump(config)
    torch.manual_seed(seed)
    model = build_model(cfg.model.to_dict())
    checkpoint = folder / f"seed{seed}.pth"
    save_checkpoint({"state_dict": model.state_dict(), "meta": {"seed": seed}}, checkpoint)
    return config, checkpoint


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def run_files(tmp_path_factory) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("export")
    return (*_tiny_run(folder, seed=0), folder)


@pytest.fixture(scope="module")
def default_export(run_files) -> tuple[Path, str]:
    """The default export: standard ONNX ops, dynamic batch and time."""
    config, checkpoint, folder = run_files
    output = folder / "model.onnx"
    status, out, err = _run([str(config), str(checkpoint), str(output)])
    assert status == 0, err
    return output, out


def _pytorch_model(config: Path, checkpoint: Path) -> torch.nn.Module:
    model = build_model(Config.fromfile(config).model.to_dict())
    model.load_state_dict(load_checkpoint(checkpoint)["state_dict"])
    return model.eval()


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: skel-export")
    for option in ("--dynamic", "--opset", "--custom-ops", "--frames", "--atol", "--key-map"):
        assert option in text


def test_default_export_is_checked_standard_onnx_with_named_dynamic_axes(default_export):
    path, out = default_export
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    assert {node.domain for node in proto.graph.node} <= {"", "ai.onnx"}
    assert {opset.domain for opset in proto.opset_import} <= {"", "ai.onnx"}
    (keypoint,), (scores,) = proto.graph.input, proto.graph.output
    assert keypoint.name == "keypoint" and scores.name == "scores"
    assert _dims(keypoint) == ["batch", NUM_PERSON, "time", NUM_JOINTS, CHANNELS]
    assert _dims(scores) == ["batch", len(ACTIONS)]
    checks = DIFF_LINE.findall(out)
    assert [shape for shape, _ in checks] == ["2, 2, 16, 17, 3", "3, 2, 24, 17, 3"]
    assert all(float(diff) < 1e-4 for _, diff in checks)
    assert f"wrote {path}" in out


def test_onnxruntime_honours_dynamic_batch_and_time(default_export, run_files):
    path, _ = default_export
    model = _pytorch_model(*run_files[:2])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(5)
    for batch, frames in [(1, 16), (1, 28), (4, 16), (4, 28)]:
        x = torch.randn(batch, NUM_PERSON, frames, NUM_JOINTS, CHANNELS, generator=generator)
        (scores,) = session.run(None, {"keypoint": x.numpy()})
        with torch.no_grad():
            expected = model(x).numpy()
        assert scores.shape == (batch, len(ACTIONS))
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-4)


def test_model_info_travels_in_the_file(default_export, run_files):
    info = read_model_info(onnx.load(default_export[0]), "model.onnx")
    cfg = Config.fromfile(run_files[0])
    assert info.class_names == list(ACTIONS)  # SyntheticPoseDataset's own names
    assert info.layout.name == "coco" and info.num_joints == NUM_JOINTS
    assert (info.num_person, info.in_channels, info.clip_len) == (NUM_PERSON, CHANNELS, CLIP_LEN)
    assert info.average_clips == "prob"
    assert [step["type"] for step in info.test_pipeline] == \
        [step["type"] for step in cfg.data.test.pipeline]
    assert info.test_pipeline[2]["num_clips"] == 2


def test_custom_ops_export_keeps_graph_conv_nodes_and_skips_the_runtime_check(run_files):
    config, checkpoint, folder = run_files
    output = folder / "custom.onnx"
    status, out, err = _run([str(config), str(checkpoint), str(output), "--custom-ops",
                             "--dynamic", "batch"])
    assert status == 0, err
    proto = onnx.load(output)
    onnx.checker.check_model(proto)  # the skel schemas are registered by skel_kernels.onnx
    skel_nodes = [node.op_type for node in proto.graph.node if node.domain == "skel"]
    assert skel_nodes == ["GraphConv"] * TINY["model.backbone.num_stages"]  # one per block
    assert _dims(proto.graph.input[0]) == ["batch", NUM_PERSON, CLIP_LEN, NUM_JOINTS, CHANNELS]
    assert "onnxruntime check skipped" in out and "skel.GraphConv" in out
    assert not DIFF_LINE.search(out)


def test_a_file_that_disagrees_with_pytorch_is_refused_and_not_written(
    default_export, run_files, monkeypatch
):
    """The graph of seed 0's weights checked against a checkpoint of other weights."""
    config, _, folder = run_files
    _, other_checkpoint = _tiny_run(folder, seed=1)
    traced = onnx.load(default_export[0])
    monkeypatch.setattr(cli, "export_recognizer", lambda *args, **kwargs: traced)
    output = folder / "refused.onnx"
    status, out, err = _run([str(config), str(other_checkpoint), str(output)])
    assert status == 1
    assert "above the tolerance 0.0001" in err and f"{output} was not written" in err
    assert max(float(diff) for _, diff in DIFF_LINE.findall(out)) > 1e-4
    assert not output.exists()


def test_checkpoint_that_does_not_fit_is_refused_naming_the_keys(run_files, tmp_path):
    config, _, _ = run_files
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({"model.cls_head.num_classes": 3})
    checkpoint = tmp_path / "three_classes.pth"
    save_checkpoint({"state_dict": build_model(cfg.model.to_dict()).state_dict()}, checkpoint)
    status, _, err = _run([str(config), str(checkpoint), str(tmp_path / "x.onnx")])
    assert status == 1
    assert "shape mismatches" in err and "cls_head.fc_cls.weight: (3, 16) vs (8, 16)" in err
    assert not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--dynamic", "batch,persons"], "comma-separated subset of batch, time"),
        (["--opset", "17"], "--opset must be at least 18"),
    ],
)
def test_bad_options_are_usage_errors(run_files, tmp_path, capsys, argv, message):
    config, checkpoint, _ = run_files
    with pytest.raises(SystemExit) as exit_info:
        cli.main([str(config), str(checkpoint), str(tmp_path / "x.onnx"), *argv])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_check_shapes_change_every_dynamic_axis():
    example = (2, 2, 16, 17, 3)
    assert check_shapes(example, ("batch", "time")) == [example, (3, 2, 24, 17, 3)]
    assert check_shapes(example, ("time",)) == [example, (2, 2, 24, 17, 3)]
    assert check_shapes(example, ()) == [example]


def test_a_pipeline_without_skeleton_input_is_refused(run_files, tmp_path):
    """A PoseC3D-style pipeline ends in heatmap volumes, which a GCN model cannot take."""
    config, checkpoint, _ = run_files
    status, _, err = _run([str(config), str(checkpoint), str(tmp_path / "x.onnx"),
                           "--cfg-options", "data.test.pipeline.4.type=FormatShape"])
    assert status == 1
    assert ("model type RecognizerGCN takes 'keypoint' input but the test pipeline's "
            "FormatShape makes 'imgs'") in err

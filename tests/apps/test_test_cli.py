"""skel-test on a trained checkpoint (multi-clip scores, metrics, report files, score dump) and
skel-fuse on score files."""

import contextlib
import io
import json
import re

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from skel_apps.builders import build_dataset
from skel_apps.test.cli import main as skel_test
from skel_apps.test.fuse import main as skel_fuse
from skel_core.annotations import save_annotations
from skel_core.checkpoint import load_checkpoint
from skel_core.config import Config
from skel_core.metrics import load_score_file, save_score_file
from skel_data.synthetic import SyntheticConfig, generate_annotations
from skel_models.registry import build_model


def printed_percentages(line: str) -> list[float]:
    return [float(x) / 100 for x in re.findall(r"([\d.]+)%", line)]


@pytest.fixture(scope="module")
def tested(tiny_run, tiny, tmp_path_factory):
    """skel-test on the tiny run's last, then first checkpoint: (out dir, stdout by epoch).
    Both score files stay; the report files are the last run's."""
    out_dir = tmp_path_factory.mktemp("tested")
    printed = {}
    for epoch in (tiny.epochs, 1):
        args = [tiny.config, str(tiny_run.checkpoint(epoch)), "--no-progress"]
        args += ["--out", str(out_dir / f"epoch_{epoch}.pkl"), "--report-dir", str(out_dir)]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            assert skel_test(args) == 0
        printed[epoch] = buffer.getvalue()
    return out_dir, printed


def test_scores_are_the_clip_averaged_probabilities_in_dataset_order(tiny_run, tiny, tested):
    out_dir, _ = tested
    saved = load_score_file(out_dir / f"epoch_{tiny.epochs}.pkl")
    cfg = Config.fromfile(tiny.config)
    model = build_model(cfg.model.to_dict())
    model.load_state_dict(load_checkpoint(tiny_run.checkpoint(tiny.epochs))["state_dict"])
    model.eval()
    dataset = build_dataset(cfg.data.test)
    expected, labels = [], []
    with torch.no_grad():
        for i in range(len(dataset)):
            sample = dataset[i]
            clips = sample["keypoint"]  # (2 clips, M, T, V, C): each clip a batch of one
            assert clips.shape[0] == 2
            expected.append(model(clips).softmax(-1).mean(0).numpy())  # average_clips='prob'
            labels.append(sample["label"])
    np.testing.assert_allclose(saved.scores, np.stack(expected), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(saved.labels, labels)


def test_skel_test_prints_the_metrics_of_its_scores(tiny_run, tiny, tested):
    out_dir, outputs = tested
    out = outputs[tiny.epochs]
    line = next(ln for ln in out.splitlines() if ln.startswith("test top-1 accuracy:"))
    assert line.endswith("8 clips)")
    saved = load_score_file(out_dir / f"epoch_{tiny.epochs}.pkl")
    predicted = saved.scores.argmax(1)
    top1 = np.mean(predicted == saved.labels)
    top5 = np.mean([label in np.argsort(-row)[:5] for row, label in zip(*saved, strict=True)])
    per_class = [np.mean(predicted[saved.labels == c] == c) for c in np.unique(saved.labels)]
    assert printed_percentages(line) == pytest.approx([top1, top5, np.mean(per_class)], abs=5e-5)
    # skel-train's final test of the same weights on the same data printed the same line.
    assert line in tiny_run.stdout


def test_report_files_hold_per_class_accuracy_and_the_confusion_matrix(tiny, tested):
    out_dir, _ = tested
    saved = load_score_file(out_dir / "epoch_1.pkl")  # the last skel-test run wrote the reports
    rows = json.loads((out_dir / "per_class_accuracy.json").read_text())
    assert [r["name"] for r in rows][:3] == ["wave", "clap", "squat"] and len(rows) == 8
    predicted = saved.scores.argmax(1)
    for row in rows:
        members = saved.labels == row["label"]
        assert row["count"] == members.sum()
        assert row["correct"] == (predicted[members] == row["label"]).sum()
        assert row["accuracy"] == pytest.approx(row["correct"] / row["count"])
    csv_lines = (out_dir / "per_class_accuracy.csv").read_text().splitlines()
    assert csv_lines[0] == "label,name,count,correct,accuracy" and len(csv_lines) == 9
    assert csv_lines[1].split(",")[:4] == [
        "0",
        "wave",
        str(rows[0]["count"]),
        str(rows[0]["correct"]),
    ]
    picture = imread(out_dir / "confusion_matrix.png")
    assert picture.ndim == 3 and min(picture.shape[:2]) > 300


def test_fusing_two_score_files(tiny, tested, tmp_path, capsys):
    out_dir, _ = tested
    first, second = out_dir / f"epoch_{tiny.epochs}.pkl", out_dir / "epoch_1.pkl"
    fused_path = tmp_path / "fused.pkl"
    args = [str(first), str(second), "--weights", "2", "1", "--out", str(fused_path)]
    assert skel_fuse(args) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("fused (2 streams) top-1 accuracy:")
    a, b = load_score_file(first), load_score_file(second)
    expected = 2 * a.scores + b.scores
    fused = load_score_file(fused_path)
    np.testing.assert_allclose(fused.scores, expected, rtol=1e-12)
    np.testing.assert_array_equal(fused.labels, a.labels)
    assert printed_percentages(line)[0] == pytest.approx(
        np.mean(expected.argmax(1) == a.labels), abs=5e-5
    )


def test_fuse_refuses_score_files_of_different_samples(tmp_path, capsys, rng):
    scores = rng.random((6, 4))
    save_score_file(tmp_path / "a.pkl", scores, [0, 1, 2, 3, 0, 1])
    save_score_file(tmp_path / "b.pkl", scores, [1, 0, 2, 3, 0, 1])
    assert skel_fuse([str(tmp_path / "a.pkl"), str(tmp_path / "b.pkl")]) == 2
    err = capsys.readouterr().err
    assert "the labels of" in err and "b.pkl differ from those of" in err
    assert skel_fuse([str(tmp_path / "a.pkl"), "--weights", "1", "2"]) == 2
    assert "2 weights given for 1 score sets" in capsys.readouterr().err


def test_fuse_takes_labels_of_pyskl_score_files_from_the_annotations(tmp_path, capsys, rng):
    ann = generate_annotations(SyntheticConfig(num_clips=16, min_frames=8, max_frames=10))
    save_annotations(tmp_path / "ann.pkl", ann["annotations"], ann["split"])
    labels = {r["frame_dir"]: r["label"] for r in ann["annotations"]}
    test_labels = np.array([labels[name] for name in ann["split"]["test"]])
    scores = rng.random((len(test_labels), 8))
    scores[np.arange(len(scores)), test_labels] += 1  # every sample right
    save_score_file(tmp_path / "j.pkl", scores)  # PYSKL's format: no labels
    assert skel_fuse([str(tmp_path / "j.pkl")]) == 2
    assert "give --ann-file and --split" in capsys.readouterr().err
    args = [str(tmp_path / "j.pkl"), "--ann-file", str(tmp_path / "ann.pkl"), "--split", "test"]
    assert skel_fuse(args) == 0
    assert "top-1 accuracy: 100.00%" in capsys.readouterr().out


def test_unaveraged_clip_scores_are_refused_with_the_key_to_set(tiny_run, tiny, capsys):
    args = [tiny.config, str(tiny_run.checkpoint(1)), "--no-progress"]
    args += ["--cfg-options", "model.test_cfg.average_clips=None"]
    assert skel_test(args) == 2
    assert "set model.test_cfg.average_clips to 'prob' or 'score'" in capsys.readouterr().err

"""skel-convert's command line, its printed summary, and PYSKL's file conventions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from skel_data.converters.cli import main
from skel_data.converters.summary import ConversionLog, Summary, write_converted


def _clip(name: str, frames: int, label: int) -> dict:
    return {"frame_dir": name, "label": label, "total_frames": frames,
            "keypoint": np.zeros((1, frames, 17, 2), np.float32),
            "keypoint_score": np.ones((1, frames, 17), np.float32), "img_shape": (10, 20)}


def test_output_follows_pyskl_conventions(tmp_path):
    records = [_clip("a", 3, 0), _clip("b", 8, 2), _clip("c", 4, 1)]
    write_converted(tmp_path / "out.pkl", records, {"train": ["a", "b"], "val": ["c"]},
                    ConversionLog(), dataset="test", layout="coco", source=tmp_path)
    with open(tmp_path / "out.pkl", "rb") as file:  # what PYSKL does (mmcv.load)
        content = pickle.load(file)
    assert set(content) == {"split", "annotations"}
    assert content["split"] == {"train": ["a", "b"], "val": ["c"]}
    (first, *_) = content["annotations"]
    assert first["keypoint"].dtype == np.float32 and first["keypoint"].shape == (1, 3, 17, 2)
    assert first["keypoint_score"].shape == (1, 3, 17) and first["img_shape"] == (10, 20)


def test_summary_counts_and_prints_everything(tmp_path):
    log = ConversionLog()
    for name in ("x1", "x2", "x3", "x4", "x5", "x6"):
        log.skip(name, "too short")
    log.note("repairs", 2)
    summary = write_converted(tmp_path / "out.pkl", [_clip("a", 3, 0), _clip("b", 8, 2),
                                                     _clip("c", 4, 1)],
                              None, log, dataset="demo", layout="coco",
                              class_names=("sit", "stand", "wave"), source=tmp_path)
    assert isinstance(summary, Summary)
    assert (summary.frames_min, summary.frames_median, summary.frames_max) == (3, 4.0, 8)
    assert summary.num_skipped == 6 and summary.num_classes == 3
    text = str(summary)
    assert text.splitlines() == [
        f"demo: 3 clips -> {tmp_path / 'out.pkl'} (layout coco)",
        "  splits: none (a plain list of records)",
        "  classes: 3",
        "  frames per clip: min 3, median 4, max 8",
        "  class names: 0=sit, 1=stand, 2=wave",
        "  skipped: 6 clips",
        "    6 too short: x1, x2, x3, x4, x5, ...",
        "  repairs: 2",
    ]


def test_cli_converts_and_prints_the_summary(tmp_path, capsys, rng):
    (tmp_path / "src" / "train").mkdir(parents=True)
    np.savez(tmp_path / "src" / "train" / "a.npz", keypoint=rng.uniform(size=(1, 4, 17, 2)),
             label=1)
    (tmp_path / "src" / "a_frame.csv").write_text("frame,person,joint,x,y\n0,0,3,1,2\n")
    (tmp_path / "labels.csv").write_text("a_frame,0\n")
    status = main(["arrays", str(tmp_path / "src"), str(tmp_path / "out.pkl"), "--layout", "coco",
                   "--labels", str(tmp_path / "labels.csv"), "--img-shape", "240", "320"])
    out = capsys.readouterr().out
    assert status == 0
    assert "arrays: 2 clips" in out and "splits: train 1" in out
    assert "2D clips without scores (score 1 given): 1" in out
    with open(tmp_path / "out.pkl", "rb") as file:
        content = pickle.load(file)
    assert [r["img_shape"] for r in content["annotations"]] == [(240, 320), (240, 320)]


@pytest.mark.parametrize("command", ["ntu", "nw-ucla", "penn", "arrays"])
def test_cli_reports_a_missing_source(tmp_path, capsys, command):
    status = main([command, str(tmp_path / "nowhere"), str(tmp_path / "out.pkl")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith(f"skel-convert {command}: error: ") and "nowhere" in err
    assert not (tmp_path / "out.pkl").exists()


def test_cli_reports_bad_input_naming_the_file(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("frame,person,joint,x,y\n0,0,0,1,oops\n")
    status = main(["arrays", str(tmp_path / "bad.csv"), str(tmp_path / "out.pkl"),
                   "--labels", str(tmp_path / "none.csv")])
    assert status == 1 and "none.csv" in capsys.readouterr().err
    (tmp_path / "labels.csv").write_text("bad,0\n")
    status = main(["arrays", str(tmp_path / "bad.csv"), str(tmp_path / "out.pkl"),
                   "--labels", str(tmp_path / "labels.csv")])
    err = capsys.readouterr().err
    assert status == 1 and "bad.csv" in err and "line 2: column 'y': 'oops'" in err

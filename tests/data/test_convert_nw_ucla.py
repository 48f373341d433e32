"""NW-UCLA all_sqe JSON -> pickle: coordinates, labels, cross-view split, 1-frame clips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skel_core.annotations import load_annotations
from skel_core.errors import AnnotationError
from skel_core.safe_pickle import safe_load
from skel_data.converters import NW_UCLA_CLASSES, convert_nw_ucla

SUBSET = ("a01_s01_e00_v01", "a06_s03_e01_v02", "a12_s09_e04_v03", "a02_s09_e04_v03")


@pytest.fixture
def subset(shared_data, tmp_path):
    """A directory of symlinks to a few real clips (one of them a single frame long)."""
    folder = tmp_path / "all_sqe"
    folder.mkdir()
    for name in SUBSET:
        (folder / f"{name}.json").symlink_to(shared_data / "nw_ucla" / "all_sqe" / f"{name}.json")
    return folder


@pytest.mark.shared_data
def test_subset_keeps_coordinates_labels_and_views(subset, tmp_path):
    summary = convert_nw_ucla(subset, tmp_path / "ucla.pkl")
    content = load_annotations(tmp_path / "ucla.pkl", layout="kinect_v1", num_classes=10)
    assert content.split == {"train": ["a01_s01_e00_v01", "a06_s03_e01_v02"],
                             "test": ["a02_s09_e04_v03", "a12_s09_e04_v03"]}
    for record in content.annotations:
        raw = json.loads((subset / f"{record['frame_dir']}.json").read_text())
        skeletons = np.array(raw["skeletons"])
        assert record["keypoint"].dtype == np.float32
        assert record["keypoint"].shape == (1, len(skeletons), 20, 3)
        np.testing.assert_allclose(record["keypoint"][0], skeletons, rtol=1e-6)
        assert record["label"] == raw["label"] - 1
        assert record["total_frames"] == len(skeletons)
    labels = {r["frame_dir"]: r["label"] for r in content.annotations}
    assert labels == {"a01_s01_e00_v01": 0, "a06_s03_e01_v02": 5, "a12_s09_e04_v03": 9,
                      "a02_s09_e04_v03": 1}
    assert summary.class_names == NW_UCLA_CLASSES and NW_UCLA_CLASSES[9] == "carry"
    assert summary.frames_min == 1 and summary.notes == {"1-frame clips (kept)": 1}


@pytest.mark.shared_data
def test_min_frames_skips_short_clips_with_a_reason(subset, tmp_path):
    summary = convert_nw_ucla(subset, tmp_path / "ucla.pkl", min_frames=2)
    assert summary.num_clips == 3 and summary.split_sizes == {"train": 2, "test": 1}
    assert summary.skipped == {"shorter than 2 frame(s)": ["a02_s09_e04_v03"]}


@pytest.mark.shared_data
def test_full_release_gives_the_published_cross_view_split(shared_data, tmp_path):
    summary = convert_nw_ucla(shared_data / "nw_ucla" / "all_sqe", tmp_path / "ucla.pkl")
    assert summary.split_sizes == {"train": 1020, "test": 464}
    assert summary.num_clips == 1484 and summary.num_skipped == 0
    content = load_annotations(tmp_path / "ucla.pkl", layout="kinect_v1", num_classes=10)
    test = {r["frame_dir"]: r["label"] for r in content.select("test")}
    # CTR-GCN's list of the test clips, with its 1-based labels.
    ctrgcn_test = {item["file_name"]: item["label"] - 1
                   for item in safe_load(shared_data / "nw_ucla" / "val_label.pkl")}
    assert test == ctrgcn_test
    assert np.bincount(content.labels).tolist() == np.bincount(
        [int(name[1:3]) for name in content.split["train"] + content.split["test"]]
    )[[1, 2, 3, 4, 5, 6, 8, 9, 11, 12]].tolist()


def _write_clip(folder, name, label, skeletons):
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(
        {"file_name": name, "skeletons": skeletons, "label": label}))


def test_label_must_agree_with_the_action_in_the_name(tmp_path):
    _write_clip(tmp_path / "src", "a08_s01_e00_v01", 3, np.zeros((4, 20, 3)).tolist())
    with pytest.raises(AnnotationError, match=r"(?s)label.*3 means action a03, but the file name "
                                              r"says a08") as info:
        convert_nw_ucla(tmp_path / "src", tmp_path / "out.pkl")
    assert "a08_s01_e00_v01.json" in str(info.value)


def test_bad_skeleton_shape_names_the_file_and_key(tmp_path):
    _write_clip(tmp_path / "src", "a08_s01_e00_v01", 7, np.zeros((4, 19, 3)).tolist())
    with pytest.raises(AnnotationError, match=r"(?s)a08_s01_e00_v01.json.*key 'skeletons'.*"
                                              r"shape \(4, 19, 3\)"):
        convert_nw_ucla(tmp_path / "src", tmp_path / "out.pkl")
    assert not (tmp_path / "out.pkl").exists()

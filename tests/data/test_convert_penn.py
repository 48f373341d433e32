"""Penn Action .mat -> 2D pickle in the coco and penn layouts: joints, scores, split, shapes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import loadmat, savemat

from skel_core.annotations import load_annotations
from skel_core.errors import AnnotationError
from skel_data.converters import PENN_ACTION_CLASSES, convert_penn

SUBSET = ("0001", "0002", "0623")  # test, train, and a 564-frame clip
COCO_OF_PENN = [0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # head -> nose; limbs in order


@pytest.fixture
def subset(shared_data, tmp_path):
    folder = tmp_path / "labels"
    folder.mkdir()
    for name in SUBSET:
        (folder / f"{name}.mat").symlink_to(shared_data / "penn_action" / "labels" / f"{name}.mat")
    return folder


@pytest.mark.shared_data
def test_coco_layout_maps_joints_and_visibility(subset, tmp_path):
    summary = convert_penn(subset, tmp_path / "penn.pkl")
    content = load_annotations(tmp_path / "penn.pkl", layout="coco", num_classes=15)
    assert content.split == {"train": ["0002"], "test": ["0001", "0623"]}
    assert summary.class_names == PENN_ACTION_CLASSES
    for record in content.annotations:
        mat = loadmat(subset / f"{record['frame_dir']}.mat")
        frames = mat["x"].shape[0]
        assert record["total_frames"] == frames
        assert record["keypoint"].shape == (1, frames, 17, 2)
        assert record["keypoint"].dtype == record["keypoint_score"].dtype == np.float32
        np.testing.assert_allclose(record["keypoint"][0, :, 0, 0], mat["x"][:, 0])  # head
        np.testing.assert_allclose(record["keypoint"][0, :, 0, 1], mat["y"][:, 0])
        np.testing.assert_allclose(record["keypoint"][0, :, 16], np.stack(
            [mat["x"][:, 12], mat["y"][:, 12]], axis=1))  # right ankle
        np.testing.assert_array_equal(record["keypoint_score"][0][:, COCO_OF_PENN],
                                      mat["visibility"])
        assert not record["keypoint"][0, :, 1:5].any()  # eyes and ears: missing
        assert not record["keypoint_score"][0, :, 1:5].any()
        height, width = mat["dimensions"][0, :2]
        assert record["img_shape"] == record["original_shape"] == (height, width)
        assert PENN_ACTION_CLASSES[record["label"]] == mat["action"][0]
    assert content.annotations[2]["total_frames"] == 564
    assert content.annotations[0]["img_shape"] == (360, 480)


@pytest.mark.shared_data
def test_penn_layout_keeps_the_13_joints(subset, tmp_path):
    convert_penn(subset, tmp_path / "penn.pkl", layout="penn")
    (record, *_) = load_annotations(tmp_path / "penn.pkl", layout="penn").annotations
    mat = loadmat(subset / "0001.mat")
    np.testing.assert_allclose(record["keypoint"][0], np.stack([mat["x"], mat["y"]], axis=-1))
    np.testing.assert_array_equal(record["keypoint_score"][0], mat["visibility"])


@pytest.mark.shared_data
def test_full_release_gives_the_official_split(shared_data, tmp_path):
    summary = convert_penn(shared_data / "penn_action" / "labels", tmp_path / "penn.pkl")
    assert summary.split_sizes == {"train": 1258, "test": 1068}
    assert summary.num_clips == 2326 and summary.num_classes == 15


def _mat(path, frames: int, **overrides):
    fields = {"x": np.ones((frames, 13)), "y": np.ones((frames, 13)),
              "visibility": np.ones((frames, 13), np.uint8), "action": "squat",
              "pose": "front", "train": np.int32(1),
              "dimensions": np.array([240, 320, frames % 65536], np.uint16),
              "nframes": np.uint8(frames % 256)}
    savemat(path, {**fields, **overrides})


def test_frame_count_comes_from_the_arrays_not_the_wrapped_nframes(tmp_path):
    (tmp_path / "src").mkdir()
    _mat(tmp_path / "src" / "0001.mat", 300)
    summary = convert_penn(tmp_path / "src", tmp_path / "out.pkl")
    (record,) = load_annotations(tmp_path / "out.pkl").annotations
    assert record["total_frames"] == 300 and record["keypoint"].shape[1] == 300
    assert record["img_shape"] == (240, 320) and record["label"] == 11
    assert summary.split_sizes == {"train": 1, "test": 0}


def test_bad_fields_are_all_reported_with_the_file(tmp_path):
    (tmp_path / "src").mkdir()
    _mat(tmp_path / "src" / "0007.mat", 5, action="skating", train=np.int32(0),
         visibility=np.ones((4, 13), np.uint8))
    with pytest.raises(AnnotationError) as info:
        convert_penn(tmp_path / "src", tmp_path / "out.pkl")
    message = str(info.value)
    assert "0007.mat" in message and "3 annotation problem(s)" in message
    assert "key 'action': 'skating' is not a Penn Action class" in message
    assert "key 'train': must be 1 (train) or -1 (test), got [0]" in message
    assert "key 'visibility': shape (4, 13) differs from x's (5, 13)" in message

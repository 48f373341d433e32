"""NTU RGB+D raw .skeleton -> pickle: parsing, person selection, missing frames, splits."""

from __future__ import annotations

import numpy as np
import pytest

from skel_core.annotations import load_annotations
from skel_core.errors import AnnotationError, CorruptFileError
from skel_data.converters.ntu import convert_ntu, ntu_splits, read_skeleton_file, select_persons

REAL = "S001C001P001R001A001"


def _skeleton_text(frames: list[list[tuple[int, np.ndarray]]]) -> str:
    """A .skeleton file: 10 values per body line, 12 per joint line (x y z then filler)."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, xyz in bodies:
            lines.append(f"{body_id} 0 1 1 1 1 0 0.01 0.02 2")
            lines.append("25")
            lines += [" ".join(f"{v:.6f}" for v in joint) + " 200 150 900 500 0 0 0 1 2"
                      for joint in xyz]
    return "\n".join(lines) + "\n"


def _upright(offset_x: float, rng: np.random.Generator, jitter: float = 0.0) -> np.ndarray:
    """A standing skeleton: 1.4 m tall, 0.24 m wide, shifted along x."""
    joints = np.stack([0.01 * np.arange(25) + offset_x, 0.06 * np.arange(25),
                       np.full(25, 3.0)], axis=1)
    return (joints + jitter * rng.standard_normal((25, 3))).astype(np.float32)


@pytest.mark.shared_data
def test_real_file_coordinates_match_the_text(shared_data, tmp_path):
    path = shared_data / "ntu_raw" / f"{REAL}.skeleton"
    summary = convert_ntu(path.parent, tmp_path / "ntu.pkl")
    (record,) = load_annotations(tmp_path / "ntu.pkl", layout="nturgb+d", num_classes=60)\
        .annotations
    # Read independently: line 1 is the frame count; frame 1 is "1" (bodies), the body line,
    # "25", then 25 joint lines; every frame here is 28 lines, so the last 25 lines are the last
    # frame's joints.
    lines = path.read_text().splitlines()
    assert int(lines[0]) == 103 and len(lines) == 1 + 103 * 28
    first = [[float(v) for v in line.split()[:3]] for line in lines[4:29]]
    last = [[float(v) for v in line.split()[:3]] for line in lines[-25:]]
    assert record["frame_dir"] == REAL and record["label"] == 0
    assert record["total_frames"] == 103
    assert record["keypoint"].shape == (1, 103, 25, 3) and record["keypoint"].dtype == np.float32
    np.testing.assert_allclose(record["keypoint"][0, 0], first, rtol=1e-6)
    np.testing.assert_allclose(record["keypoint"][0, -1], last, rtol=1e-6)
    assert record["keypoint"][0, 0, 0].tolist() == pytest.approx([0.2181153, 0.1725972, 3.785547])
    assert summary.split_sizes == {"xsub_train": 1, "xsub_val": 0, "xview_train": 0,
                                   "xview_val": 1}
    assert summary.dataset == "ntu60" and summary.num_classes == 60


def test_two_bodies_with_missing_frames(tmp_path, rng):
    # Frames 0 and 12 hold no body; A (still) is in frames 1-16 but not 9; B (moving) in 3-19;
    # C is in 3 frames only, so it is noise.
    a = {f: _upright(0.0, rng, 0.001) for f in range(1, 17) if f != 9}
    b = {f: _upright(0.1 * f, rng, 0.001) for f in range(3, 20)}
    c = {f: _upright(-1.0, rng, 0.5) for f in (5, 6, 7)}
    frames = []
    for f in range(20):
        bodies = [(body_id, track[f]) for body_id, track in ((111, a), (222, b), (333, c))
                  if f in track]
        frames.append([] if f == 12 else bodies)
    path = tmp_path / "S002C002P003R001A050.skeleton"
    path.write_text(_skeleton_text(frames))

    kept = [f for f in range(20) if frames[f]]
    assert len(kept) == 18
    # B moves more, so it is placed first (person 0); but only A is present in the first kept
    # frame, so the persons swap: A is person 0.
    expected = np.zeros((2, 18, 25, 3), np.float32)
    for k, f in enumerate(kept):
        if f in a:
            expected[0, k] = a[f]
        if f in b:
            expected[1, k] = b[f]
    summary = convert_ntu(tmp_path, tmp_path / "out.pkl")
    (record,) = load_annotations(tmp_path / "out.pkl", layout="nturgb+d").annotations
    np.testing.assert_allclose(record["keypoint"], expected, atol=1e-6)
    assert record["total_frames"] == 18 and record["label"] == 49
    assert not record["keypoint"][0, kept.index(10) - 1].any()  # A absent in frame 9
    assert summary.notes["frames without any body (dropped)"] == 2
    assert summary.notes["bodies dropped as noise (too short or implausibly wide)"] == 1


def test_the_more_moving_person_comes_first(rng):
    still = [_upright(0.0, rng, 0.001) for _ in range(15)]
    moving = [_upright(0.05 * f, rng, 0.001) for f in range(15)]
    keypoint = select_persons([[(1, s), (2, m)] for s, m in zip(still, moving, strict=True)])
    np.testing.assert_array_equal(keypoint[0], moving)
    np.testing.assert_array_equal(keypoint[1], still)


def test_implausibly_wide_body_is_noise(rng):
    person = [_upright(0.0, rng, 0.001) for _ in range(15)]
    # Lying flat: 1.4 m along x, 0.24 m along y, and moving a lot.
    flat = [_upright(0.0, rng, 0.001)[:, [1, 0, 2]] + np.float32(0.2 * f) for f in range(15)]
    keypoint = select_persons([[(7, p), (8, q)] for p, q in zip(person, flat, strict=True)])
    assert keypoint.shape == (1, 15, 25, 3)
    np.testing.assert_array_equal(keypoint[0], person)


def test_bodies_that_do_not_overlap_share_a_person(rng):
    # By decreasing motion: `first` (frames 0-13) takes person 0; `whole` (0-27) overlaps it
    # and takes person 1; `second` (14-27) overlaps `whole` but not `first`, so joins person 0.
    first = {f: _upright(0.1 * f, rng) for f in range(14)}
    whole = {f: _upright(0.03 * f, rng) for f in range(28)}
    second = {f: _upright(2.0, rng) for f in range(14, 28)}
    frames = [[(i, t[f]) for i, t in enumerate((second, whole, first)) if f in t]
              for f in range(28)]
    keypoint = select_persons(frames)
    np.testing.assert_array_equal(keypoint[0], [first[f] for f in range(14)]
                                  + [second[f] for f in range(14, 28)])
    np.testing.assert_array_equal(keypoint[1], [whole[f] for f in range(28)])


def test_clip_without_bodies_is_skipped(tmp_path, rng):
    (tmp_path / "S001C002P002R001A003.skeleton").write_text(_skeleton_text([[], [], []]))
    (tmp_path / "S001C002P002R001A004.skeleton").write_text(
        _skeleton_text([[(5, _upright(0, rng))]] * 3))
    summary = convert_ntu(tmp_path, tmp_path / "out.pkl")
    assert summary.num_clips == 1
    assert summary.skipped == {"no body in any frame": ["S001C002P002R001A003"]}
    assert "1 no body in any frame: S001C002P002R001A003" in str(summary)


def test_nothing_to_write_is_an_error(tmp_path):
    (tmp_path / "S001C002P002R001A003.skeleton").write_text(_skeleton_text([[]]))
    with pytest.raises(AnnotationError, match="no clip to write.*1 no body in any frame"):
        convert_ntu(tmp_path, tmp_path / "out.pkl")
    assert not (tmp_path / "out.pkl").exists()


def test_splits_follow_the_official_lists():
    names = ["S001C001P001R001A001", "S001C002P003R002A013", "S002C003P045R001A050",
             "S017C001P040R001A060", "S018C001P081R001A061", "S019C002P099R001A120"]
    ntu60 = ntu_splits(names[:4], "ntu60")
    assert ntu60 == {
        "xsub_train": ["S001C001P001R001A001", "S002C003P045R001A050"],
        "xsub_val": ["S001C002P003R002A013", "S017C001P040R001A060"],
        "xview_train": ["S001C002P003R002A013", "S002C003P045R001A050"],
        "xview_val": ["S001C001P001R001A001", "S017C001P040R001A060"],
    }
    ntu120 = ntu_splits(names, "ntu120")
    assert ntu120["xsub_train"] == [names[0], names[2], names[4]]
    assert ntu120["xset_train"] == [names[2], names[4]]
    assert ntu120["xset_val"] == [names[0], names[1], names[3], names[5]]


def test_dataset_choice_and_exclude_list(tmp_path, rng):
    body = _skeleton_text([[(1, _upright(0, rng))]] * 2)
    for name in ("S001C001P001R001A001", "S001C001P001R001A002", "S018C001P001R001A061"):
        (tmp_path / f"{name}.skeleton").write_text(body)
    exclude = tmp_path / "missing.txt"
    exclude.write_text("S001C001P001R001A002\n\n")
    auto = convert_ntu(tmp_path, tmp_path / "120.pkl", exclude=exclude)
    assert auto.dataset == "ntu120" and auto.num_classes == 120
    assert set(auto.split_sizes) == {"xsub_train", "xsub_val", "xset_train", "xset_val"}
    assert auto.skipped == {"listed in the exclude list": ["S001C001P001R001A002"]}
    ntu60 = convert_ntu(tmp_path, tmp_path / "60.pkl", dataset="ntu60")
    assert ntu60.num_clips == 2
    assert ntu60.skipped == {"action above 60 (not in ntu60)": ["S018C001P001R001A061"]}
    labels = [r["label"] for r in load_annotations(tmp_path / "120.pkl").annotations]
    assert labels == [0, 60]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2\n0\n", r"truncated: body count of frame 1 expected at line 3"),
        ("1\n1\n7 0 0\n25\n" + "0.1 0.2 x 0\n" * 25, r"lines 5-29: frame 0, body 0: joints"),
        ("1\n1\n7 0 0\n24\n", r"line 4: frame 0, body 0 has 24 joints"),
        ("one\n", r"line 1: frame count must be an integer, got 'one'"),
        ("0\n5\n", r"line 2: unexpected content after the last frame"),
    ],
)
def test_corrupt_files_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text(text)
    with pytest.raises(CorruptFileError, match=message) as info:
        read_skeleton_file(path)
    assert str(path) in str(info.value)


def test_file_names_must_be_ntu_sample_names(tmp_path):
    (tmp_path / "clip01.skeleton").write_text("0\n")
    with pytest.raises(CorruptFileError, match=r"clip01.*not an NTU RGB\+D sample name"):
        convert_ntu(tmp_path, tmp_path / "out.pkl")

"""Plain .npz / .csv clips -> pickle: values placed right, splits, labels, errors named."""

from __future__ import annotations

import numpy as np
import pytest

from skel_core.annotations import load_annotations
from skel_core.errors import AnnotationError, CorruptFileError
from skel_data.converters import convert_arrays


def _write_csv(path, header: str, rows: list[tuple]) -> None:
    path.write_text(header + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows))


def test_npz_clip_round_trips(tmp_path, rng):
    keypoint = rng.uniform(0, 500, (2, 6, 17, 2))
    score = rng.uniform(0, 1, (2, 6, 17)).astype(np.float32)
    np.savez(tmp_path / "walk_01.npz", keypoint=keypoint, keypoint_score=score, label=3,
             img_shape=np.array([480, 640]))
    summary = convert_arrays(tmp_path / "walk_01.npz", tmp_path / "out.pkl", layout="coco")
    (record,) = load_annotations(tmp_path / "out.pkl", layout="coco").annotations
    assert record["frame_dir"] == "walk_01" and record["label"] == 3
    assert record["total_frames"] == 6 and record["img_shape"] == (480, 640)
    np.testing.assert_array_equal(record["keypoint"], keypoint.astype(np.float32))
    np.testing.assert_array_equal(record["keypoint_score"], score)
    assert summary.split_sizes == {} and summary.layout == "coco"


def test_2d_npz_without_scores_gets_score_one(tmp_path, rng):
    np.savez(tmp_path / "a.npz", keypoint=rng.uniform(size=(1, 3, 17, 2)), label=0)
    summary = convert_arrays(tmp_path, tmp_path / "out.pkl", img_shape=(100, 200))
    (record,) = load_annotations(tmp_path / "out.pkl").annotations
    np.testing.assert_array_equal(record["keypoint_score"], np.ones((1, 3, 17)))
    assert record["img_shape"] == (100, 200)
    assert summary.notes == {"2D clips without scores (score 1 given)": 1}


def test_csv_rows_land_at_their_frame_person_and_joint(tmp_path, rng):
    rows = [(f, p, j, *np.round(rng.uniform(-1, 1, 3), 4), round(float(rng.uniform()), 3))
            for f in range(4) for p in range(2) for j in range(25)
            if (f, p) != (2, 1) and not (f == 0 and j == 7)]
    order = rng.permutation(len(rows))
    _write_csv(tmp_path / "jump.csv", "Frame,Person,Joint,X,Y,Z,Score",
               [rows[k] for k in order])
    convert_arrays(tmp_path / "jump.csv", tmp_path / "out.pkl", layout="ntu",
                   labels={"jump": 26})
    (record,) = load_annotations(tmp_path / "out.pkl", layout="ntu").annotations
    expected = np.zeros((2, 4, 25, 3), np.float32)
    expected_score = np.zeros((2, 4, 25), np.float32)
    for f, p, j, x, y, z, s in rows:
        expected[p, f, j] = x, y, z
        expected_score[p, f, j] = s
    np.testing.assert_array_equal(record["keypoint"], expected)
    np.testing.assert_array_equal(record["keypoint_score"], expected_score)
    assert record["label"] == 26 and record["total_frames"] == 4


def test_2d_csv_without_scores_marks_unlisted_joints_missing(tmp_path):
    _write_csv(tmp_path / "c.csv", "frame,person,joint,x,y",
               [(0, 0, 0, 10.5, 20), (1, 0, 16, 3, 4)])
    convert_arrays(tmp_path, tmp_path / "out.pkl", layout="coco", labels={"c": 1})
    (record,) = load_annotations(tmp_path / "out.pkl", layout="coco").annotations
    assert record["keypoint"].shape == (1, 2, 17, 2)
    assert record["keypoint"][0, 0, 0].tolist() == [10.5, 20]
    assert record["keypoint"][0, 1, 16].tolist() == [3, 4]
    assert np.flatnonzero(record["keypoint_score"]).tolist() == [0, 17 + 16]


def test_subdirectories_are_splits_and_labels_come_from_a_file(tmp_path, rng):
    for split, names in (("train", ("a", "b")), ("test", ("c",))):
        (tmp_path / "src" / split).mkdir(parents=True)
        for name in names:
            np.savez(tmp_path / "src" / split / f"{name}.npz",
                     keypoint=rng.uniform(size=(1, 2, 20, 3)))
    (tmp_path / "labels.csv").write_text("name,label\na,0\nb,1\nc,1\n")
    summary = convert_arrays(tmp_path / "src", tmp_path / "out.pkl", layout="kinect_v1",
                             labels=tmp_path / "labels.csv")
    content = load_annotations(tmp_path / "out.pkl", layout="kinect_v1", num_classes=2)
    assert content.split == {"test": ["c"], "train": ["a", "b"]}
    assert content.labels.tolist() == [1, 0, 1]
    assert summary.num_classes == 2 and "keypoint_score" not in content.annotations[0]


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("frame,person,joint,x,y", [(0, 0, 0, 1, 2), (0, 0, 1, "abc", 2)],
         r"line 3: column 'x': 'abc' is not a finite number"),
        ("frame,person,joint,x,y", [(0, 0, 0, 1, "nan")], r"line 2: column 'y': 'nan'"),
        ("frame,person,joint,x,y", [(0, 0, 0, 1, 2), (0, 0, 0, 3, 4)],
         r"line 3: frame 0, person 0, joint 0 repeats line 2"),
        ("frame,person,joint,x,y", [(0, -1, 0, 1, 2)], r"line 2: column 'person': '-1' is not"),
        ("frame,person,joint,x,y", [(0, 0, 17, 1, 2)], r"line 2: column 'joint': 17 is out of "
                                                       r"range for the layout's 17 joints"),
        ("frame,person,joint,x,y", [(0, 0, 1, 2)], r"line 2: 4 fields but the header has 5"),
        ("frame,person,x,y", [(0, 0, 1, 2)], r"line 1: the header must name the columns"),
        ("frame,person,joint,x,y,sore", [(0, 0, 0, 1, 2, 1)], r"line 1: the header"),
        ("frame,person,joint,x,y", [], r"no joint lines after the header"),
    ],
)
def test_malformed_csv_names_the_file_and_line(tmp_path, header, rows, message):
    _write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(AnnotationError, match=message) as info:
        convert_arrays(tmp_path / "bad.csv", tmp_path / "out.pkl", layout="coco",
                       labels={"bad": 0})
    assert info.value.source.endswith("bad.csv")
    assert not (tmp_path / "out.pkl").exists()


def test_malformed_npz_names_the_key(tmp_path, rng):
    np.savez(tmp_path / "x.npz", keypoint=rng.uniform(size=(1, 3, 17, 2)),
             keypoint_score=np.ones((1, 3, 16)), label=np.array([1, 2]))
    with pytest.raises(AnnotationError) as info:
        convert_arrays(tmp_path, tmp_path / "out.pkl")
    assert info.value.problems == [
        "key 'keypoint_score': must be numeric (M, T, V) = (1, 3, 17), got float64 (1, 3, 16)",
        "key 'label': must be one integer, got int64 (2,)",
    ]
    np.savez(tmp_path / "x.npz", points=np.zeros(3))
    with pytest.raises(AnnotationError, match=r"key 'keypoint': missing \(found \['points'\]\)"):
        convert_arrays(tmp_path, tmp_path / "out.pkl")
    np.savez(tmp_path / "x.npz", keypoint=np.array([None, 1], dtype=object))
    with pytest.raises(CorruptFileError, match=r"x.npz: not a readable .npz file without pickled"):
        convert_arrays(tmp_path, tmp_path / "out.pkl")


def test_labels_missing_or_disagreeing_are_errors(tmp_path, rng):
    np.savez(tmp_path / "x.npz", keypoint=rng.uniform(size=(1, 3, 17, 3)), label=2)
    with pytest.raises(AnnotationError, match="the clip's label 2 differs from the label listed "
                                              "for 'x': 5"):
        convert_arrays(tmp_path, tmp_path / "out.pkl", labels={"x": 5})
    _write_csv(tmp_path / "y.csv", "frame,person,joint,x,y,z", [(0, 0, 0, 1, 2, 3)])
    with pytest.raises(AnnotationError, match="no label: .* do not list 'y'"):
        convert_arrays(tmp_path, tmp_path / "out.pkl")


def test_layout_mismatch_writes_nothing(tmp_path, rng):
    np.savez(tmp_path / "x.npz", keypoint=rng.uniform(size=(1, 3, 5, 3)), label=0)
    with pytest.raises(AnnotationError, match="V = 5 joints but the layout has 25"):
        convert_arrays(tmp_path, tmp_path / "out.pkl", layout="nturgb+d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npz"]

"""The annotation schema: real PYSKL files load and validate, bad records are all reported."""

from __future__ import annotations

import os
import pickle
from types import SimpleNamespace

import numpy as np
import pytest

from skel_core.annotations import (
    AnnotationFile,
    load_annotations,
    save_annotations,
    validate_annotations,
)
from skel_core.errors import AnnotationError, CorruptFileError, LayoutError, UnsafePickleError

HRNET = "pyskl_custom_hrnet/custom_hrnet.pkl"
K400 = "k400_kpfile_sample/sample.pkl"


def _record(name="clip", label=1, frames=4, persons=2, joints=17, channels=2, dtype=np.float32):
    rng = np.random.default_rng(len(name))
    record = {
        "frame_dir": name,
        "label": label,
        "total_frames": frames,
        "img_shape": (480, 640),
        "original_shape": (480, 640),
        "keypoint": rng.random((persons, frames, joints, channels)).astype(dtype),
    }
    if channels == 2:
        record["keypoint_score"] = rng.random((persons, frames, joints)).astype(dtype)
    return record


def _problems(records, **kwargs) -> list[str]:
    with pytest.raises(AnnotationError) as info:
        validate_annotations(records, **kwargs)
    return info.value.problems


def _plain_load(path):
    with open(path, "rb") as handle:  # the shared files are trusted: an independent reference
        return pickle.load(handle)


# --- the real PYSKL file -------------------------------------------------------------------


@pytest.mark.shared_data
def test_real_pyskl_file_loads_and_validates(shared_data):
    content = load_annotations(shared_data / HRNET, layout=17, num_classes=17)
    assert len(content) == 486
    assert {name: len(v) for name, v in content.split.items()} == {
        "xsub_train": 388,
        "xsub_test": 98,
    }
    assert sorted(set(content.labels.tolist())) == list(range(1, 17))
    assert content.num_classes == 17
    for record in content.annotations:
        assert record["keypoint"].dtype == np.float16
        assert record["keypoint_score"].dtype == np.float16
        m, t, v, c = record["keypoint"].shape
        assert (v, c) == (17, 2)
        assert t == record["total_frames"]


@pytest.mark.shared_data
def test_real_file_validates_against_coco_layout_by_name(shared_data):
    load_annotations(shared_data / HRNET, layout="coco")
    with pytest.raises(AnnotationError, match="V = 17 joints but the layout has 25"):
        load_annotations(shared_data / HRNET, layout=SimpleNamespace(num_joints=25))


@pytest.mark.shared_data
def test_real_file_num_classes_16_reports_exactly_label_16(shared_data):
    expected = {
        r["frame_dir"] for r in _plain_load(shared_data / HRNET)["annotations"] if r["label"] == 16
    }
    assert len(expected) > 0
    with pytest.raises(AnnotationError) as info:
        load_annotations(shared_data / HRNET, num_classes=16)
    problems = info.value.problems
    assert len(problems) == len(expected)
    named = {p.split("'")[1] for p in problems}
    assert named == expected
    assert all("key 'label'" in p and "label 16 out of range" in p for p in problems)
    assert info.value.source == str(shared_data / HRNET)


@pytest.mark.shared_data
def test_real_file_select_split(shared_data):
    reference = _plain_load(shared_data / HRNET)
    content = load_annotations(shared_data / HRNET)
    test = content.select("xsub_test")
    assert [r["frame_dir"] for r in test] == reference["split"]["xsub_test"]
    with pytest.raises(AnnotationError, match="xsub_val") as info:
        content.select("xsub_val")
    assert "'xsub_test'" in str(info.value) and "'xsub_train'" in str(info.value)
    only_test = load_annotations(shared_data / HRNET, split="xsub_test")
    assert len(only_test) == 98
    assert list(only_test.split) == ["xsub_test"]


@pytest.mark.shared_data
def test_real_file_round_trips_exactly(shared_data, tmp_path):
    original = load_annotations(shared_data / HRNET)
    out = tmp_path / "copy.pkl"
    save_annotations(out, original)
    assert out.read_bytes()[:2] == b"\x80\x04"  # protocol 4
    assert os.listdir(tmp_path) == ["copy.pkl"]  # no temporary file left behind
    again = load_annotations(out)
    assert again.split == original.split
    assert len(again) == len(original)
    for a, b in zip(again.annotations, original.annotations, strict=True):
        assert a.keys() == b.keys()
        for key in b:
            if isinstance(b[key], np.ndarray):
                assert a[key].dtype == b[key].dtype
                assert np.array_equal(a[key], b[key])
            else:
                assert type(a[key]) is type(b[key]) and a[key] == b[key]


@pytest.mark.shared_data
def test_k400_kpfile_records_without_keypoints_load(shared_data):
    content = load_annotations(shared_data / K400)
    assert len(content) == 100
    assert list(content.split) == ["train"]
    record = content.annotations[0]
    assert "keypoint" not in record
    assert record["frame_inds"].shape == record["box_score"].shape


# --- corrupt and malicious files -----------------------------------------------------------


@pytest.mark.shared_data
def test_truncated_real_file_is_corrupt(shared_data, tmp_path):
    data = (shared_data / HRNET).read_bytes()
    path = tmp_path / "truncated.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated.pkl"):
        load_annotations(path)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (7, "found a int"),
        ({"split": {}}, "found a dict with keys ['split']"),
        ({"annotations": {"a": 1}}, "'annotations' must be a list"),
        ({"annotations": [], "split": ["x"]}, "'split' must be a dict"),
    ],
)
def test_wrong_structure_is_corrupt(tmp_path, content, fragment):
    path = tmp_path / "odd.pkl"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(CorruptFileError, match="odd.pkl") as info:
        load_annotations(path)
    assert fragment in str(info.value)


def test_empty_and_random_files_are_corrupt(tmp_path, rng):
    empty, noise = tmp_path / "empty.pkl", tmp_path / "noise.pkl"
    empty.write_bytes(b"")
    noise.write_bytes(rng.integers(0, 256, 2048, dtype=np.uint8).tobytes())
    for path in (empty, noise):
        with pytest.raises(CorruptFileError, match=path.name):
            load_annotations(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.pkl"):
        load_annotations(tmp_path / "absent.pkl")


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_exploit_hidden_in_valid_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    record = _record()
    record["extra"] = {"meta": {"deep": [1, _Exploit(marker)]}}
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"split": {"train": ["clip"]}, "annotations": [record]}))
    with pytest.raises(UnsafePickleError) as info:
        load_annotations(path)
    assert f"'{os.system.__module__}.system'" in str(info.value)
    assert str(path) in str(info.value)
    assert not marker.exists()
    # The documented escape hatch really is unsafe: it runs the payload.
    load_annotations(path, allow_unsafe=True, validate=False)
    assert marker.exists()


# --- validation ----------------------------------------------------------------------------


def test_good_records_validate():
    records = [
        _record("a"),
        _record("half", dtype=np.float16),
        _record("three_d", channels=3, joints=25),  # 3D: keypoint_score is optional
        _record("int_keypoints", dtype=np.int32),
        _record("no_persons", persons=0),
        {
            "frame_dir": "kp",
            "label": 0,
            "total_frames": 5,
            "raw_file": "kp/part_0.pkl",
            "frame_inds": np.array([1, 1, 5], np.int16),
            "box_score": np.ones(3, np.float16),
        },
    ]
    validate_annotations(records, split={"train": ["a", "half"], "test": []})


def _without(key):
    def change(record):
        del record[key]

    return change


def _arrays(shape):
    def change(record):
        record["keypoint"] = np.zeros(shape, np.float32)
        record["keypoint_score"] = np.zeros(shape[:3], np.float32)

    return change


def _set(key, value):
    def change(record):
        record[key] = value(record) if callable(value) else value

    return change


SINGLE_PROBLEMS = [
    ("missing label", _without("label"), "label", "missing"),
    ("missing total_frames", _without("total_frames"), "total_frames", "missing"),
    ("missing keypoint", _without("keypoint"), "keypoint", "missing"),
    ("missing score", _without("keypoint_score"), "keypoint_score", "required with 2D"),
    ("keypoint rank", _set("keypoint", lambda r: r["keypoint"][0]), "keypoint", "rank 4"),
    (
        "score rank",
        _set("keypoint_score", lambda r: r["keypoint_score"][0]),
        "keypoint_score",
        "rank 3",
    ),
    (
        "channels",
        _set("keypoint", lambda r: np.zeros((2, 4, 17, 4), np.float32)),
        "keypoint",
        "C = 4",
    ),
    ("joints", _arrays((2, 4, 18, 2)), "keypoint", "V = 18 joints but the layout has 17"),
    (
        "score persons",
        _set("keypoint_score", np.zeros((3, 4, 17), np.float32)),
        "keypoint_score",
        "(3, 4, 17) does not match keypoint's (M, T, V) = (2, 4, 17)",
    ),
    ("frames", _set("total_frames", 5), "keypoint", "T = 4 frames but total_frames = 5"),
    ("empty clip", _arrays((2, 0, 17, 2)), "keypoint", "empty clip"),
    ("float label", _set("label", 3.0), "label", "must be an integer"),
    ("bool label", _set("label", True), "label", "must be an integer"),
    ("negative label", _set("label", -1), "label", "negative label -1"),
    ("label range", _set("label", np.int64(10)), "label", "label 10 out of range"),
    (
        "nan keypoint",
        _set("keypoint", lambda r: np.where(r["keypoint"] > 0.5, np.nan, r["keypoint"])),
        "keypoint",
        "NaN/inf",
    ),
    (
        "inf score",
        _set(
            "keypoint_score",
            lambda r: np.where(r["keypoint_score"] > 0.5, -np.inf, r["keypoint_score"]),
        ),
        "keypoint_score",
        "NaN/inf",
    ),
    (
        "object dtype",
        _set("keypoint", lambda r: r["keypoint"].astype(object)),
        "keypoint",
        "non-numeric dtype object",
    ),
    (
        "list keypoint",
        _set("keypoint", lambda r: r["keypoint"].tolist()),
        "keypoint",
        "must be a numpy array",
    ),
    ("img_shape", _set("img_shape", (480,)), "img_shape", "(height, width)"),
    ("frame_inds range", _set("frame_inds", np.array([0, 9])), "frame_inds", "outside"),
    ("box_score length", _set("box_score", np.ones(2)), "box_score", "2 scores but 3"),
]


@pytest.mark.parametrize(
    ("change", "key", "fragment"),
    [c[1:] for c in SINGLE_PROBLEMS],
    ids=[c[0] for c in SINGLE_PROBLEMS],
)
def test_each_problem_is_reported_with_sample_and_key(change, key, fragment):
    record = _record("bad")
    if key == "box_score":
        record["frame_inds"] = np.array([1, 2, 3])
    change(record)
    problems = _problems([_record("good"), record], layout=17, num_classes=10)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"frame_dir 'bad': key '{key}':")
    assert fragment in problems[0]


def test_all_problems_of_all_records_are_reported_at_once():
    many = _record("many")
    many["label"] = -2
    many["total_frames"] = 0
    many["keypoint"] = np.full((1, 3, 18, 2), np.inf, np.float16)
    many["keypoint_score"] = np.zeros((1, 3, 17), np.float16)
    del many["img_shape"]
    nameless = _record()
    del nameless["frame_dir"]
    records = [many, _record("fine"), nameless, "not a dict", _record("fine")]
    problems = _problems(
        records, layout=17, num_classes=5, split={"train": ["fine", "ghost"], "test": "many"}
    )
    expected = [
        "frame_dir 'many': key 'label': negative label -2",
        "frame_dir 'many': key 'total_frames': empty clip (total_frames = 0)",
        "frame_dir 'many': key 'keypoint': V = 18 joints but the layout has 17",
        "frame_dir 'many': key 'keypoint': 108 NaN/inf value(s)",
        "frame_dir 'many': key 'keypoint_score': shape (1, 3, 17) does not match keypoint's "
        "(M, T, V) = (1, 3, 18)",
        "annotation #2: key 'frame_dir': missing",
        "annotation #3: is a str, not a dict",
        "frame_dir 'fine': key 'frame_dir': duplicated, at annotation indices [1, 4]",
        "split 'train': frame_dir 'ghost' has no annotation",
        "split 'test': must be a list of frame_dir, got str",
    ]
    assert problems == expected


def test_validation_does_not_modify_records():
    record = _record("nan")
    record["keypoint"][0, 0, 0, 0] = np.nan
    before = {
        key: (value.copy() if isinstance(value, np.ndarray) else value)
        for key, value in record.items()
    }
    _problems([record], num_classes=0)
    assert record.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert record[key].dtype == value.dtype
            assert np.array_equal(record[key], value, equal_nan=True)
        else:
            assert record[key] == value


def test_frame_dir_of_wrong_type_is_named_by_index():
    record = _record()
    record["frame_dir"] = 17
    assert _problems([_record("a"), record]) == [
        "annotation #1: key 'frame_dir': must be a str, got int"
    ]


def test_layout_arguments():
    validate_annotations([_record(joints=25)], layout=SimpleNamespace(num_joints=25))
    with pytest.raises(LayoutError, match="positive joint count"):
        validate_annotations([_record()], layout=0)
    with pytest.raises(LayoutError, match="num_joints"):
        validate_annotations([_record()], layout=object())
    with pytest.raises(AnnotationError, match="list of dicts"):
        validate_annotations({"frame_dir": "x"})


# --- the AnnotationFile and saving ---------------------------------------------------------


def test_annotation_file_labels_and_select_errors():
    content = AnnotationFile(
        [_record("a", label=3), _record("b", label=0)],
        {"train": ["b", "a"], "broken": ["a", "zz"]},
        "mem.pkl",
    )
    assert content.labels.tolist() == [3, 0] and content.labels.dtype == np.int64
    assert content.num_classes == 4
    assert [r["frame_dir"] for r in content.select("train")] == ["b", "a"]
    with pytest.raises(AnnotationError, match="frame_dir 'zz' has no annotation"):
        content.select("broken")
    with pytest.raises(AnnotationError, match="has no split"):
        AnnotationFile([_record()]).select("train")


def test_save_without_split_writes_bare_list_and_round_trips(tmp_path):
    records = [_record("a", dtype=np.float16), _record("b", channels=3)]
    path = tmp_path / "list.pkl"
    save_annotations(path, records)
    assert isinstance(_plain_load(path), list)
    loaded = load_annotations(path)
    assert loaded.split is None
    assert loaded.annotations[0]["keypoint"].dtype == np.float16
    assert np.array_equal(loaded.annotations[1]["keypoint"], records[1]["keypoint"])


def test_save_with_split_writes_pyskl_dict(tmp_path):
    path = tmp_path / "dict.pkl"
    save_annotations(path, [_record("a"), _record("b")], split={"train": ["a"], "test": ["b"]})
    raw = _plain_load(path)
    assert list(raw) == ["split", "annotations"]
    assert load_annotations(path).select("test")[0]["frame_dir"] == "b"


def test_save_validates_first_and_leaves_existing_file(tmp_path):
    path = tmp_path / "keep.pkl"
    save_annotations(path, [_record("a")])
    before = path.read_bytes()
    bad = _record("bad")
    bad["label"] = -1
    with pytest.raises(AnnotationError, match="frame_dir 'bad': key 'label'"):
        save_annotations(path, [bad])
    with pytest.raises(AnnotationError, match="'ghost' has no annotation"):
        save_annotations(path, [_record("a")], split={"train": ["ghost"]})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["keep.pkl"]

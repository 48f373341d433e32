"""PoseDataset: split selection, label maps, PYSKL's filters and bad input, real and made."""

import pickle

import numpy as np
import pytest

from skel_core.errors import AnnotationError, ConfigError
from skel_core.safe_pickle import safe_load
from skel_data.dataset import PoseDataset, RepeatDataset, read_class_names
from skel_data.registry import DATASETS

GCN_2D = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
    dict(type="UniformSample", clip_len=8, num_clips=2),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["keypoint"]),
]


def clip(name, label=0, m=1, t=6, v=17, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "frame_dir": name,
        "label": label,
        "total_frames": t,
        "img_shape": (480, 640),
        "keypoint": rng.uniform(0, 400, (m, t, v, 2)).astype(np.float32),
        "keypoint_score": rng.uniform(0.1, 1, (m, t, v)).astype(np.float32),
    }


def write(path, records, split=None):
    with open(path, "wb") as f:
        pickle.dump(records if split is None else {"split": split, "annotations": records}, f)
    return path


@pytest.fixture(scope="module")
def hrnet(shared_data):
    path = shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl"
    return path, safe_load(path)


@pytest.mark.shared_data
def test_real_pyskl_pickle_split_in_file_order(hrnet):
    path, content = hrnet
    dataset = PoseDataset(path, split="xsub_test", class_names=[f"c{i}" for i in range(17)])
    wanted = set(content["split"]["xsub_test"])
    in_file_order = [r["frame_dir"] for r in content["annotations"] if r["frame_dir"] in wanted]
    assert len(dataset) == 98 and dataset.frame_dirs == in_file_order
    assert dataset.num_classes == 17 and set(dataset.labels) <= set(range(1, 17))
    sample = dataset[5]
    original = next(r for r in content["annotations"] if r["frame_dir"] == in_file_order[5])
    assert sample["keypoint"].dtype == np.float16  # kept as stored
    np.testing.assert_array_equal(sample["keypoint"], original["keypoint"])
    assert sample["test_mode"] is False and sample["start_index"] == 0
    assert isinstance(sample["rng"], np.random.Generator)


@pytest.mark.shared_data
def test_real_pyskl_pickle_through_a_gcn_pipeline(hrnet):
    path, _ = hrnet
    dataset = PoseDataset(path, GCN_2D, split="xsub_train", test_mode=True)
    out = dataset[0]
    assert tuple(out["keypoint"].shape) == (2, 2, 8, 17, 3)
    assert np.isfinite(out["keypoint"].numpy()).all()
    with pytest.raises(AnnotationError, match="no split 'xsub_val'.*'xsub_train', 'xsub_test'"):
        PoseDataset(path, split="xsub_val")


def test_label_map_file_gives_class_names_and_the_label_range(tmp_path):
    (tmp_path / "labels.txt").write_text("wave\nclap\njump\n\n")
    assert read_class_names(tmp_path / "labels.txt") == ["wave", "clap", "jump"]
    records = [clip("a", 0), clip("b", 2)]
    dataset = PoseDataset(records=records, class_names=tmp_path / "labels.txt")
    assert dataset.class_names == ["wave", "clap", "jump"] and dataset.num_classes == 3
    with pytest.raises(AnnotationError, match="'b'.*label 2 out of range for num_classes=2"):
        PoseDataset(records=records, num_classes=2)


def test_bad_clips_raise_naming_the_sample_and_the_problem():
    nan = clip("has_nan", seed=1)
    nan["keypoint"][0, 2, 3, 0] = np.nan
    silent = clip("all_zero_scores", seed=2)
    silent["keypoint_score"][:] = 0
    negative = clip("negative", label=-1)
    wide = clip("wide", v=25)
    missing_key = clip("no_total")
    del missing_key["total_frames"]
    records = [clip("fine"), nan, silent, negative, wide, missing_key]
    with pytest.raises(AnnotationError) as error:
        PoseDataset(records=records)
    text = str(error.value)
    assert "frame_dir 'has_nan': key 'keypoint': 1 NaN/inf value(s)" in text
    assert "frame_dir 'all_zero_scores': key 'keypoint': empty clip, all keypoint scores" in text
    assert "frame_dir 'negative': key 'label': negative label -1" in text
    assert "frame_dir 'wide': key 'keypoint': (V, C) = (25, 2) but the file's first clip" in text
    assert "frame_dir 'no_total': key 'total_frames': missing" in text
    assert "'fine'" not in text and len(error.value.problems) == 6  # 5 problems + the hint


def test_skip_mode_drops_and_reports_bad_clips():
    nan = clip("has_nan", seed=1)
    nan["keypoint"][..., 0] = np.inf
    with pytest.warns(UserWarning, match="skipped 1 bad clip.*of 3"):
        dataset = PoseDataset(records=[clip("a"), nan, clip("b")], invalid="skip")
    assert dataset.frame_dirs == ["a", "b"] and len(dataset) == 2
    assert list(dataset.skipped) == ["has_nan"] and "NaN/inf" in dataset.skipped["has_nan"][0]


def test_layout_mismatch_split_problems_and_empty_splits(tmp_path):
    three_d = [{"frame_dir": "x", "label": 0, "total_frames": 3,
                "keypoint": np.ones((1, 3, 25, 3), np.float32)}]
    with pytest.raises(AnnotationError, match="V = 25 joints but the layout .*coco.* has 17"):
        PoseDataset(records=three_d, layout="coco")
    assert len(PoseDataset(records=three_d, layout="nturgb+d")) == 1
    path = write(tmp_path / "a.pkl", [clip("a"), clip("b"), clip("b")],
                 split={"train": ["a", "ghost"], "test": [], "dup": ["b"]})
    with pytest.raises(AnnotationError, match="split 'train': frame_dir 'ghost' has no annotation"):
        PoseDataset(path, split="train")
    with pytest.warns(UserWarning, match="skipped 1"):
        assert PoseDataset(path, split="train", invalid="skip").frame_dirs == ["a"]
    with pytest.raises(AnnotationError, match="split 'test' of .*a.pkl holds no clips"):
        PoseDataset(path, split="test")
    with pytest.raises(AnnotationError, match="'b': key 'frame_dir': duplicated"):
        PoseDataset(path, split="dup")


def test_one_frame_clips_and_persons_missing_in_some_frames_are_valid():
    short = clip("one_frame", m=1, t=1)
    gaps = clip("gaps", m=2, t=10)
    gaps["keypoint"][1, :4] = 0  # the second person arrives late
    gaps["keypoint_score"][1, :4] = 0
    dataset = PoseDataset(pipeline=GCN_2D, records=[short, gaps])
    for i in range(2):
        out = dataset[i]
        assert tuple(out["keypoint"].shape) == (2, 2, 8, 17, 3)
        assert np.isfinite(out["keypoint"].numpy()).all()
    person2 = dataset[1]["keypoint"].numpy()[:, 1]
    assert (person2[..., 2] == 0).all(axis=-1).any()  # empty frames keep score 0


def kinetics_records():
    records = []
    for i, (valid, total) in enumerate([(80, 100), (20, 100), (50, 100), (49, 100)]):
        records.append({
            "frame_dir": f"k{i}", "label": i, "total_frames": total,
            "frame_inds": np.arange(1, 11), "box_score": np.linspace(0.45, 0.95, 10),
            "valid_frames": valid, "valid@0.7": valid // 2, "raw_file": f"part_{i}.pkl",
        })
    return records


def test_valid_ratio_without_box_thr_uses_valid_frames():
    dataset = PoseDataset(records=kinetics_records(), valid_ratio=0.5)
    assert dataset.frame_dirs == ["k0", "k2"] and dataset.num_filtered == 2
    assert "anno_inds" not in dataset[0]


def test_valid_ratio_with_box_thr_uses_pyskl_keys_and_adds_anno_inds():
    dataset = PoseDataset(records=kinetics_records(), valid_ratio=0.25, box_thr="0.7")
    assert dataset.frame_dirs == ["k0", "k2"]  # valid@0.7 = 40, 10, 25, 24
    sample = dataset[1]
    expected = [i for i, s in enumerate(np.linspace(0.45, 0.95, 10)) if s >= 0.7]
    np.testing.assert_array_equal(sample["anno_inds"], expected)
    with pytest.raises(ConfigError, match="box_thr must be one of"):
        PoseDataset(records=kinetics_records(), box_thr="0.75")
    records = kinetics_records()
    del records[3]["valid@0.7"]
    with pytest.raises(AnnotationError, match="'k3': key 'valid@0.7 .*missing"):
        PoseDataset(records=records, valid_ratio=0.25, box_thr=0.7)


@pytest.mark.shared_data
def test_valid_ratio_on_mmaction2_kinetics_sample(shared_data):
    path = shared_data / "k400_kpfile_sample" / "sample.pkl"
    content = safe_load(path)
    records = content if isinstance(content, list) else content["annotations"]
    dataset = PoseDataset(path, valid_ratio=0.5, box_thr="0.8", memmap=False)
    expected = [r["frame_dir"] for r in records if r["valid"][0.8] / r["total_frames"] >= 0.5]
    assert dataset.frame_dirs == expected and 0 < len(expected) < len(records)
    record = next(r for r in records if r["frame_dir"] == expected[0])
    np.testing.assert_array_equal(dataset[0]["anno_inds"],
                                  np.flatnonzero(record["box_score"] >= 0.8))


def test_epoch_seed_and_index_fix_the_random_draws():
    pipeline = [dict(type="UniformSample", clip_len=4)]
    dataset = PoseDataset(pipeline=pipeline, records=[clip("a", t=50)], seed=3)
    first = dataset[0]["frame_inds"]
    np.testing.assert_array_equal(dataset[0]["frame_inds"], first)
    assert not np.array_equal(dataset[1]["frame_inds"], first)  # a wrapped index draws afresh
    dataset.set_epoch(1)
    assert dataset.epoch == 1 and not np.array_equal(dataset[0]["frame_inds"], first)
    dataset.set_epoch(0)
    np.testing.assert_array_equal(dataset[0]["frame_inds"], first)
    with pytest.raises(IndexError, match="negative index"):
        dataset[-1]


def test_pyskl_config_dicts_build_datasets(tmp_path):
    path = write(tmp_path / "ann.pkl", [clip("a", 0), clip("b", 1)], split={"train": ["a", "b"]})
    cfg = dict(type="RepeatDataset", times=3, dataset=dict(
        type="PoseDataset", ann_file=str(path), pipeline=[], split="train",
        class_prob=[1, 2], data_prefix="videos"))
    repeated = DATASETS.build(cfg)
    assert isinstance(repeated, RepeatDataset) and len(repeated) == 6
    np.testing.assert_array_equal(repeated.labels, [0, 1, 0, 1, 0, 1])
    assert repeated.class_prob == [1, 2]
    assert repeated[4]["frame_dir"] == "videos/a"
    with pytest.raises(ConfigError, match="exactly one of ann_file= and records="):
        PoseDataset()

"""The memory-mapped annotation layout: faithful, cached, atomic, and shared by worker processes."""

import os
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from skel_core.errors import AnnotationError, CorruptFileError
from skel_core.safe_pickle import safe_load
from skel_data import packed
from skel_data.dataset import PoseDataset
from skel_data.loader import build_dataloader, collate_samples
from skel_data.packed import PackedAnnotations, pack_annotations, pack_location
from skel_data.worker_memory import measure_worker_memory

PIPELINE = [
    dict(type="PreNormalize2D"),
    dict(type="GenSkeFeat", dataset="coco", feats=["j", "b"]),
    dict(type="UniformSample", clip_len=6),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=["frame_dir"]),
    dict(type="ToTensor", keys=["keypoint"]),
]


def assert_same_record(a, b):
    assert set(a) == set(b)
    for key, value in a.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == b[key].dtype and value.shape == b[key].shape, key
            np.testing.assert_array_equal(value, b[key])
        else:
            assert value == b[key], key


def made_records(n=12):
    rng = np.random.default_rng(0)
    return [{"frame_dir": f"clip{i}", "label": i % 3, "total_frames": 5 + i,
             "img_shape": (100, 200),
             "keypoint": rng.uniform(1, 99, (1 + i % 2, 5 + i, 17, 2)).astype(np.float16),
             "keypoint_score": rng.uniform(0.1, 1, (1 + i % 2, 5 + i, 17)).astype(np.float16)}
            for i in range(n)]


@pytest.fixture
def pickle_file(tmp_path):
    path = tmp_path / "made.pkl"
    records = made_records()
    with open(path, "wb") as f:
        pickle.dump({"split": {"train": [r["frame_dir"] for r in records[:8]],
                               "test": [r["frame_dir"] for r in records[8:]]},
                     "annotations": records}, f)
    return path


@pytest.mark.shared_data
def test_pack_of_a_real_pyskl_pickle_holds_every_record_unchanged(shared_data, tmp_path):
    source = shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl"
    pack = PackedAnnotations.from_file(source, tmp_path)
    content = safe_load(source)
    assert len(pack) == len(content["annotations"]) == 486 and pack.joint_shape == (17, 2)
    assert pack.split == content["split"] and pack.problems == {}
    for i, record in enumerate(content["annotations"]):
        assert_same_record(pack.record(i), record)
    assert len(pickle.dumps(pack)) < 1000  # what a spawned worker receives


@pytest.mark.shared_data
def test_read_only_source_folder_packs_into_the_user_cache(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(packed.os, "access", lambda *args: False)  # as for a user (not root)
    source = shared_data / "k400_kpfile_sample" / "sample.pkl"  # kp-file records: no keypoints
    location = pack_annotations(source)
    assert location.parent == tmp_path / "skel" / "packed"
    pack = PackedAnnotations(location)
    content = safe_load(source)
    records = content if isinstance(content, list) else content["annotations"]
    for i in (0, 57, len(records) - 1):
        assert_same_record(pack.record(i), records[i])


def test_memmapped_dataset_gives_the_same_samples(pickle_file, tmp_path):
    in_memory = PoseDataset(pickle_file, PIPELINE, split="train", memmap=False)
    mapped = PoseDataset(pickle_file, PIPELINE, split="train", memmap=True, cache_dir=tmp_path)
    assert mapped.frame_dirs == in_memory.frame_dirs and len(mapped) == 8
    np.testing.assert_array_equal(mapped.labels, in_memory.labels)
    for i in range(len(mapped)):
        np.testing.assert_array_equal(mapped[i]["keypoint"], in_memory[i]["keypoint"])


def test_pack_is_reused_then_rebuilt_when_the_source_changes(pickle_file, tmp_path):
    cache = tmp_path / "cache"
    first = pack_annotations(pickle_file, cache)
    stamp = (first / "manifest.json").stat().st_mtime_ns
    assert pack_annotations(pickle_file, cache) == first
    assert (first / "manifest.json").stat().st_mtime_ns == stamp  # not rewritten
    records = made_records(3)
    with open(pickle_file, "wb") as f:
        pickle.dump(records, f)
    os.utime(pickle_file, ns=(stamp + 10**9, stamp + 10**9))
    second = pack_annotations(pickle_file, cache)
    assert second != first and not first.exists()  # the stale pack is gone
    assert len(PackedAnnotations(second)) == 3 and PackedAnnotations(second).split is None
    assert sorted(p.name for p in cache.iterdir()) == [second.name]  # no temporary folders


def test_a_failed_build_leaves_nothing_behind(pickle_file, tmp_path, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(packed, "_write_json", fail)
    with pytest.raises(OSError, match="disk full"):
        pack_annotations(pickle_file, tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_damaged_pack_is_reported_by_file(pickle_file, tmp_path):
    location = pack_annotations(pickle_file, tmp_path)
    (location / "keypoint.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(CorruptFileError, match="keypoint.npy: unreadable pack array"):
        PackedAnnotations(location).record(0)
    (location / "manifest.json").write_text("{}")
    with pytest.raises(CorruptFileError, match="not a skel pack"):
        PackedAnnotations(location)


def test_bad_records_are_packed_and_reported_like_in_memory(tmp_path):
    records = made_records(4)
    records[1]["keypoint"] = records[1]["keypoint"].astype(np.float32)
    records[1]["keypoint"][0, 0, 0] = np.nan
    records[2]["keypoint"] = np.zeros((1, 7, 25, 2), np.float16)
    records[2]["keypoint_score"] = np.ones((1, 7, 25), np.float16)
    records[3]["keypoint"] = "not an array"
    path = tmp_path / "bad.pkl"
    with open(path, "wb") as f:
        pickle.dump(records, f)
    messages = []
    for memmap in (False, True):
        with pytest.raises(AnnotationError) as error:
            PoseDataset(path, memmap=memmap, cache_dir=tmp_path)
        messages.append(error.value.problems)
    assert messages[0] == messages[1] and len(messages[0]) == 4  # 3 problems + the hint
    with pytest.warns(UserWarning, match="skipped 3"):
        kept = PoseDataset(path, memmap=True, cache_dir=tmp_path, invalid="skip")
    assert kept.frame_dirs == ["clip0"]
    assert_same_record(kept.store.record(0), records[0])


def test_worker_processes_read_identical_samples(pickle_file, tmp_path):
    dataset = PoseDataset(pickle_file, PIPELINE, split="train", memmap=True, cache_dir=tmp_path)
    expected = collate_samples([dataset[i] for i in range(len(dataset))])
    forked = build_dataloader(dataset, batch_size=len(dataset), shuffle=False, num_workers=2)
    spawned = DataLoader(dataset, batch_size=len(dataset), num_workers=1,
                         collate_fn=collate_samples, multiprocessing_context="spawn")
    for loader in (forked, spawned):
        (batch,) = list(loader)
        torch.testing.assert_close(batch["keypoint"], expected["keypoint"], rtol=0, atol=0)
        assert batch["img_metas"] == expected["img_metas"]


def test_measure_worker_memory_reports_each_worker(pickle_file, tmp_path):
    dataset = PoseDataset(pickle_file, PIPELINE, split="train", memmap=True, cache_dir=tmp_path)
    memory = measure_worker_memory(dataset, num_workers=2, batch_size=2)
    assert len(memory.peak_rss) == len(memory.private) == 2
    assert all(peak > private > 0 for peak, private in zip(memory.peak_rss, memory.private,
                                                            strict=True))
    assert memory.total_peak_rss == sum(memory.peak_rss) and memory.main_peak_rss > 0


def test_pack_location_is_keyed_by_path_size_and_mtime(pickle_file, tmp_path):
    a = pack_location(pickle_file, tmp_path)
    assert a.name.startswith("made.pkl.") and a.name.endswith(".skelpack")
    os.utime(pickle_file, ns=(1, 1))
    assert pack_location(pickle_file, tmp_path) != a

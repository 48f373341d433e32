"""build_dataloader: order from (seed, epoch), sharding, class balance, worker seeds, batching."""

import random
from collections import Counter

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, get_worker_info

from skel_data import loader as loader_module
from skel_data.dataset import PoseDataset, RepeatDataset
from skel_data.loader import (
    EpochSampler,
    build_dataloader,
    class_multipliers,
    collate_samples,
    distributed_rank,
)


class Labelled(Dataset):
    """Index-returning dataset with given labels and an epoch, like PoseDataset's interface."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)
        self.epoch = None

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return {"index": index}


def clips(n=10):
    rng = np.random.default_rng(0)
    return [{"frame_dir": f"c{i}", "label": i % 3, "total_frames": 30,
             "keypoint": rng.normal(0, 1, (1, 30, 25, 3)).astype(np.float32)} for i in range(n)]


PIPELINE = [
    dict(type="RandomRot"),
    dict(type="GenSkeFeat", dataset="nturgb+d", feats=["j"]),
    dict(type="UniformSample", clip_len=4, num_clips=3),
    dict(type="PoseDecode"),
    dict(type="FormatGCNInput", num_person=2),
    dict(type="Collect", keys=["keypoint", "label"], meta_keys=["frame_dir"]),
    dict(type="ToTensor", keys=["keypoint"]),
]


def order(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


def test_order_is_a_pure_function_of_seed_and_epoch():
    data = Labelled(np.zeros(50))
    a, b = EpochSampler(data, shuffle=True, seed=1), EpochSampler(data, shuffle=True, seed=1)
    assert order(a, 3) == order(b, 3) and sorted(order(a, 3)) == list(range(50))
    assert order(a, 3) != order(a, 4) and data.epoch == 4  # set_epoch reaches the dataset
    assert order(a, 3) != order(EpochSampler(data, shuffle=True, seed=2), 3)
    assert order(EpochSampler(data, shuffle=False), 7) == list(range(50))


def test_ranks_get_disjoint_equal_shards_covering_the_epoch():
    data = Labelled(np.zeros(10))
    shards = [order(EpochSampler(data, shuffle=True, seed=5, rank=r, world_size=3), 2)
              for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    full = order(EpochSampler(data, shuffle=True, seed=5), 2)
    padded = full + full[:2]  # 12 slots: the first two indices again, as DistributedSampler does
    assert shards == [padded[r::3] for r in range(3)]
    with pytest.raises(ValueError, match="rank 3 outside world size 3"):
        EpochSampler(data, shuffle=True, rank=3, world_size=3)


def expected_count(times, n):
    """PYSKL's count: every clip floor(times) times, then a frac(times) share of them once."""
    return int(times) * n + int(round((times % 1) * n, 6))


def test_class_balanced_sampling_draws_classes_about_equally():
    labels = [0] * 30 + [1] * 6 + [2] * 3
    loader = build_dataloader(Labelled(labels), batch_size=4, shuffle=True,
                              class_balanced=True)
    loader.sampler.set_epoch(0)
    drawn = Counter(labels[i] for batch in loader for i in batch["index"].tolist())
    share = 39 / 3
    assert drawn == {c: expected_count(share / n, n) for c, n in ((0, 30), (1, 6), (2, 3))}
    assert drawn == {0: 13, 1: 13, 2: 13} and len(loader.sampler) == 39


def test_class_prob_follows_pyskl_and_counts_repeats():
    base = PoseDataset(records=clips(10), class_prob={1: 2.5})  # labels 0,1,2,0,1,2,...
    repeated = RepeatDataset(base, times=2)
    sampler = build_dataloader(repeated, batch_size=2, shuffle=True).sampler
    drawn = Counter(int(repeated.labels[i]) for i in order(sampler, 1))
    assert drawn == {0: 8, 1: expected_count(2.5, 6), 2: 6} and len(sampler) == 29
    assert class_multipliers(np.array([0, 1, 1]), [3, 0.5]) == {0: 3.0, 1: 0.5}
    with pytest.raises(ValueError, match="non-negative"):
        class_multipliers(np.array([0, 1]), {1: -2})


def test_batches_do_not_depend_on_the_number_of_workers():
    dataset = PoseDataset(pipeline=PIPELINE, records=clips(), seed=4)
    batches = {}
    for workers in (0, 2):
        loader = build_dataloader(dataset, batch_size=4, shuffle=True, num_workers=workers,
                                  seed=9)
        loader.sampler.set_epoch(1)
        batches[workers] = list(loader)
    for a, b in zip(batches[0], batches[2], strict=True):
        torch.testing.assert_close(a["keypoint"], b["keypoint"], rtol=0, atol=0)
        assert a["img_metas"] == b["img_metas"]
    first = batches[0][0]
    assert first["keypoint"].shape == (4, 3, 2, 4, 25, 3)  # (B, num_clips, M, T, V, C)
    assert first["label"].dtype == torch.int64 and first["label"].shape == (4,)
    assert isinstance(first["img_metas"], list) and "frame_dir" in first["img_metas"][0]


def test_set_epoch_reaches_persistent_workers():
    dataset = PoseDataset(pipeline=PIPELINE, records=clips(4), seed=4)
    loader = build_dataloader(dataset, batch_size=4, shuffle=False, num_workers=1,
                              persistent_workers=True)
    seen = []
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)
        (batch,) = list(loader)
        seen.append(batch["keypoint"])
    assert not torch.equal(seen[0], seen[1])
    dataset.set_epoch(1)
    expected = collate_samples([dataset[i] for i in range(4)])["keypoint"]
    torch.testing.assert_close(seen[1], expected, rtol=0, atol=0)


class GlobalDraws(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        return {"worker": get_worker_info().id, "np": np.random.random(),
                "py": random.random(), "torch": torch.rand(()).item()}


def test_workers_seed_global_generators_from_seed_rank_and_worker():
    loader = build_dataloader(GlobalDraws(), batch_size=1, shuffle=False, num_workers=2, seed=7)
    for batch in loader:
        worker = int(batch["worker"][0])
        state = np.random.SeedSequence([7, 0, worker]).generate_state(2)
        expected = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
        assert batch["np"][0].item() == pytest.approx(
            np.random.RandomState(state[0]).random_sample(), rel=1e-6)  # batched as float32
        assert batch["py"][0].item() == pytest.approx(random.Random(int(state[1])).random(),
                                                      rel=1e-6)
        assert batch["torch"][0].item() == torch.rand((), generator=expected).item()


def test_collate_reports_what_cannot_be_batched():
    good = {"frame_dir": "a", "keypoint": torch.zeros(2, 3), "label": 1}
    with pytest.raises(ValueError, match=r"key 'keypoint'.*\(2, 3\), \(4, 3\).*\['a', 'b'\]"):
        collate_samples([good, {"frame_dir": "b", "keypoint": torch.zeros(4, 3), "label": 0}])
    with pytest.raises(ValueError, match="different keys.*sample 'c'"):
        collate_samples([good, {"frame_dir": "c", "keypoint": torch.zeros(2, 3)}])
    batch = collate_samples([good, dict(good, frame_dir="d", label=np.int64(4))])
    assert batch["frame_dir"] == ["a", "d"] and batch["label"].tolist() == [1, 4]


def test_distributed_rank_and_sharded_loader(tmp_path, monkeypatch):
    assert distributed_rank() == (0, 1)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}",
                            rank=0, world_size=1)
    try:
        assert distributed_rank() == (0, 1)
    finally:
        dist.destroy_process_group()
    monkeypatch.setattr(loader_module, "distributed_rank", lambda: (1, 2))
    sharded = build_dataloader(Labelled(np.zeros(9)), batch_size=2, shuffle=True, seed=3)
    assert sharded.sampler.rank == 1 and len(sharded.sampler) == 5
    full = order(EpochSampler(Labelled(np.zeros(9)), shuffle=True, seed=3), 0)
    assert order(sharded.sampler, 0) == (full + full[:1])[1::2]

"""DataLoaders whose batches are a pure function of the seed and the epoch, on any number of
workers and ranks.

- Order: :class:`EpochSampler` draws the epoch's order from ``(seed, epoch)`` alone; every rank
  draws the same order and takes every ``world_size``-th index from ``rank`` on (padded, as
  ``DistributedSampler`` does, so every rank gets as many), so a resumed run sees the same
  order again.
- Content: the dataset seeds each sample from ``(seed, epoch, index)``
  (:class:`~skel_data.dataset.PoseDataset`). ``EpochSampler.set_epoch(epoch)`` sets the epoch
  of the sampler *and* of its dataset; the dataset keeps it in shared memory, so it reaches
  workers that already exist (``persistent_workers=True``). Call it before each epoch::

      loader = build_dataloader(dataset, batch_size=16, shuffle=True, num_workers=4, seed=0)
      for epoch in range(epochs):
          loader.sampler.set_epoch(epoch)
          for batch in loader: ...

- Global random state: each worker seeds numpy, ``random`` and torch from
  ``(seed, rank, worker id)``, for third-party transforms that still use them.
- Batches: :func:`collate_samples` stacks tensors (a multi-clip ``keypoint`` of shape
  (num_clips, M, T, V, C) becomes (B, num_clips, M, T, V, C)), turns numbers into tensors and
  keeps everything else (names, metadata dicts) as lists.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Sampler

from skel_core.errors import ConfigError


def distributed_rank() -> tuple[int, int]:
    """(rank, world size) of this process; (0, 1) when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def class_multipliers(
    labels: np.ndarray, class_prob: Sequence[float] | Mapping[int, float] | None
) -> dict[int, float]:
    """How many times each class's clips are drawn per epoch.

    With ``class_prob`` (PYSKL's argument, a list by label or a dict; classes it omits get 1)
    those values. Without, inverse class frequencies scaled so that an epoch keeps about
    ``len(labels)`` samples, each class contributing about the same number.
    """
    classes, counts = np.unique(labels, return_counts=True)
    if class_prob is None:
        share = len(labels) / len(classes)
        return {int(c): share / n for c, n in zip(classes, counts, strict=True)}
    table = dict(class_prob) if isinstance(class_prob, Mapping) else dict(enumerate(class_prob))
    bad = {k: v for k, v in table.items() if not isinstance(v, (int, float)) or v < 0}
    if bad:
        raise ConfigError(f"class_prob must hold non-negative numbers, got {bad}")
    return {int(c): float(table.get(int(c), 1.0)) for c in classes}


def class_draws(times: float, size: int) -> int:
    """How many of a class's ``size`` clips an epoch draws with multiplier ``times``:
    ``int(times * size)``, PYSKL's count, robust to floating-point error (13/6 * 6 is 13)."""
    return int(times * size + 1e-9)


class EpochSampler(Sampler[int]):
    """Indices of ``dataset`` in an order that is a pure function of ``(seed, epoch)``.

    With ``multipliers`` (class -> times per epoch, see :func:`class_multipliers`), class ``c``'s
    indices appear ``floor(m)`` times plus a random ``frac(m)`` share of them once more
    (:func:`class_draws` in all), as in PYSKL's ``ClassSpecificDistributedSampler``. With
    ``world_size > 1`` the indices are padded by repeating the first ones until they divide
    evenly, and rank ``r`` takes ``indices[r::world_size]``.
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        multipliers: Mapping[int, float] | None = None,
    ):
        if not 0 <= rank < world_size:
            raise ConfigError(f"EpochSampler: rank {rank} outside world size {world_size}")
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.multipliers = dict(multipliers) if multipliers is not None else None
        self.epoch = 0
        self._labels = np.asarray(dataset.labels) if multipliers is not None else None

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s order from now on, and give the dataset the epoch (if it takes one)."""
        self.epoch = epoch
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(epoch)

    def _epoch_indices(self) -> np.ndarray:
        rng = np.random.default_rng((self.seed, self.epoch))
        if self.multipliers is None:
            indices = np.arange(len(self.dataset))
        else:
            parts = []
            for label, times in sorted(self.multipliers.items()):
                members = np.flatnonzero(self._labels == label)
                whole, extra = divmod(class_draws(times, len(members)), max(len(members), 1))
                parts += [members] * whole + [rng.permutation(members)[:extra]]
            indices = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return rng.permutation(indices) if self.shuffle else indices

    def _count(self) -> int:
        if self.multipliers is None:
            return len(self.dataset)
        counts = {int(c): int(n) for c, n in zip(*np.unique(self._labels, return_counts=True),
                                                 strict=True)}
        return sum(class_draws(t, counts.get(c, 0)) for c, t in self.multipliers.items())

    def __len__(self) -> int:
        return -(-self._count() // self.world_size)

    def __iter__(self) -> Iterator[int]:
        indices = self._epoch_indices()
        total = len(self) * self.world_size
        if total > len(indices) and len(indices):
            indices = np.resize(indices, total)  # repeats from the start
        return iter(indices[self.rank:total:self.world_size].tolist())


def seed_worker(worker_id: int, *, seed: int, rank: int) -> None:
    """Seed numpy's, ``random``'s and torch's global generators from (seed, rank, worker id)."""
    state = np.random.SeedSequence([seed, rank, worker_id]).generate_state(2)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))
    torch.manual_seed(int(state[0]) << 32 | int(state[1]))


def _stack(key: str, values: list, samples: Sequence[Mapping]) -> Any:
    first = values[0]
    if isinstance(first, torch.Tensor) and all(isinstance(v, torch.Tensor) for v in values):
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) > 1:
            names = [s.get("frame_dir", "?") for s in samples]
            raise ValueError(f"cannot batch key {key!r}: tensors of shapes "
                             f"{[tuple(v.shape) for v in values]} for samples {names}")
        return torch.stack(values)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
           for v in values):
        return torch.tensor([int(v) for v in values], dtype=torch.int64)
    if all(isinstance(v, (float, np.floating)) for v in values):
        return torch.tensor([float(v) for v in values], dtype=torch.float32)
    return list(values)


def collate_samples(samples: Sequence[Mapping]) -> dict[str, Any]:
    """Batch sample dicts: tensors stacked on a new first axis, ints and floats as tensors,
    anything else (strings, arrays, metadata dicts) as a list with one item per sample."""
    if not samples:
        raise ValueError("collate_samples: empty batch")
    if not all(isinstance(s, Mapping) for s in samples):
        raise TypeError(f"collate_samples: samples must be dicts, got "
                        f"{sorted({type(s).__name__ for s in samples})}")
    keys = list(samples[0])
    for sample in samples[1:]:
        if set(sample) != set(keys):
            raise ValueError(f"cannot batch samples with different keys: {sorted(keys)} and "
                             f"{sorted(sample)} (sample {sample.get('frame_dir', '?')!r})")
    return {key: _stack(key, [s[key] for s in samples], samples) for key in keys}


def build_dataloader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    num_workers: int = 0,
    seed: int = 0,
    drop_last: bool = False,
    persistent_workers: bool = False,
    class_balanced: bool = False,
) -> DataLoader:
    """A DataLoader over ``dataset`` with :class:`EpochSampler` (sharded over the ranks of an
    initialised torch.distributed group), seeded workers and :func:`collate_samples`.

    ``class_balanced`` draws each class about equally often (:func:`class_multipliers`). A
    dataset with a ``class_prob`` is always drawn with those multipliers, as in PYSKL.
    Call ``loader.sampler.set_epoch(epoch)`` before each epoch (see the module docstring).
    """
    if batch_size < 1 or num_workers < 0:
        raise ConfigError(f"build_dataloader: batch_size must be >= 1 and num_workers >= 0, "
                          f"got {batch_size} and {num_workers}")
    rank, world_size = distributed_rank()
    class_prob = getattr(dataset, "class_prob", None)
    multipliers = None
    if class_balanced or class_prob is not None:
        labels = getattr(dataset, "labels", None)
        if labels is None:
            raise ConfigError(f"class-balanced sampling needs the dataset's labels; "
                              f"{type(dataset).__name__} has no .labels")
        multipliers = class_multipliers(np.asarray(labels), class_prob)
    sampler = EpochSampler(dataset, shuffle=shuffle, seed=seed, rank=rank,
                           world_size=world_size, multipliers=multipliers)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate_samples,
        drop_last=drop_last,
        persistent_workers=persistent_workers and num_workers > 0,
        worker_init_fn=functools.partial(seed_worker, seed=seed, rank=rank),
        generator=torch.Generator().manual_seed(seed),
    )

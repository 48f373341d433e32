"""How much memory DataLoader workers use after iterating a dataset (Linux ``/proc``).

``skel-bench pipeline`` reports these numbers for 4 workers. Per worker process:

- ``peak_rss``: its high-water resident set (``VmHWM`` in ``/proc/<pid>/status``). Pages a
  forked worker shares with its parent, or maps from a file, count here too;
- ``private``: memory written by that worker alone (``Private_Dirty`` in
  ``/proc/<pid>/smaps_rollup``): its own allocations and the copy-on-write copies it made of
  its parent's pages, such as a dataset held in Python objects whose reference counts it
  touched. That is what each extra worker really costs; pages of a memory-mapped file that it
  only read are page cache, shared by every process, and are not counted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import Dataset

from .loader import build_dataloader


def _proc_bytes(path: Path, field: str) -> int:
    """The ``kB`` value of ``field`` in a /proc status-like file, in bytes."""
    for line in path.read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024
    raise RuntimeError(f"{path} has no {field!r} line")


def process_memory(pid: int | str = "self") -> tuple[int, int]:
    """(peak RSS, private dirty memory) of process ``pid`` in bytes (see the module docstring)."""
    proc = Path("/proc") / str(pid)
    if not (proc / "smaps_rollup").exists():
        raise RuntimeError(f"measuring process memory needs Linux's {proc}/smaps_rollup")
    return _proc_bytes(proc / "status", "VmHWM"), _proc_bytes(proc / "smaps_rollup",
                                                              "Private_Dirty")


class _Probe(Dataset):
    """Loads ``dataset[i]`` and returns the id of the process that loaded it."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        self.dataset[index]
        return {"pid": os.getpid()}


@dataclass(frozen=True)
class WorkerMemory:
    """Memory of each DataLoader worker (bytes, ordered by pid) and the main process's peak."""

    peak_rss: tuple[int, ...]
    private: tuple[int, ...]
    main_peak_rss: int

    @property
    def total_peak_rss(self) -> int:
        return sum(self.peak_rss)

    @property
    def total_private(self) -> int:
        return sum(self.private)


def measure_worker_memory(
    dataset: Dataset, num_workers: int = 4, *, batch_size: int = 8
) -> WorkerMemory:
    """Iterate all of ``dataset`` once with ``num_workers`` DataLoader workers, then read each
    worker's memory while it is still alive (:class:`WorkerMemory`)."""
    if num_workers < 1:
        raise ValueError(f"measure_worker_memory: num_workers must be >= 1, got {num_workers}")
    process_memory()  # fail early where /proc is missing
    loader = build_dataloader(_Probe(dataset), batch_size=batch_size, shuffle=False,
                              num_workers=num_workers, persistent_workers=True)
    pids = sorted({pid for batch in loader for pid in batch["pid"].tolist()})
    readings = [process_memory(pid) for pid in pids]  # persistent workers are still alive
    del loader
    return WorkerMemory(tuple(r[0] for r in readings), tuple(r[1] for r in readings),
                        process_memory()[0])

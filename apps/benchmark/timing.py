"""How ``skel-bench`` measures: which implementations can run here and where, the thread count,
and :func:`measure`, which times the implementations of one case interleaved in one run.

Interleaving matters on a shared or thermally throttled host: its speed drifts over seconds, so
timing implementation A for a while and then B would put the drift into the ratio. Here every
round calls each candidate once, in an order that rotates from round to round.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch

import skel_kernels

MIN_REPEATS = 5  # the fewest timed repeats of a real (not --quick) run

# Where each implementation of a skel_kernels op runs; the benchmarks put its inputs there.
IMPL_DEVICE = {"cpu": "cpu", "reference": "cpu", "cuda": "cuda", "triton": "cuda"}


@dataclass(frozen=True)
class Timing:
    """Wall-clock statistics of one candidate, in milliseconds."""

    median_ms: float
    min_ms: float
    max_ms: float
    repeats: int

    def as_dict(self) -> dict[str, float | int]:
        return {"median_ms": self.median_ms, "min_ms": self.min_ms, "max_ms": self.max_ms,
                "repeats": self.repeats}


def runnable_impls() -> list[str]:
    """The implementations worth benchmarking here: those ``skel_kernels.available_backends()``
    says can run, except Triton without a GPU (its CPU interpreter is a debugging aid, orders of
    magnitude slower than anything else)."""
    available = skel_kernels.available_backends()
    return [impl for impl in IMPL_DEVICE
            if available[impl] and (impl != "triton" or torch.cuda.is_available())]


def ratio(baseline_ms: float, impl_ms: float) -> float:
    """How many times faster the implementation is than the baseline (> 1: faster)."""
    return baseline_ms / impl_ms


@contextmanager
def num_threads(threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, restoring the old count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def measure(candidates: Mapping[str, Callable[[], object]], *, repeats: int,
            warmup: int) -> dict[str, Timing]:
    """Time every candidate ``repeats`` times after ``warmup`` untimed calls of each.

    Round ``r`` calls each candidate once, starting at candidate ``r mod len(candidates)``, so
    the candidates share the host's drift and none always follows the same neighbour. With a
    GPU the device is synchronised around each timed call, so asynchronous kernels are timed
    whole. Returns the statistics by candidate name, in the order given.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"measure: need repeats >= 1 and warmup >= 0, got repeats={repeats}, "
                         f"warmup={warmup}")
    names = list(candidates)
    synchronize = torch.cuda.synchronize if torch.cuda.is_available() else _nothing
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(warmup + repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            synchronize()
            start = time.perf_counter()
            candidates[name]()
            synchronize()
            elapsed_ms = (time.perf_counter() - start) * 1e3
            if round_index >= warmup:
                samples[name].append(elapsed_ms)
    return {name: Timing(statistics.median(times), min(times), max(times), len(times))
            for name, times in samples.items()}


def _nothing() -> None:
    return None

"""One process, or one of several started by ``torchrun``: who am I, which device, and the few
collective operations the apps need.

``torchrun --nproc-per-node N skel-train ...`` (and multi-node runs through torchrun's
rendezvous) set ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``;
:func:`distributed_session` reads them, picks the device (``cuda:LOCAL_RANK`` when CUDA is
available, else the CPU) and starts ``torch.distributed`` with nccl on GPUs and gloo on CPUs.
A plain ``skel-train`` is a world of one and starts no process group. This is all the
distribution layer skel has: the rest is PyTorch's DistributedDataParallel.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """This process's place in the run: ``rank`` of ``world_size``, its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints, logs and writes files."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise RuntimeError(f"environment variable {name}={value!r} is not an integer") from None


def choose_device(requested: str | None, local_rank: int = 0) -> torch.device:
    """``requested`` (e.g. ``'cpu'``, ``'cuda:1'``), else this rank's GPU, else the CPU."""
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


@contextlib.contextmanager
def distributed_session(device: str | None = None) -> Iterator[DistContext]:
    """Join the torchrun world (if any) for the duration of the block, then leave it."""
    world_size = _env_int("WORLD_SIZE", 1)
    rank, local_rank = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    ctx = DistContext(rank, world_size, local_rank, choose_device(device, local_rank))
    if ctx.device.type == "cuda":
        torch.cuda.set_device(ctx.device)
    started = ctx.is_distributed and not dist.is_initialized()
    if started:
        backend = "nccl" if ctx.device.type == "cuda" else "gloo"
        dist.init_process_group(
            backend, device_id=ctx.device if ctx.device.type == "cuda" else None
        )
    try:
        yield ctx
    finally:
        if started:
            dist.destroy_process_group()


def gather_objects(obj: Any, ctx: DistContext) -> list[Any]:
    """``obj`` of every rank, in rank order, on every rank (``[obj]`` in a world of one)."""
    if not ctx.is_distributed:
        return [obj]
    gathered: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(gathered, obj)
    return gathered


def mean_over_ranks(value: float, ctx: DistContext) -> float:
    """The mean of a number over the ranks (the number itself in a world of one)."""
    if not ctx.is_distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return tensor.item() / ctx.world_size


def barrier(ctx: DistContext) -> None:
    """Wait for every rank (nothing to wait for in a world of one)."""
    if ctx.is_distributed:
        dist.barrier()


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 when not launched by torchrun)."""
    return _env_int("RANK", 0)

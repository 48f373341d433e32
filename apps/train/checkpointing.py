"""Checkpoints of a training run: what they hold, where they go, and resuming from them.

Files in the work dir (rank 0 writes them, each atomically through
:func:`skel_core.checkpoint.save_checkpoint`):

* ``epoch_{k}.pth`` after epoch ``k`` (every ``checkpoint_config.interval`` epochs);
* ``best_{key}.pth`` (e.g. ``best_top1_acc.pth``), the weights of the best validation so far;
* ``latest``: a one-line text file naming the newest epoch checkpoint, for ``--resume auto``.

An epoch checkpoint holds ``state_dict`` (the plain model's weights: no DDP or torch.compile
prefix), the ``optimizer``, ``scheduler`` and ``scaler`` state dicts, ``meta`` (``epoch``
completed, ``iter``, ``seed``, ``world_size``, the resolved ``config`` text, the ``best``
validation so far and the ``sampler`` position) and ``rng``: the random states of every rank
(torch CPU, the rank's CUDA device, numpy's global and Python's ``random``), gathered to rank 0
into one list indexed by rank. Everything loads with ``weights_only=True``.

Checkpoints are taken at epoch ends, so the sampler position is always "epoch ``k`` done, next
epoch from its first batch"; the next epoch's order is a pure function of (seed, epoch), so it
is recorded rather than stored. Resuming restores all of the above, each rank its own random
states, which makes an interrupted and resumed run end with the same weights as an
uninterrupted one (same seed, same number of processes).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from skel_core.atomic import atomic_write_bytes
from skel_core.checkpoint import load_checkpoint, load_state_dict_report, save_checkpoint
from skel_core.errors import CheckpointError

LATEST = "latest"
_EPOCH_FILE = re.compile(r"epoch_(\d+)\.pth")


@dataclass
class BestResult:
    """The best validation so far: ``key`` (e.g. ``top1_acc``), its ``score`` and ``epoch``."""

    key: str | None = None
    score: float | None = None
    epoch: int | None = None

    def improves(self, score: float, rule: str) -> bool:
        if self.score is None:
            return True
        return score > self.score if rule == "greater" else score < self.score


def epoch_path(work_dir: Path, epoch: int) -> Path:
    return work_dir / f"epoch_{epoch}.pth"


def save_epoch_checkpoint(work_dir: Path, epoch: int, payload: dict[str, Any]) -> Path:
    """Write ``epoch_{epoch}.pth`` and then point ``latest`` at it."""
    path = save_checkpoint(payload, epoch_path(work_dir, epoch))
    atomic_write_bytes(work_dir / LATEST, f"{path.name}\n".encode())
    return path


def prune_epoch_checkpoints(work_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` epoch checkpoints (``keep < 0``: keep all)."""
    if keep < 0:
        return
    epochs = sorted(n for n in map(_epoch_number, work_dir.glob("epoch_*.pth")) if n >= 0)
    for epoch in epochs[:-keep]:
        epoch_path(work_dir, epoch).unlink(missing_ok=True)


def find_resume(resume: str | None, work_dir: Path) -> Path | None:
    """The checkpoint ``--resume`` names: a path, which must exist, or ``auto``: the newest
    epoch checkpoint of the work dir, None if there is none (a fresh start).

    ``auto`` reads ``latest``, and takes a newer ``epoch_{k}.pth`` instead if one exists: a run
    killed between writing a checkpoint and updating ``latest`` loses no epoch.
    """
    if resume is None:
        return None
    if resume != "auto":
        path = Path(resume)
        if not path.is_file():
            raise CheckpointError(f"--resume {resume}: no such checkpoint file")
        return path
    candidates = [p for p in work_dir.glob("epoch_*.pth") if _EPOCH_FILE.fullmatch(p.name)]
    pointer = work_dir / LATEST
    if pointer.is_file():
        named = work_dir / pointer.read_text().strip()
        if not named.is_file():
            raise CheckpointError(
                f"{pointer} names {named.name}, which does not exist; pass --resume PATH instead"
            )
        candidates.append(named)
    if not candidates:
        return None
    return max(candidates, key=_epoch_number)


def _epoch_number(path: Path) -> int:
    match = _EPOCH_FILE.fullmatch(path.name)
    return int(match[1]) if match else -1


def checkpoint_payload(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    meta: dict[str, Any],
    best: BestResult,
    rng: list[dict[str, Any]],
) -> dict[str, Any]:
    """What an epoch checkpoint holds (see the module docstring)."""
    return {
        "state_dict": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "meta": {**meta, "best": asdict(best)},
        "rng": rng,
    }


def read_checkpoint(path: Path) -> dict[str, Any]:
    """Load a skel-train checkpoint (safely) and check that it is one."""
    ckpt = load_checkpoint(path)
    keys = ("state_dict", "optimizer", "scheduler", "meta", "rng")
    missing = [k for k in keys if k not in ckpt] if isinstance(ckpt, dict) else list(keys)
    if missing:
        raise CheckpointError(
            f"{path} is not a skel-train checkpoint (missing {missing}); to start from its "
            "weights only, set load_from in the config instead of --resume"
        )
    return ckpt


def restore_training_state(
    ckpt: dict[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
) -> BestResult:
    """Load weights, optimiser, scheduler and scaler from ``ckpt``; return its best result."""
    load_state_dict_report(model, ckpt["state_dict"], strict=True)
    try:
        optimizer.load_state_dict(ckpt["optimizer"])
    except (ValueError, KeyError) as err:
        raise CheckpointError(
            f"the checkpoint's optimizer state does not fit this run's optimizer ({err}); was "
            "optimizer.type or optimizer.paramwise_cfg changed?"
        ) from err
    scheduler.load_state_dict(ckpt["scheduler"])
    scaler.load_state_dict(ckpt.get("scaler") or {})
    return BestResult(**ckpt["meta"].get("best", {}))

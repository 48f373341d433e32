"""Fixtures of the apps tests: the tiny training setup, and one tiny training run shared by the
tests of skel-train, resuming, DDP and skel-test (training is the slow part; doing it once keeps
the suite fast)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest

from skel_apps.train.cli import main as train_main
from skel_core.checkpoint import load_checkpoint

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "demo"


@dataclass(frozen=True)
class TinyTraining:
    """``configs/demo/stgcnpp_synthetic_tiny.py`` run for ``epochs`` epochs (3: long enough that
    a run killed after epoch 1 still has work left to resume)."""

    config: str = str(CONFIGS / "stgcnpp_synthetic_tiny.py")
    epochs: int = 3

    def args(self, work_dir: Path, *extra: str, options: tuple[str, ...] = ()) -> list[str]:
        """skel-train's arguments for this setup into ``work_dir``; ``options`` are added to
        its --cfg-options."""
        return [
            self.config,
            "--work-dir",
            str(work_dir),
            "--no-progress",
            *extra,
            "--cfg-options",
            f"total_epochs={self.epochs}",
            *options,
        ]

    @staticmethod
    def weight_gap(first: Path, second: Path) -> float:
        """The largest absolute difference between two checkpoints' weights (same keys)."""
        a, b = load_checkpoint(first)["state_dict"], load_checkpoint(second)["state_dict"]
        assert a.keys() == b.keys()
        return max((a[k].double() - b[k].double()).abs().max().item() for k in a)


@dataclass(frozen=True)
class TrainedRun:
    """A finished ``skel-train --validate`` run of the tiny setup: work dir, what it printed."""

    work_dir: Path
    stdout: str

    def checkpoint(self, epoch: int) -> Path:
        return self.work_dir / f"epoch_{epoch}.pth"


@pytest.fixture(scope="session")
def tiny() -> TinyTraining:
    return TinyTraining()


@pytest.fixture(scope="session")
def tiny_run(tiny, tmp_path_factory) -> TrainedRun:
    work_dir = tmp_path_factory.mktemp("tiny_run")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = train_main(tiny.args(work_dir, "--validate"))
    assert status == 0, printed.getvalue()
    return TrainedRun(work_dir, printed.getvalue())

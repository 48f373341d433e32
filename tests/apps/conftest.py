"""Fixtures of the apps tests: the tiny training setup, and one tiny training run shared by the
tests of skel-train, resuming, DDP and skel-test (training is the slow part; doing it once keeps
the suite fast)."""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from skel_apps.train.cli import main as train_main
from skel_core.checkpoint import load_checkpoint, save_checkpoint
from skel_core.config import Config
from skel_data.synthetic import ACTIONS
from skel_models.registry import build_model

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


class PrintedTopK:
    """Reads the top-k lines skel-infer prints (``  1. name   0.1234``) and checks them."""

    LINE = re.compile(r"^\s+(\d+)\. (.+?)\s+(\d\.\d{4})$", re.MULTILINE)

    @classmethod
    def ranked(cls, out: str) -> list[tuple[str, float]]:
        """Every printed (class name, probability), in the order printed."""
        return [(name, float(p)) for _, name, p in cls.LINE.findall(out)]

    @staticmethod
    def assert_top5(ranked: list[tuple[str, float]], probabilities: np.ndarray,
                    names=ACTIONS) -> None:
        """``ranked`` (printed to 4 decimals) is the top-5 of ``probabilities``."""
        order = np.argsort(-probabilities)[:5]
        assert [name for name, _ in ranked] == [names[i] for i in order]
        np.testing.assert_allclose([p for _, p in ranked], probabilities[order], rtol=0,
                                   atol=1e-4)


@pytest.fixture(scope="session")
def printed() -> type[PrintedTopK]:
    return PrintedTopK


def _seeded_checkpoint(cfg: Config, folder: Path) -> tuple[Path, Path, torch.nn.Module]:
    """``cfg`` written to ``folder/tiny.py``; its model built with seed 0, the classifier's
    weights spread (so that rankings are far from ties), in eval mode and saved to
    ``folder/tiny.pth``. Returns (config path, checkpoint path, model)."""
    config = folder / "tiny.py"
    cfg.dump(config)
    torch.manual_seed(0)
    model = build_model(cfg.model.to_dict()).eval()
    with torch.no_grad():
        model.cls_head.fc_cls.weight.normal_(0, 3)
    checkpoint = folder / "tiny.pth"
    save_checkpoint({"state_dict": model.state_dict()}, checkpoint)
    return config, checkpoint, model


@pytest.fixture(scope="session")
def seeded_checkpoint():
    return _seeded_checkpoint

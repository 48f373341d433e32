"""skel-train end to end on the built-in synthetic data: what a run leaves in its work dir, and
the README's demo."""

import json
import os
import re
from pathlib import Path

import pytest
import torch

from skel_apps.train.cli import main
from skel_core.checkpoint import load_checkpoint, load_state_dict_report
from skel_core.config import Config
from skel_models.registry import build_model

DEMO = str(Path(__file__).resolve().parents[2] / "configs" / "demo" / "stgcnpp_synthetic_j.py")


def test_a_run_leaves_logs_config_and_loadable_checkpoints(tiny_run, tiny):
    work_dir, epochs = tiny_run.work_dir, tiny.epochs
    line = next(ln for ln in tiny_run.stdout.splitlines() if ln.startswith("test top-1"))
    assert re.fullmatch(
        r"test top-1 accuracy: [\d.]+%  \(top-5 [\d.]+%, mean class [\d.]+%, 8 clips\)", line
    )
    log = [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines()]
    assert [r["mode"] for r in log] == ["run"] + ["epoch", "val"] * epochs + ["test"]
    assert log[0]["world_size"] == 1 and log[0]["global_batch"] == 8 and log[0]["seed"] == 0
    assert [r["epoch"] for r in log if r["mode"] == "epoch"] == list(range(1, epochs + 1))
    iters = [r["iter"] for r in log if r["mode"] == "epoch"]
    assert iters == [3 * e for e in range(1, epochs + 1)]  # 24 clips / batch 8
    assert log[-1]["num_samples"] == 8 and 0 <= log[-1]["top1_acc"] <= 1
    assert f"{log[-1]['top1_acc'] * 100:.2f}%" in line  # the printed numbers are the logged ones
    last_epoch = [r for r in log if r["mode"] == "epoch"][-1]
    assert last_epoch["lr"] == pytest.approx(0.0, abs=1e-12)  # cosine annealed to min_lr=0

    saved = Config.fromfile(work_dir / "config.py")  # the resolved config
    assert saved.total_epochs == epochs and saved.seed == 0 and saved.work_dir == str(work_dir)
    assert saved.data.train.num_samples == 32
    ckpt = load_checkpoint(tiny_run.checkpoint(epochs))  # weights_only=True by default
    assert ckpt["meta"]["epoch"] == epochs
    model = build_model(saved.model.to_dict())
    assert load_state_dict_report(model, ckpt["state_dict"], strict=True).ok
    assert (work_dir / "latest").read_text().strip() == f"epoch_{epochs}.pth"

    best = load_checkpoint(work_dir / "best_top1_acc.pth")
    val = [r for r in log if r["mode"] == "val"]
    best_epoch = max(val, key=lambda r: (r["top1_acc"], -r["epoch"]))["epoch"]
    assert best["meta"]["epoch"] == best_epoch == ckpt["meta"]["best"]["epoch"]
    assert ckpt["meta"]["best"]["score"] == max(r["top1_acc"] for r in val)

    events = list((work_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0
    assert not any(p.name.startswith(".") for p in work_dir.iterdir())  # no temp files left


@pytest.mark.slow
def test_demo_learns_the_synthetic_actions(tmp_path, capsys):
    """The README's main job. SKEL_FULL_TRAINING=1 runs it in full (~1.5 min on 2 cores);
    otherwise (CI) a shortened run must still be far above chance (1/8)."""
    options = [] if os.environ.get("SKEL_FULL_TRAINING") else ["total_epochs=6"]
    torch.set_num_threads(2)
    args = [DEMO, "--work-dir", str(tmp_path), "--no-progress"]
    assert main(args + (["--cfg-options", *options] if options else [])) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("test top-1"))
    top1 = float(line.split(":")[1].split("%")[0])
    assert top1 > (80.0 if not options else 60.0), line


def test_pyskl_repeat_dataset_lengthens_each_epoch():
    from skel_apps.builders import build_dataset

    cfg = Config.fromfile(DEMO).data.train.to_dict()
    cfg["num_samples"] = 32
    repeated = build_dataset({"type": "RepeatDataset", "times": 4, "dataset": cfg}, seed=3)
    assert len(repeated) == 4 * 24 and repeated.dataset.seed == 3

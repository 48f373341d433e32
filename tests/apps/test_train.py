"""skel-train end to end on the built-in synthetic data."""

import json
import os
from pathlib import Path

import pytest
import torch

from skel_apps.train.cli import main
from skel_core.checkpoint import load_checkpoint, load_state_dict_report
from skel_core.config import Config
from skel_models.registry import build_model

DEMO = str(Path(__file__).resolve().parents[2] / "configs" / "demo" / "stgcnpp_synthetic_j.py")


def test_short_run_prints_accuracy_and_leaves_loadable_checkpoints(tmp_path, capsys):
    options = [
        "total_epochs=2",
        "data.train.num_samples=64",
        "data.test.num_samples=64",
        "data.workers_per_gpu=0",
    ]
    assert (
        main([DEMO, "--work-dir", str(tmp_path), "--no-progress", "--cfg-options", *options]) == 0
    )
    out = capsys.readouterr().out
    assert "test top-1 accuracy:" in out and "16 clips" in out  # 64 samples, every 4th group tests
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log[:2]] == [1, 2] and "test" in log[2]
    saved = Config.fromfile(tmp_path / "config.py")
    assert saved.total_epochs == 2 and saved.data.train.num_samples == 64
    ckpt = load_checkpoint(tmp_path / "epoch_2.pth")  # weights_only=True by default
    assert ckpt["meta"]["epoch"] == 2
    model = build_model(saved.model.to_dict())
    assert load_state_dict_report(model, ckpt["state_dict"], strict=True).ok
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temp files left


def test_wrong_config_key_is_named(tmp_path):
    with pytest.raises(Exception, match="gcn_adaptve"):
        main(
            [
                DEMO,
                "--work-dir",
                str(tmp_path),
                "--no-progress",
                "--cfg-options",
                "model.backbone.gcn_adaptve=init",
                "total_epochs=1",
            ]
        )


@pytest.mark.slow
def test_demo_learns_the_synthetic_actions(tmp_path, capsys):
    """The README's main job. SKEL_FULL_TRAINING=1 runs it in full (~1.5 min on 2 cores);
    otherwise (CI) a shortened run must still be far above chance (1/8)."""
    options = [] if os.environ.get("SKEL_FULL_TRAINING") else ["total_epochs=6"]
    torch.set_num_threads(2)
    args = [DEMO, "--work-dir", str(tmp_path), "--no-progress"]
    main(args + (["--cfg-options", *options] if options else []))
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("test top-1"))
    top1 = float(line.split(":")[1].split("%")[0])
    assert top1 > (80.0 if not options else 60.0), line


def test_pyskl_repeat_dataset_lengthens_each_epoch():
    from skel_apps.builders import build_dataset

    cfg = Config.fromfile(DEMO).data.train.to_dict()
    cfg["num_samples"] = 32
    repeated = build_dataset({"type": "RepeatDataset", "times": 4, "dataset": cfg}, seed=3)
    assert len(repeated) == 4 * 24 and repeated.dataset.seed == 3

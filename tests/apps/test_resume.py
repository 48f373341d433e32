"""Checkpoints of skel-train and resuming from them: a run killed with SIGKILL after its first
checkpoint and resumed with --resume auto ends with the weights of an uninterrupted run."""

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

from skel_apps.train.checkpointing import LATEST, find_resume, prune_epoch_checkpoints
from skel_apps.train.cli import main
from skel_core.checkpoint import load_checkpoint
from skel_core.errors import CheckpointError


@pytest.mark.slow
def test_killed_run_resumed_with_auto_matches_the_uninterrupted_run(tiny, tiny_run, tmp_path):
    command = [sys.executable, "-m", "skel_apps.train.cli", *tiny.args(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not (tmp_path / "epoch_1.pth").exists():
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint after 240 s"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert not (tmp_path / f"epoch_{tiny.epochs}.pth").exists(), "killed too late to test resume"

    assert main(tiny.args(tmp_path, "--resume", "auto")) == 0

    final = f"epoch_{tiny.epochs}.pth"
    assert tiny.weight_gap(tmp_path / final, tiny_run.work_dir / final) <= 1e-6
    resumed = load_checkpoint(tmp_path / final)
    reference = load_checkpoint(tiny_run.work_dir / final)
    for state, ref_state in zip(
        resumed["optimizer"]["state"].values(),
        reference["optimizer"]["state"].values(),
        strict=True,
    ):
        torch.testing.assert_close(
            state["momentum_buffer"], ref_state["momentum_buffer"], atol=1e-6, rtol=0
        )
    assert resumed["scheduler"]["last_epoch"] == reference["scheduler"]["last_epoch"] == 9
    log = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    restart = [r for r in log if r["mode"] == "run"][-1]
    assert restart["resumed_from"].endswith("epoch_1.pth") and restart["epoch"] == 1
    after_restart = log[log.index(restart) + 1 :]
    assert [r["epoch"] for r in after_restart if r["mode"] == "epoch"] == [2, 3]


def test_checkpoint_holds_the_training_state_and_loads_safely(tiny_run, tiny):
    ckpt = load_checkpoint(tiny_run.checkpoint(tiny.epochs))  # weights_only=True
    assert {"state_dict", "optimizer", "scheduler", "scaler", "meta", "rng"} <= ckpt.keys()
    meta = ckpt["meta"]
    assert meta["epoch"] == tiny.epochs and meta["iter"] == 3 * tiny.epochs
    assert meta["seed"] == 0 and meta["world_size"] == 1
    assert meta["sampler"] == {"seed": 0, "epochs_done": tiny.epochs, "next_batch": 0}
    (rng,) = ckpt["rng"]  # one entry per rank
    assert rng["torch"].dtype == torch.uint8 and rng["numpy"][0] == "MT19937"
    assert len(rng["python"][1]) == 625
    assert not any(k.startswith(("module.", "_orig_mod.")) for k in ckpt["state_dict"])


def test_resume_keeps_the_runs_seed(tiny_run, tiny, tmp_path, capsys):
    path = str(tiny_run.checkpoint(1))
    assert main(tiny.args(tmp_path, "--resume", path, "--seed", "5")) == 2
    err = capsys.readouterr().err
    assert "--seed 5 differs from the seed 0" in err


def test_resume_of_a_missing_file_is_named(tiny, tmp_path, capsys):
    assert main(tiny.args(tmp_path, "--resume", str(tmp_path / "nope.pth"))) == 2
    assert "nope.pth: no such checkpoint file" in capsys.readouterr().err


def test_auto_resume_takes_the_newest_complete_checkpoint(tmp_path):
    assert find_resume("auto", tmp_path) is None  # nothing yet: a fresh start
    assert find_resume(None, tmp_path) is None
    for epoch in (1, 2, 10):
        (tmp_path / f"epoch_{epoch}.pth").write_bytes(b"x")
    (tmp_path / LATEST).write_text("epoch_2.pth\n")
    # Killed between writing epoch_10.pth and updating `latest`: epoch 10 is complete.
    assert find_resume("auto", tmp_path) == tmp_path / "epoch_10.pth"
    (tmp_path / "epoch_10.pth").unlink()
    assert find_resume("auto", tmp_path) == tmp_path / "epoch_2.pth"
    (tmp_path / LATEST).write_text("epoch_7.pth\n")
    with pytest.raises(CheckpointError, match="epoch_7.pth, which does not exist"):
        find_resume("auto", tmp_path)


def test_max_keep_ckpts_prunes_the_oldest(tmp_path):
    for epoch in (1, 2, 3, 11):
        (tmp_path / f"epoch_{epoch}.pth").write_bytes(b"x")
    (tmp_path / "best_top1_acc.pth").write_bytes(b"x")
    prune_epoch_checkpoints(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best_top1_acc.pth",
        "epoch_11.pth",
        "epoch_3.pth",
    ]

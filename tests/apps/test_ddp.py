"""Distributed training on CPUs (gloo): two processes with half the batch each train the same
model as one process with the whole batch; batch norm is synchronised to make that hold."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from skel_apps.evaluation import merge_shards
from skel_core.checkpoint import load_checkpoint
from skel_data.loader import EpochSampler


def torchrun(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc-per-node 2 ARGS`` (a free port is picked for us)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_two_processes_train_the_weights_of_one_with_the_same_global_batch(
    tiny, tiny_run, tmp_path
):
    args = tiny.args(tmp_path, "--validate", options=("data.videos_per_gpu=4",))
    result = torchrun("-m", "skel_apps.train.cli", *args)
    assert result.stdout.count("test top-1 accuracy") == 1  # rank 0 alone reports

    final = f"epoch_{tiny.epochs}.pth"
    assert tiny.weight_gap(tmp_path / final, tiny_run.work_dir / final) <= 1e-5
    ckpt = load_checkpoint(tmp_path / final)
    assert ckpt["meta"]["world_size"] == 2
    first, second = ckpt["rng"]  # every rank's random states, gathered to rank 0
    assert not (first["torch"] == second["torch"]).all()

    def records(work_dir, mode):
        lines = (work_dir / "log.jsonl").read_text().splitlines()
        return [r for r in map(json.loads, lines) if r["mode"] == mode]

    assert records(tmp_path, "run")[0]["global_batch"] == 8
    # Sharded validation and test, gathered back into dataset order, score like one process.
    for mode in ("val", "test"):
        for two, one in zip(records(tmp_path, mode), records(tiny_run.work_dir, mode), strict=True):
            assert two.keys() == one.keys()
            assert all(two[k] == pytest.approx(one[k], abs=1e-9) for k in one)


SYNC_BN_CHECK = """
import torch, torch.distributed as dist
from torch import nn
from skel_apps.train.sync_batchnorm import convert_sync_batchnorm

dist.init_process_group("gloo")
rank = dist.get_rank()
torch.manual_seed(0)
x = torch.randn(6, 3, 5, 4, dtype=torch.float64) * 3 + 1  # the global batch
w = torch.randn(6, 3, 5, 4, dtype=torch.float64)          # a loss weighting per element
plain = nn.BatchNorm2d(3).double()
with torch.no_grad():
    plain.weight.uniform_(0.5, 2)
    plain.bias.uniform_(-1, 1)
synced = convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3).double()), torch.device("cpu"))
synced.load_state_dict({"0." + k: v for k, v in plain.state_dict().items()})

full = x.clone().requires_grad_()
expected = plain(full)
(expected * w).sum().backward()
half = x[rank * 3:(rank + 1) * 3].clone().requires_grad_()
out = synced(half)
(out * w[rank * 3:(rank + 1) * 3]).sum().backward()
grads = torch.cat([synced[0].weight.grad, synced[0].bias.grad])
dist.all_reduce(grads)  # the summed loss's parameter gradients

torch.testing.assert_close(out, expected[rank * 3:(rank + 1) * 3].detach(), rtol=0, atol=1e-12)
torch.testing.assert_close(half.grad, full.grad[rank * 3:(rank + 1) * 3], rtol=0, atol=1e-12)
torch.testing.assert_close(grads, torch.cat([plain.weight.grad, plain.bias.grad]), rtol=0,
                           atol=1e-12)
torch.testing.assert_close(synced[0].running_mean, plain.running_mean, rtol=0, atol=1e-12)
torch.testing.assert_close(synced[0].running_var, plain.running_var, rtol=0, atol=1e-12)
assert type(synced[0]).__name__ == "CPUSyncBatchNorm"
print("rank", rank, "ok")
dist.destroy_process_group()
"""


def test_cpu_sync_batchnorm_equals_batchnorm_on_the_global_batch(tmp_path):
    """Outputs, input and parameter gradients and running statistics of two ranks with three
    samples each equal plain BatchNorm2d's on all six (float64, so only rounding differs)."""
    script = tmp_path / "sync_bn_check.py"
    script.write_text(textwrap.dedent(SYNC_BN_CHECK))
    result = torchrun(str(script), timeout=120)
    assert "rank 0 ok" in result.stdout and "rank 1 ok" in result.stdout


def test_sharded_scores_are_put_backmerge_shards():
    """Five samples on two ranks: the sampler pads rank 1's shard with sample 0; the gathered
    scores come back one row per sample, in dataset order."""

    class Five:
        def __len__(self):
            return 5

    scores = np.arange(5 * 3, dtype=float).reshape(5, 3)  # row i belongs to sample i
    labels = np.array([0, 1, 2, 0, 1])
    parts = []
    for rank in (0, 1):
        order = list(EpochSampler(Five(), shuffle=True, seed=4, rank=rank, world_size=2))
        parts.append((np.array(order), scores[order], labels[order]))
    assert sum(len(p[0]) for p in parts) == 6  # one padded repeat
    merged_scores, merged_labels = merge_shards(parts, 5)
    np.testing.assert_array_equal(merged_scores, scores)
    np.testing.assert_array_equal(merged_labels, labels)

"""The C allocator set-up of skel's commands: with 'tuned', a training step reuses the memory
the previous step freed instead of faulting fresh pages in; bad modes are refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from skel_apps.allocator import configure_allocator
from skel_apps.test.cli import main as skel_test_main
from skel_core.errors import ConfigError

# ST-GCN++ training steps (PYSKL's config, 2 clips of 48 frames): two to warm up, then the minor
# page faults of each of eight more. Under glibc's default thresholds most steps' temporaries are
# given back to the kernel when freed and faulted in afresh (47000-71000 pages in eight steps,
# measured); tuned, most steps fault none and a few grow the heap (250-2500 pages in eight).
FAULTS_SCRIPT = """
import resource, sys, torch
from skel_apps.allocator import configure_allocator
from skel_apps.benchmark.model import MODELS
from skel_models.registry import build_model
print(configure_allocator(sys.argv[1]))
torch.set_num_threads(1)
torch.manual_seed(0)
model = build_model(MODELS["stgcnpp"]).train()
clips, labels = torch.randn(2, 2, 48, 17, 3), torch.arange(2)
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for step in range(10):
    before = faults()
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(clips), labels).backward()
    if step >= 2:
        print(faults() - before)
"""


def _faults_in_eight_steps(mode: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT, mode], capture_output=True,
                          text=True, check=True)
    applied, *faults = done.stdout.split()
    assert len(faults) == 8
    return applied, sum(int(f) for f in faults)


def test_tuned_allocator_keeps_a_training_steps_memory_instead_of_faulting_it_in_again():
    applied, tuned = _faults_in_eight_steps("tuned")
    assert applied == "tuned"
    applied, default = _faults_in_eight_steps("default")
    assert applied == "default"
    assert default > 8 * 2000
    assert tuned * 5 < default


def test_an_unknown_mode_is_refused_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("SKEL_MALLOC", "jemalloc")
    assert skel_test_main(["missing_config.py", "missing.pth"]) == 2
    err = capsys.readouterr().err
    assert "skel-test: error: environment variable SKEL_MALLOC" in err
    assert "('tuned', 'default')" in err and "'jemalloc'" in err
    with pytest.raises(ConfigError, match="must be one of"):
        configure_allocator("huge")


def test_default_cannot_follow_tuned_in_one_process():
    assert configure_allocator("tuned") == "tuned"
    assert configure_allocator("tuned") == "tuned"  # a second call keeps the process's mode
    with pytest.raises(ConfigError, match="already tuned in this process"):
        configure_allocator("default")

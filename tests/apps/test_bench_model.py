"""skel-bench model: a quick run ends in one JSON record whose sizes, ratios, throughputs and
targets agree with each other and with the models; the benchmark's models are the zoo's model
bases; the FLOP count works on every zoo model; bad options are usage errors."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from skel_apps.benchmark import model as bench_model
from skel_apps.benchmark.cli import main
from skel_apps.benchmark.report import print_targets
from skel_core.config import Config
from skel_models.params import count_parameters, flops_per_clip
from skel_models.registry import build_model

MODEL_BASES = Path(__file__).resolve().parents[2] / "configs" / "_base_" / "models"
TIMING_KEYS = {"median_ms", "min_ms", "max_ms", "repeats", "clips_per_s", "ratio"}


@pytest.fixture(scope="module")
def quick_run():
    """One quick run on one thread, of ST-GCN++ (the targets' model) and CTR-GCN."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["model", "--quick", "--threads", "1", "--repeats", "2",
                     "--models", "stgcnpp", "ctrgcn", "--impl", "cpu", "reference"]) == 0
    lines = out.getvalue().rstrip("\n").split("\n")
    return lines, json.loads(lines[-1])


def assert_compared(results: dict, clips: int) -> None:
    """Both paths timed; ratios against the reference, throughput from the median."""
    assert set(results) == {"reference", "cpu"}
    baseline = results["reference"]["median_ms"]
    for stats in results.values():
        assert stats.keys() == TIMING_KEYS
        assert stats["repeats"] == 2
        assert 0 < stats["min_ms"] <= stats["median_ms"] <= stats["max_ms"]
        assert stats["ratio"] == pytest.approx(baseline / stats["median_ms"])
        assert stats["clips_per_s"] == pytest.approx(clips * 1e3 / stats["median_ms"])


def test_quick_run_record_is_consistent(quick_run):
    lines, record = quick_run
    assert record["benchmark"] == "model"
    assert record["baseline"] == "reference"
    clip = record["clip"]
    assert clip == {"persons": 2, "frames": 8, "joints": 17, "channels": 3, "batch": 2,
                    "latency_batch": 1}
    assert [entry["model"] for entry in record["models"]] == ["stgcnpp", "ctrgcn"]
    for entry in record["models"]:
        built = build_model(bench_model.MODELS[entry["model"]])
        assert entry["params"] == count_parameters(built)
    assert [(e["device"], e["threads"], e["model"]) for e in record["inference"]] == [
        ("cpu", 1, "stgcnpp"), ("cpu", 1, "ctrgcn")]
    for entry in record["inference"]:
        assert_compared(entry["batch"], clip["batch"])
        assert_compared(entry["latency"], clip["latency_batch"])
        assert entry["max_abs_diff"]["reference"] == 0
        assert entry["max_abs_diff"]["cpu"] < 1e-4  # the fused path computes the same scores
    (training,) = record["training"]
    assert (training["device"], training["threads"], training["model"]) == ("cpu", 1, "stgcnpp")
    assert_compared(training["fwd_bwd"], clip["batch"])
    rows = [line.split() for line in lines[:-1]]
    assert sum(row[:4] in (["cpu", "1", name, "cpu"], ["cpu", "1", name, "reference"])
               for row in rows for name in ("stgcnpp", "ctrgcn")) == 4  # one row per path


def test_targets_are_the_st_gcn_pp_ratios_against_the_thresholds(quick_run):
    lines, record = quick_run
    stgcnpp = record["inference"][0]
    expected = {
        "ST-GCN++ fwd+bwd at batch 16": (1.3, record["training"][0]["fwd_bwd"]["cpu"]["ratio"]),
        "ST-GCN++ batch-1 latency": (1.5, stgcnpp["latency"]["cpu"]["ratio"]),
    }
    assert [target["target"] for target in record["targets"]] == list(expected)
    for target in record["targets"]:
        required, measured = expected[target["target"]]
        assert (target["device"], target["threads"], target["impl"]) == ("cpu", 1, "cpu")
        assert target["required"] == required
        assert target["ratio"] == measured
        assert target["met"] is (measured >= required)
        verdict = "met" if target["met"] else "NOT MET"
        (printed,) = [line for line in lines if line.strip().startswith(target["target"])]
        assert printed.endswith(f"{measured:.2f}x (needs {required}x) {verdict}")


def test_flops_per_clip_is_counted_for_ctr_gcn(quick_run):
    # CTR-GCN passes a parameter to a submodule, which torch's FLOP counter cannot hook under
    # no_grad; flops_per_clip counts with the parameters frozen, then restores them exactly.
    _, record = quick_run
    model = build_model(bench_model.MODELS["ctrgcn"])
    next(model.parameters()).requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    flops = flops_per_clip(model, (2, 8, 17, 3))
    assert flops > 0
    assert [p.requires_grad for p in model.parameters()] == flags
    assert record["models"][1] == {"model": "ctrgcn", "params": count_parameters(model),
                                   "flops_per_clip": flops}


def test_targets_without_a_kernel_measurement_are_reported_unmeasured(capsys):
    targets = bench_model._targets([], [])
    assert [t["target"] for t in targets] == [t.label for t in bench_model.TARGETS]
    assert all(t["met"] is None and t["ratio"] is None and t["impl"] is None for t in targets)
    print_targets(targets, "ST-GCN++", quick=False)
    out = capsys.readouterr().out
    assert out.count("not measured in this run") == len(bench_model.TARGETS)


@pytest.mark.parametrize("name", list(bench_model.MODELS))
def test_benchmark_models_are_the_zoo_model_bases(name):
    assert bench_model.MODELS[name] == Config.fromfile(MODEL_BASES / f"{name}.py").model.to_dict()


def test_unknown_model_is_a_usage_error_listing_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["model", "--quick", "--models", "stgcn", "resnet"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'resnet'" in err and "dgstgcn" in err

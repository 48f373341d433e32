"""skel-bench: the command line and its help, quick runs of each benchmark ending in one JSON
line with consistent numbers, the interleaved timing, and the numpy port of PYSKL's heatmap
loop agreeing with skel_kernels.render_heatmaps."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from skel_apps.benchmark import graph_conv, timing
from skel_apps.benchmark.cli import SUBCOMMANDS, main
from skel_apps.benchmark.heatmap import Case, synthetic_keypoints
from skel_apps.benchmark.pyskl_heatmap import (
    COCO_LIMBS,
    generate_pose_target,
    pyskl_heatmaps,
)
from skel_apps.benchmark.report import Column, Table, json_line
from skel_kernels import render_heatmaps

TIMING_KEYS = {"median_ms", "min_ms", "max_ms", "repeats"}


def run_quick(capsys, *argv: str) -> tuple[list[str], dict]:
    """Run ``skel-bench ARGV --quick`` in-process; the printed lines and the parsed record."""
    assert main([*argv, "--quick"]) == 0
    lines = capsys.readouterr().out.rstrip("\n").split("\n")
    return lines, json.loads(lines[-1])


def assert_timing(entry: dict, repeats: int = 3) -> None:
    assert entry.keys() >= TIMING_KEYS
    assert entry["repeats"] == repeats
    assert 0 < entry["min_ms"] <= entry["median_ms"] <= entry["max_ms"]


def test_console_script_prints_usage_listing_every_benchmark():
    script = Path(sys.executable).with_name("skel-bench")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: skel-bench" in result.stdout
    for name in SUBCOMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_each_benchmark_help_describes_its_options_and_keys(capsys, name):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--threads", "--repeats", "--warmup", "--quick", "--impl"):
        assert option in out
    assert "JSON record" in out and "ratio" in out  # the module docstring documents the keys


@pytest.mark.parametrize(("argv", "message"), [
    (["heatmap", "--repeats", "2"], "at least 5 repeats"),
    (["graph-conv", "--threads", "0"], "must be a positive integer"),
    (["heatmap", "--warmup", "-1"], "--warmup -1"),
    (["heatmap", "--impl", "gpu"], "invalid choice: 'gpu'"),
    (["bogus"], "invalid choice: 'bogus'"),
])
def test_bad_options_are_usage_errors_naming_the_option(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CUDA kernels can run here")
def test_an_implementation_that_cannot_run_here_is_refused(capsys):
    with pytest.raises(SystemExit):
        main(["heatmap", "--impl", "cpu", "cuda"])
    assert "--impl cuda: cannot run here" in capsys.readouterr().err


def test_quick_heatmap_run_ends_with_a_consistent_json_record(capsys):
    lines, record = run_quick(capsys, "heatmap", "--threads", "1", "2")
    assert any(line.startswith("keypoints m1") for line in lines[:-1])  # rows for people
    assert record["benchmark"] == "heatmap" and record["baseline"] == "pyskl"
    assert record["settings"] == {"threads": [1, 2], "repeats": 3, "warmup": 1, "quick": True,
                                  "impls": timing.runnable_impls(), "malloc": "tuned"}
    assert record["environment"]["torch"] == torch.__version__
    names = [f"{kind} m{persons}" for persons in (1, 2)
             for kind in ("keypoints", "limbs", "keypoints+limbs")]
    names.append("test volume m1")
    assert [(entry["case"], entry["threads"]) for entry in record["cases"]] == [
        (name, threads) for name in names for threads in (1, 2)]
    for entry in record["cases"]:
        expected_channels = 34 if entry["case"].startswith("keypoints+limbs") else 17
        assert entry["channels"] == expected_channels
        assert entry["double"] == entry["case"].startswith("test volume")
        results = entry["results"]
        assert list(results) == ["pyskl", *timing.runnable_impls()]
        baseline = results["pyskl"]["median_ms"]
        for result in results.values():
            assert_timing(result)
            assert result["ratio"] == pytest.approx(baseline / result["median_ms"])
            assert result["ratio"] > 0
            if entry["double"]:  # mirrored windows' edges are cut differently (see heatmap.py)
                assert result["max_abs_diff"] <= math.exp(-4.5)
            else:  # every implementation drew PYSKL's maps
                assert result["max_abs_diff"] < 1e-5


def test_quick_graph_conv_run_ends_with_a_consistent_json_record(capsys):
    lines, record = run_quick(capsys, "graph-conv", "--impl", "cpu", "--threads", "2")
    assert record["benchmark"] == "graph-conv" and record["settings"]["impls"] == ["cpu"]
    layers, sums = record["layers"], record["sums"]
    quick = graph_conv.QUICK_LAYERS
    assert len(layers) == len(quick) * 2 * 2 and len(sums) == 2 * 2  # layouts x batches
    assert {(s["layout"], s["joints"], s["batch"]) for s in sums} == {
        ("coco", 17, 32), ("coco", 17, 2), ("nturgb+d", 25, 32), ("nturgb+d", 25, 2)}
    for entry in layers:
        n, v = entry["batch"], entry["joints"]
        assert entry["gflop_fwd"] * 1e9 == pytest.approx(
            2 * n * entry["frames"] * v * 3 * entry["c_out"] * (entry["c_in"] + v))
        assert entry["gemm"]["shape"] == [n * entry["frames"] * v, entry["c_in"],
                                          3 * entry["c_out"]]
        assert_timing(entry["gemm"])
        assert entry["gemm"]["gflops"] > 0
        for pass_name in ("fwd", "fwd_bwd"):
            results = entry[pass_name]
            assert list(results) == ["pyskl", "cpu"]
            for result in results.values():
                assert_timing(result)
                assert result["ratio"] == pytest.approx(
                    results["pyskl"]["median_ms"] / result["median_ms"])
                assert result["ratio"] > 0 and result["gflops"] > 0
        assert entry["max_abs_diff"]["cpu"] < 1e-4  # the kernel computed PYSKL's result
    for total in sums:
        members = [entry for entry in layers
                   if (entry["layout"], entry["batch"]) == (total["layout"], total["batch"])]
        assert sorted((e["c_in"], e["c_out"]) for e in members) == sorted(
            (layer.c_in, layer.c_out) for layer in quick)
        for pass_name in ("fwd", "fwd_bwd"):
            for impl, result in total[pass_name].items():
                weighted = sum(e[pass_name][impl]["median_ms"] * e["count"] for e in members)
                assert result["ms"] == pytest.approx(weighted)
                assert result["ratio"] == pytest.approx(
                    total[pass_name]["pyskl"]["ms"] / result["ms"])
    targets = record["targets"]
    assert {t["target"] for t in targets} == {"fwd+bwd at N=32 on 2 threads", "fwd at N=2"}
    for target in targets:
        assert target["impl"] == "cpu" and target["threads"] == 2
        assert target["met"] == (target["ratio"] >= target["required"])
    assert any("fwd at N=2" in line for line in lines[:-1])  # targets printed for people


def test_unmeasured_target_is_reported_as_such(capsys):
    _, record = run_quick(capsys, "graph-conv", "--impl", "cpu", "--threads", "1")
    missing = [t for t in record["targets"] if t["target"] == "fwd+bwd at N=32 on 2 threads"]
    assert missing == [{"target": "fwd+bwd at N=32 on 2 threads", "pass": "fwd_bwd",
                        "batch": 32, "threads": 2, "required": 1.5, "device": None,
                        "layout": None, "impl": None, "ratio": None, "met": None}]


def test_pyskl_port_agrees_with_render_heatmaps_on_synthetic_clips():
    case = Case("two persons", clips=2, persons=2, frames=3, size=24)
    keypoints, scores = synthetic_keypoints(case)
    assert keypoints.shape == (2, 2, 3, 17, 2) and scores.shape == (2, 2, 3, 17)
    assert (keypoints[scores > 0] >= 0).all() and (keypoints[scores > 0] < 24).all()
    port = pyskl_heatmaps(keypoints, scores, 24, 20, sigma=0.8, limbs=COCO_LIMBS)
    kernel = render_heatmaps(torch.from_numpy(keypoints), torch.from_numpy(scores), height=24,
                             width=20, sigma=0.8, limbs=COCO_LIMBS)
    assert port.shape == (2, 17 + 17, 3, 24, 20) and port.dtype == np.float32
    np.testing.assert_allclose(port, kernel.numpy(), atol=1e-5, rtol=0)
    assert port.max() > 0.5


def test_double_appends_the_mirror_image_with_left_and_right_swapped():
    keypoint = np.array([[[[2.0, 3.0], [6.0, 1.0], [4.0, 4.0]]]], dtype=np.float32)  # 1, 1, 3
    score = np.array([[[0.9, 0.7, 0.5]]], dtype=np.float32)
    single = generate_pose_target(keypoint, score, (6, 8))
    double = generate_pose_target(keypoint, score, (6, 8), double=True, left=(0,), right=(1,))
    assert single.shape == (1, 3, 6, 8) and double.shape == (2, 3, 6, 8)
    np.testing.assert_array_equal(double[0], single[0])
    np.testing.assert_array_equal(double[1, 0], single[0, 1, :, ::-1])
    np.testing.assert_array_equal(double[1, 1], single[0, 0, :, ::-1])
    np.testing.assert_array_equal(double[1, 2], single[0, 2, :, ::-1])
    assert double[1, 0, 1, 8 - 1 - 6] == pytest.approx(0.7)  # keypoint 1's peak, mirrored


def test_port_rejects_misshapen_records():
    with pytest.raises(ValueError, match=r"keypoint_score must be \(M, T, V\) = \(1, 2, 3\)"):
        generate_pose_target(np.zeros((1, 2, 3, 2)), np.zeros((1, 2, 4)), (4, 4))
    with pytest.raises(ValueError, match=r"keypoint must be \(M, T, V, 2\), got shape"):
        generate_pose_target(np.zeros((2, 3, 2)), np.zeros((2, 3)), (4, 4))


def test_measure_interleaves_in_rotating_order_and_times_only_after_warmup():
    calls = []
    candidates = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    timings = timing.measure(candidates, repeats=2, warmup=1)
    assert "".join(calls) == "abc" + "bca" + "cab"
    assert list(timings) == ["a", "b", "c"]
    for result in timings.values():
        assert result.repeats == 2 and result.min_ms <= result.median_ms <= result.max_ms
    with pytest.raises(ValueError, match="repeats >= 1"):
        timing.measure(candidates, repeats=0, warmup=1)


def test_num_threads_is_restored_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), timing.num_threads(1):
        assert torch.get_num_threads() == 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


def test_triton_is_never_benchmarked_without_a_gpu(monkeypatch):
    monkeypatch.setattr(timing.skel_kernels, "available_backends", lambda: {
        "reference": True, "cpu": True, "cuda": False, "triton": True})
    monkeypatch.setattr(timing.torch.cuda, "is_available", lambda: False)
    assert timing.runnable_impls() == ["cpu", "reference"]


def test_report_rows_are_aligned_and_the_record_is_strict_json(capsys):
    table = Table("title", [Column("name", 6, right=False), Column("ms", 7)])
    table.print_header()
    table.print_row("cpu", 0.012345)
    table.print_row("pyskl", 123.456)
    table.print_row("none", None)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["title", "name         ms", "------  -------", "cpu       0.012",
                         "pyskl       123", "none          -"]
    assert json_line({"a": [1, 2.5]}) == '{"a":[1,2.5]}'
    with pytest.raises(ValueError):
        json_line({"ratio": float("nan")})

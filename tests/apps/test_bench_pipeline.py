"""skel-bench pipeline: a quick run on the real PYSKL pickle ends with one consistent JSON record,
the pipelines give PYSKL's shapes, and the PYSKL-loop GeneratePoseTarget draws skel's maps."""

from __future__ import annotations

import contextlib
import io
import json
import math

import numpy as np
import pytest

from skel_apps.benchmark import pipeline
from skel_apps.benchmark.cli import main
from skel_apps.benchmark.pipeline import (
    PysklLoopGeneratePoseTarget,
    posec3d_test,
    posec3d_train,
    stgcnpp_train,
    with_pyskl_loop,
)
from skel_core.errors import AnnotationError, ConfigError
from skel_data import PoseDataset
from skel_data.transforms import GeneratePoseTarget

ANN = ("pyskl_custom_hrnet", "custom_hrnet.pkl")
MIRROR_EDGE = math.exp(-4.5)  # mirrored windows' edges: a Gaussian's value 3 sigma out


@pytest.fixture(scope="module")
def quick_run(shared_data):
    """``skel-bench pipeline --quick`` finding the data through SKEL_SHARED_DATA, run once: its
    printed lines and its record."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SKEL_SHARED_DATA", str(shared_data))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert main(["pipeline", "--quick"]) == 0
    lines = printed.getvalue().rstrip("\n").split("\n")
    return lines, json.loads(lines[-1])


def frames(results: dict) -> np.ndarray:
    """GeneratePoseTarget's maps in PYSKL's (frames, C, H, W) layout."""
    imgs = results["imgs"]
    return imgs.reshape((-1,) + imgs.shape[-3:])


def test_quick_run_times_every_pipeline_renderer_and_worker_count(quick_run, shared_data):
    lines, record = quick_run
    assert record["benchmark"] == "pipeline" and record["settings"]["repeats"] == 3
    assert record["ann_file"] == str(shared_data.joinpath(*ANN))
    expected = [("stgcn++ train", None, 1), ("stgcn++ train", None, 2)]
    expected += [
        (name, heatmaps, workers)
        for name in ("posec3d train", "posec3d test")
        for heatmaps in ("render_heatmaps", "pyskl_loop")
        for workers in (1, 2)
    ]
    got = [(e["pipeline"], e["heatmaps"], e["workers"]) for e in record["cases"]]
    assert got == expected
    specs = {case.name: case for case in pipeline.cases(True, "xsub_train", "xsub_test")}
    for entry in record["cases"]:
        spec = specs[entry["pipeline"]]
        loop = entry["heatmaps"] == "pyskl_loop"
        assert entry["samples"] == (spec.loop_samples if loop else spec.samples)
        assert (entry["batch_size"], entry["clip_len"], entry["num_clips"]) == (
            spec.batch_size,
            spec.clip_len,
            spec.num_clips,
        )
        assert entry["split"] == (
            "xsub_test" if entry["pipeline"] == "posec3d test" else "xsub_train"
        )
        assert entry["repeats"] == 3 and entry["first_pass_ms"] > 0
        assert 0 < entry["min_ms"] <= entry["median_ms"] <= entry["max_ms"]
        assert entry["samples_per_s"] == pytest.approx(entry["samples"] * 1e3 / entry["median_ms"])
    rows = [line for line in lines[:-1] if line.startswith("posec3d test")]
    assert len(rows) == 4  # rows for people, one per case


def test_ratios_compare_with_the_pyskl_loop_at_the_same_worker_count(quick_run):
    cases = quick_run[1]["cases"]
    for entry in cases:
        if entry["heatmaps"] is None:
            assert entry["ratio"] is None
            continue
        (loop,) = [
            e
            for e in cases
            if (e["pipeline"], e["heatmaps"], e["workers"])
            == (entry["pipeline"], "pyskl_loop", entry["workers"])
        ]
        assert entry["ratio"] == pytest.approx(entry["samples_per_s"] / loop["samples_per_s"])


def test_memory_of_four_workers_in_memory_and_packed(quick_run, shared_data):
    memory = quick_run[1]["memory"]
    pickle_file = shared_data.joinpath(*ANN)
    assert memory["workers"] == 4 and memory["pipeline"] == "stgcn++ train"
    assert memory["samples"] == 486  # every clip of the file
    assert memory["ann_file_bytes"] == pickle_file.stat().st_size
    assert memory["pack_bytes"] > memory["ann_file_bytes"] / 2  # the keypoints themselves
    for key in ("in_memory", "packed"):
        entry = memory[key]
        assert len(entry["peak_rss"]) == len(entry["private"]) == 4
        assert all(
            peak > private > 0
            for peak, private in zip(entry["peak_rss"], entry["private"], strict=True)
        )
        assert entry["total_peak_rss"] == sum(entry["peak_rss"])
        assert entry["total_private"] == sum(entry["private"])
        assert entry["main_peak_rss"] > 0
    assert not list(pickle_file.parent.glob("*.skelpack"))  # packed elsewhere


@pytest.mark.parametrize(
    ("transforms", "split", "test_mode", "key", "shape"),
    [
        (stgcnpp_train(), "xsub_train", False, "keypoint", (1, 2, 100, 17, 3)),
        (posec3d_train(), "xsub_train", False, "imgs", (1, 17, 48, 56, 56)),
        (posec3d_test(8, 2), "xsub_test", True, "imgs", (2 * 2, 17, 8, 64, 64)),
    ],
)
def test_pipelines_give_pyskl_shapes_on_real_clips(
    shared_data, transforms, split, test_mode, key, shape
):
    dataset = PoseDataset(shared_data.joinpath(*ANN), transforms, split=split, test_mode=test_mode)
    sample = dataset[0]
    assert tuple(sample[key].shape) == shape
    assert set(sample) == {key, "label"}


def test_with_pyskl_loop_replaces_only_generate_pose_target():
    transforms = posec3d_test()
    replaced = with_pyskl_loop(transforms)
    assert len(replaced) == len(transforms)
    (position,) = [i for i, t in enumerate(transforms) if t["type"] == "GeneratePoseTarget"]
    loop = replaced[position]
    assert isinstance(loop, PysklLoopGeneratePoseTarget)
    assert loop.settings.double and loop.settings.left_kp == (1, 3, 5, 7, 9, 11, 13, 15)
    assert [t for i, t in enumerate(replaced) if i != position] == [
        t for i, t in enumerate(transforms) if i != position
    ]
    assert repr(loop).startswith("PysklLoopGeneratePoseTarget(sigma=0.6")


@pytest.fixture(scope="module")
def real_clip(shared_data):
    """A real test clip cropped and resized as PoseC3D's test pipeline does (2 clips x 6)."""
    before_heatmaps = [t for t in posec3d_test(6, 2) if t["type"] != "GeneratePoseTarget"][:5]
    dataset = PoseDataset(
        shared_data.joinpath(*ANN), before_heatmaps, split="xsub_test", test_mode=True
    )
    return dataset[1]


@pytest.mark.parametrize(
    "settings",
    [
        dict(),
        dict(double=True),
        dict(with_limb=True, double=True, use_score=False),
        dict(with_kp=False, with_limb=True, scaling=0.5, sigma=1.0),
    ],
)
def test_pyskl_loop_draws_the_maps_of_generate_pose_target(real_clip, settings):
    fast = frames(GeneratePoseTarget(**settings)(real_clip))
    loop = frames(PysklLoopGeneratePoseTarget(**settings)(real_clip))
    num_frames = 12 * (2 if settings.get("double") else 1)
    channels = 17 * settings.get("with_kp", True) + 17 * settings.get("with_limb", False)
    side = 32 if settings.get("scaling") else 64
    assert loop.shape == fast.shape == (num_frames, channels, side, side)
    assert loop.dtype == np.float32 and loop.max() > 0.5
    single = slice(0, 12)  # the clips themselves agree to rounding
    np.testing.assert_allclose(loop[single], fast[single], atol=1e-5, rtol=0)
    # the mirrored half only at the edges of mirrored windows (see GeneratePoseTarget)
    assert np.abs(loop - fast).max() <= MIRROR_EDGE


def test_pyskl_loop_names_the_sample_of_a_bad_record():
    results = {
        "frame_dir": "five_joints",
        "keypoint": np.ones((1, 2, 5, 2), np.float32),
        "img_shape": (8, 8),
    }
    with pytest.raises(AnnotationError, match=r"five_joints.*\n.*keypoint indices \[5, 7"):
        PysklLoopGeneratePoseTarget(double=True)(results)
    with pytest.raises(AnnotationError, match=r"five_joints.*\n.*join keypoints outside"):
        PysklLoopGeneratePoseTarget(with_kp=False, with_limb=True)(results)
    with pytest.raises(AnnotationError, match="img_shape"):
        PysklLoopGeneratePoseTarget()({**results, "img_shape": (0, 8)})
    assert frames(PysklLoopGeneratePoseTarget()(results)).shape == (2, 5, 8, 8)


def test_missing_annotation_file_is_a_config_error_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SKEL_SHARED_DATA", str(tmp_path))
    with pytest.raises(ConfigError, match="SKEL_SHARED_DATA") as info:
        main(["pipeline", "--quick"])
    assert str(tmp_path.joinpath(*ANN)) in str(info.value)
    missing = tmp_path / "nothing.pkl"
    with pytest.raises(ConfigError, match=f"annotation file {missing} not found"):
        main(["pipeline", "--quick", "--ann-file", str(missing)])

"""``skel-bench heatmap``: ``skel_kernels.render_heatmaps`` against PYSKL's ``GeneratePoseTarget``
loop (the numpy port in :mod:`.pyskl_heatmap`), the classic CPU bottleneck of PoseC3D.

Cases (``--quick``: the same with 4 frames on 16 x 16 maps and 2 clips in the volume):

* one clip of 17 COCO keypoints x 48 frames on a 56 x 56 map, with 1 and 2 persons, rendering
  the keypoint channels, the limb channels (PYSKL's COCO limbs) or both;
* PoseC3D's test-time volume: 10 clips x 48 frames on 64 x 64 with PYSKL's ``double`` flip, so
  10 x 2 maps of 17 channels, with one person.

The keypoints are skel_data's synthetic actions (moving bodies, scores from 0.6 to 1, missing
joints) fitted into the map as PYSKL's ``PoseCompact`` (padding 0.25, square) and ``Resize`` do.
The baseline renders the record as PYSKL's pipeline holds it (all clips' frames in one record)
on the CPU, the volume's mirrored half by flipping the maps. Each implementation renders the
same clips with one ``render_heatmaps`` call on its device, the volume's mirrored half as skel's
``GeneratePoseTarget(double=True)`` does: from mirrored keypoints (x -> W - 1 - x, left and
right exchanged; prepared beforehand, a negligible numpy step). Its largest difference from the
baseline's maps is reported beside its time: float rounding (about 1e-7), except that mirrored
windows differ from PYSKL's at their edges, by at most ``exp(-4.5)`` (0.011, a Gaussian's value
3 sigma from its centre).

The JSON record adds ``baseline`` ("pyskl") and ``cases``: one entry per case and thread count
with ``case``, ``threads``, ``clips``, ``persons``, ``frames``, ``size``, ``channels``,
``double`` and ``results``: by implementation (the baseline included), ``median_ms``,
``min_ms``, ``max_ms``, ``repeats``, ``ratio`` (baseline median / its median) and
``max_abs_diff``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from skel_data.synthetic import SyntheticConfig, generate_clips
from skel_data.transforms.flip import mirror_x
from skel_kernels import render_heatmaps

from .pyskl_heatmap import (
    COCO_LEFT_KP,
    COCO_LIMBS,
    COCO_RIGHT_KP,
    generate_pose_target,
    mirrored_channel_order,
)
from .report import Column, Table
from .timing import IMPL_DEVICE, measure, num_threads, ratio

BASELINE = "pyskl"
SIGMA = 0.6  # GeneratePoseTarget's default
PADDING = 0.25  # PoseCompact's default
JOINTS = 17  # the synthetic clips' COCO keypoints


@dataclass(frozen=True)
class Case:
    """One rendering job: ``clips`` clips of ``persons`` x ``frames`` on ``size`` x ``size``."""

    name: str
    clips: int
    persons: int
    frames: int
    size: int
    keypoints: bool = True
    limbs: bool = False
    double: bool = False

    @property
    def channels(self) -> int:
        return JOINTS * self.keypoints + len(COCO_LIMBS) * self.limbs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``heatmap`` takes only the common options."""


def cases(quick: bool) -> list[Case]:
    frames, size, volume_clips, volume_size = (4, 16, 2, 16) if quick else (48, 56, 10, 64)
    channel_sets = (("keypoints", True, False), ("limbs", False, True),
                    ("keypoints+limbs", True, True))
    found = [Case(f"{label} m{persons}", 1, persons, frames, size, keypoints, limbs)
             for persons in (1, 2) for label, keypoints, limbs in channel_sets]
    # two persons would double the volume's time (already most of the run) for little news
    found.append(Case("test volume m1", volume_clips, 1, frames, volume_size, double=True))
    return found


def synthetic_keypoints(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(N, M, T, 17, 2) keypoints in map pixels and (N, M, T, 17) scores of synthetic clips."""
    if case.persons not in (1, 2):
        raise ValueError(f"heatmap case {case.name!r}: the synthetic clips have 1 or 2 persons, "
                         f"got {case.persons}")
    config = SyntheticConfig(num_clips=case.clips, seed=seed, min_frames=case.frames,
                             max_frames=case.frames, second_person_prob=float(case.persons == 2))
    records = generate_clips(config)
    keypoints = np.stack([fit_to_map(r["keypoint"], r["keypoint_score"], case.size)
                          for r in records])
    return keypoints, np.stack([r["keypoint_score"] for r in records])


def fit_to_map(keypoint: np.ndarray, score: np.ndarray, size: int) -> np.ndarray:
    """Map a clip's (M, T, V, 2) keypoints into a ``size`` x ``size`` map: the square around all
    its drawn keypoints, grown by ``PADDING``, becomes the map."""
    drawn = keypoint[score > 0]
    low, high = drawn.min(axis=0), drawn.max(axis=0)
    side = float((high - low).max()) * (1 + PADDING)
    corner = (low + high) / 2 - side / 2
    return ((keypoint - corner) * (size / side)).astype(np.float32)


def run(args: argparse.Namespace) -> dict[str, Any]:
    table = Table("render_heatmaps against PYSKL's GeneratePoseTarget loop (numpy port)", [
        Column("case", 20, right=False), Column("threads", 7), Column("impl", 9, right=False),
        Column("median ms", 10), Column("min ms", 9), Column("max ms", 9),
        Column("x pyskl", 8), Column("max |diff|", 10)])
    table.print_header()
    entries = []
    for case in cases(args.quick):
        candidates, outputs = _candidates(case, args.impl)
        differences = _differences(outputs, case)
        for threads in args.threads:
            with num_threads(threads):
                timings = measure(candidates, repeats=args.repeats, warmup=args.warmup)
            results = {}
            for name, timing in timings.items():
                speedup = ratio(timings[BASELINE].median_ms, timing.median_ms)
                results[name] = {**timing.as_dict(), "ratio": speedup,
                                 "max_abs_diff": differences[name]}
                table.print_row(case.name, threads, name, timing.median_ms, timing.min_ms,
                                timing.max_ms, speedup, f"{differences[name]:.1e}")
            entries.append({"case": case.name, "threads": threads, "clips": case.clips,
                            "persons": case.persons, "frames": case.frames, "size": case.size,
                            "channels": case.channels, "double": case.double,
                            "results": results})
    return {"baseline": BASELINE, "cases": entries}


def _candidates(case: Case, impls: list[str]) -> tuple[dict[str, Callable[[], object]],
                                                       dict[str, Callable[[], np.ndarray]]]:
    """The timed callables by name, and for each a callable giving its maps as a numpy
    (clips x flips, C, T, H, W) array for the comparison."""
    keypoints, scores = synthetic_keypoints(case)
    persons, joints = keypoints.shape[1], keypoints.shape[3]
    # PYSKL's test pipeline holds the clips as one record of clips x frames frames
    record = keypoints.transpose(1, 0, 2, 3, 4).reshape(persons, -1, joints, 2)
    record_scores = scores.transpose(1, 0, 2, 3).reshape(persons, -1, joints)
    limbs = COCO_LIMBS if case.limbs else None

    def baseline() -> np.ndarray:
        return generate_pose_target(record, record_scores, (case.size, case.size), sigma=SIGMA,
                                    with_kp=case.keypoints, limbs=limbs, double=case.double)

    def baseline_as_clips() -> np.ndarray:
        maps = baseline()  # (flips x clips x T, C, H, W)
        return maps.reshape(-1, case.frames, *maps.shape[1:]).transpose(0, 2, 1, 3, 4)

    if case.double:
        keypoints, scores = _with_mirror_images(keypoints, scores, case.size)
    timed: dict[str, Callable[[], object]] = {BASELINE: baseline}
    outputs: dict[str, Callable[[], np.ndarray]] = {BASELINE: baseline_as_clips}
    for impl in impls:
        render = _renderer(case, impl, torch.from_numpy(keypoints), torch.from_numpy(scores))
        timed[impl] = render
        outputs[impl] = lambda render=render: render().cpu().numpy()
    return timed, outputs


def _renderer(case: Case, impl: str, keypoints: Tensor, scores: Tensor) -> Callable[[], Tensor]:
    """``render_heatmaps`` of the case on ``impl``'s device, its inputs already there."""
    device = torch.device(IMPL_DEVICE[impl])
    keypoints, scores = keypoints.to(device), scores.to(device)
    limbs = torch.tensor(COCO_LIMBS, device=device) if case.limbs else None

    def render() -> Tensor:
        return render_heatmaps(keypoints, scores, height=case.size, width=case.size,
                               sigma=SIGMA, limbs=limbs, with_keypoints=case.keypoints,
                               impl=impl)

    return render


def _with_mirror_images(keypoints: np.ndarray, scores: np.ndarray,
                        size: int) -> tuple[np.ndarray, np.ndarray]:
    """The clips followed by their mirror images as skel's ``GeneratePoseTarget(double=True)``
    makes them: x -> size - 1 - x and the left and right keypoints exchanged, so their maps
    come out with the channels already swapped."""
    order = mirrored_channel_order(JOINTS, COCO_LEFT_KP, COCO_RIGHT_KP)
    mirrored = mirror_x(keypoints, size)[..., order, :]
    return (np.concatenate([keypoints, mirrored]),
            np.concatenate([scores, scores[..., order]]))


def _differences(outputs: dict[str, Callable[[], np.ndarray]], case: Case) -> dict[str, float]:
    """Each implementation's largest absolute difference from the baseline's maps."""
    expected = outputs[BASELINE]()
    differences = {BASELINE: 0.0}
    for name, output in outputs.items():
        if name == BASELINE:
            continue
        got = output()
        if got.shape != expected.shape:
            raise RuntimeError(f"heatmap case {case.name!r}: {name} rendered shape {got.shape}, "
                               f"the baseline {expected.shape}")
        differences[name] = float(np.abs(got - expected).max())
    return differences

"""``skel-bench pipeline``: samples/s of PYSKL's data pipelines on real keypoints, with skel's
heatmap op and with PYSKL's Python loop, and the memory of 4 DataLoader workers.

The clips are real HRNet 2D keypoints in PYSKL's pickle format:
``pyskl_custom_hrnet/custom_hrnet.pkl`` of the shared data folder (``$SKEL_SHARED_DATA``, else
``../shared/data`` beside the repository), or ``--ann-file``. Its clips have one person each.
The pipelines are PYSKL's configs, transform for transform:

* ``stgcn++ train`` (ST-GCN++, joint stream, ``xsub_train``): PreNormalize2D, GenSkeFeat j,
  UniformSample 100, PoseDecode, FormatGCNInput 2, Collect, ToTensor; batches of 16;
* ``posec3d train`` (``xsub_train``): UniformSampleFrames 48, PoseDecode, PoseCompact,
  Resize (-1, 64), RandomResizedCrop (0.56, 1), Resize (56, 56), Flip 0.5 (COCO left/right),
  GeneratePoseTarget (keypoints), FormatShape NCTHW_Heatmap, Collect, ToTensor; batches of 8
  (PYSKL's 32 would hold a third of a GB per batch);
* ``posec3d test`` (``xsub_test``, test mode): UniformSampleFrames 48 x 10 clips, PoseDecode,
  PoseCompact, Resize (-1, 64), CenterCrop 64, GeneratePoseTarget with ``double=True``,
  FormatShape, Collect, ToTensor; batches of 1, as PYSKL tests.

The PoseC3D pipelines run twice: ``render_heatmaps`` (skel's GeneratePoseTarget, the compiled
kernel) and ``pyskl_loop`` (GeneratePoseTarget replaced by
:class:`PysklLoopGeneratePoseTarget`, PYSKL's loop over frames, keypoints and persons; same
output shape). Each case is a loader from ``skel_data.build_dataloader`` over the split's first
``samples`` clips, on 1 and on 2 workers (torch runs each worker on one thread; ``--threads``
and ``--impl`` do not apply here). The workers persist between passes: a loader's first pass,
which starts them, is timed alone (``first_pass_ms``, the startup cost plus one pass); then
``--warmup`` untimed and ``--repeats`` timed passes follow, all cases of a pipeline
interleaved (``skel_apps.benchmark.timing.measure``). samples/s is ``samples`` over the median
pass. The PYSKL loop renders a test sample in about 2 s, so the test pipeline uses fewer
samples there (``samples`` says how many). ``--quick`` shortens the clips (8 frames, 2 test
clips) and uses a handful of samples.

Memory: the ST-GCN++ pipeline over the whole file on 4 workers
(``skel_data.worker_memory.measure_worker_memory``), first with the records held in memory,
then with the file packed into a temporary directory and memory-mapped
(``skel_data.packed``). ``peak_rss`` counts pages a worker shares with the main process;
``private`` is what each worker wrote itself (see that module).

The JSON record adds ``ann_file`` and:

* ``cases``: one per pipeline, heatmap renderer and worker count, with ``pipeline``, ``split``,
  ``heatmaps`` ("render_heatmaps", "pyskl_loop", or null without heatmaps), ``workers``,
  ``samples``, ``batch_size``, ``clip_len``, ``num_clips``, ``first_pass_ms``, ``median_ms``,
  ``min_ms``, ``max_ms``, ``repeats`` (of whole passes), ``samples_per_s`` and ``ratio``
  (its samples/s over the pyskl_loop case's at the same worker count; null without heatmaps);
* ``memory``: ``workers`` (4), ``pipeline``, ``samples``, ``ann_file_bytes``, ``pack_bytes``
  and for ``in_memory`` and ``packed``: ``peak_rss`` and ``private`` (bytes, per worker),
  ``total_peak_rss``, ``total_private`` and ``main_peak_rss``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import DataLoader, Subset

from skel_core.errors import ConfigError
from skel_data import PoseDataset, build_dataloader
from skel_data.transforms import GeneratePoseTarget
from skel_data.transforms.heatmap import COCO_LEFT_KP, COCO_RIGHT_KP
from skel_data.transforms.pose_checks import (
    checked_img_shape,
    checked_keypoints,
    checked_scores,
    sample_error,
)
from skel_data.worker_memory import WorkerMemory, measure_worker_memory

from .pyskl_heatmap import generate_pose_target
from .report import Column, Table
from .timing import measure, ratio

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_ANN_FILE = Path("pyskl_custom_hrnet") / "custom_hrnet.pkl"
WORKER_COUNTS = (1, 2)
MEMORY_WORKERS = 4
FAST, LOOP = "render_heatmaps", "pyskl_loop"
MIB = 2**20


class PysklLoopGeneratePoseTarget:
    """:class:`~skel_data.transforms.GeneratePoseTarget` computed by PYSKL's Python loop
    (:func:`~skel_apps.benchmark.pyskl_heatmap.generate_pose_target`): the baseline of this
    benchmark. It takes GeneratePoseTarget's arguments and gives ``imgs`` of the same shape
    and channels; with ``double=True`` the mirrored half is PYSKL's (the maps flipped), which
    differs from skel's at the edges of the Gaussians' windows (see GeneratePoseTarget)."""

    def __init__(self, **kwargs: Any):
        self.settings = GeneratePoseTarget(**kwargs)  # checks and holds the arguments

    def __call__(self, results: dict) -> dict:
        name, settings = type(self).__name__, self.settings
        keypoint = checked_keypoints(results, name)
        scores = checked_scores(results, name, keypoint)
        height, width = checked_img_shape(results, name)
        left, right = self._swapped_channels(results, keypoint.shape[2])
        height = int(height * settings.scaling + 0.5)
        width = int(width * settings.scaling + 0.5)
        keypoint = keypoint.astype(np.float32) * np.float32(settings.scaling)
        if scores is None or not settings.use_score:
            scores = np.ones(keypoint.shape[:3], np.float32)
        results = dict(results)
        results["imgs"] = generate_pose_target(
            keypoint, scores, (height, width), sigma=settings.sigma, with_kp=settings.with_kp,
            limbs=settings.skeletons if settings.with_limb else None, double=settings.double,
            left=left, right=right)
        return results

    def _swapped_channels(self, results: dict, num_joints: int) -> tuple[list[int], list[int]]:
        """The channels that exchange places in mirrored maps, after checking that the limbs
        and left/right indices fit the sample's ``num_joints`` keypoints."""
        settings, name = self.settings, type(self).__name__
        groups = []
        if settings.with_kp:
            groups.append(("keypoint", num_joints, settings.left_kp, settings.right_kp))
        if settings.with_limb:
            outside = [limb for limb in settings.skeletons
                       if not all(0 <= j < num_joints for j in limb)]
            if outside:
                raise sample_error(results, name, f"skeletons {outside} join keypoints outside "
                                                  f"[0, {num_joints})")
            groups.append(("limb", len(settings.skeletons), settings.left_limb,
                           settings.right_limb))
        left: list[int] = []
        right: list[int] = []
        offset = 0
        for what, size, lefts, rights in groups:
            outside = [i for i in (*lefts, *rights) if i >= size] if settings.double else []
            if outside:
                raise sample_error(results, name, f"{what} indices {outside} out of range for "
                                                  f"{size} {what}s")
            left += [offset + i for i in lefts]
            right += [offset + i for i in rights]
            offset += size
        return left, right

    def __repr__(self) -> str:
        return repr(self.settings).replace("GeneratePoseTarget", type(self).__name__, 1)


@dataclass(frozen=True)
class PipelineCase:
    """A PYSKL pipeline and how much of the split one timed pass loads."""

    name: str
    split: str
    transforms: tuple[dict, ...]
    batch_size: int
    samples: int  # clips per pass with render_heatmaps (or without heatmaps)
    loop_samples: int | None  # clips per pass with the PYSKL loop; None: no heatmaps
    clip_len: int
    num_clips: int = 1
    test_mode: bool = False

    def variants(self) -> list[tuple[str | None, list, int]]:
        """(heatmap renderer, transforms, samples) of every way this pipeline runs."""
        if self.loop_samples is None:
            return [(None, list(self.transforms), self.samples)]
        return [(FAST, list(self.transforms), self.samples),
                (LOOP, with_pyskl_loop(self.transforms), self.loop_samples)]


def stgcnpp_train(clip_len: int = 100) -> tuple[dict, ...]:
    """PYSKL's ST-GCN++ joint-stream training pipeline (``stgcn++_ntu60_xsub_hrnet/j.py``)."""
    return (dict(type="PreNormalize2D"), dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
            dict(type="UniformSample", clip_len=clip_len), dict(type="PoseDecode"),
            dict(type="FormatGCNInput", num_person=2),
            dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
            dict(type="ToTensor", keys=["keypoint"]))


def posec3d_train(clip_len: int = 48) -> tuple[dict, ...]:
    """PYSKL's PoseC3D (SlowOnly-R50, keypoint heatmaps) training pipeline."""
    return (dict(type="UniformSampleFrames", clip_len=clip_len), dict(type="PoseDecode"),
            dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
            dict(type="Resize", scale=(-1, 64)),
            dict(type="RandomResizedCrop", area_range=(0.56, 1.0)),
            dict(type="Resize", scale=(56, 56), keep_ratio=False),
            dict(type="Flip", flip_ratio=0.5, left_kp=COCO_LEFT_KP, right_kp=COCO_RIGHT_KP),
            dict(type="GeneratePoseTarget", with_kp=True, with_limb=False),
            dict(type="FormatShape", input_format="NCTHW_Heatmap"),
            dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
            dict(type="ToTensor", keys=["imgs", "label"]))


def posec3d_test(clip_len: int = 48, num_clips: int = 10) -> tuple[dict, ...]:
    """PYSKL's PoseC3D test pipeline: ``num_clips`` clips and their mirror images."""
    return (dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=num_clips,
                 test_mode=True),
            dict(type="PoseDecode"), dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
            dict(type="Resize", scale=(-1, 64)), dict(type="CenterCrop", crop_size=64),
            dict(type="GeneratePoseTarget", with_kp=True, with_limb=False, double=True,
                 left_kp=COCO_LEFT_KP, right_kp=COCO_RIGHT_KP),
            dict(type="FormatShape", input_format="NCTHW_Heatmap"),
            dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
            dict(type="ToTensor", keys=["imgs"]))


def with_pyskl_loop(transforms: Sequence[dict]) -> list:
    """``transforms`` with every GeneratePoseTarget replaced by the PYSKL loop's version."""
    return [PysklLoopGeneratePoseTarget(**{k: v for k, v in t.items() if k != "type"})
            if t["type"] == "GeneratePoseTarget" else t for t in transforms]


def cases(quick: bool, train_split: str, test_split: str) -> list[PipelineCase]:
    if quick:
        return [PipelineCase("stgcn++ train", train_split, stgcnpp_train(), 8, 32, None, 100),
                PipelineCase("posec3d train", train_split, posec3d_train(8), 2, 8, 8, 8),
                PipelineCase("posec3d test", test_split, posec3d_test(8, 2), 1, 2, 2, 8, 2,
                             test_mode=True)]
    return [PipelineCase("stgcn++ train", train_split, stgcnpp_train(), 16, 384, None, 100),
            PipelineCase("posec3d train", train_split, posec3d_train(), 8, 64, 64, 48),
            PipelineCase("posec3d test", test_split, posec3d_test(), 1, 4, 2, 48, 10,
                         test_mode=True)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ann-file", type=Path, metavar="PKL",
                        help=f"PYSKL 2D keypoint pickle (default: {SHARED_ANN_FILE} in "
                        "$SKEL_SHARED_DATA, else in ../shared/data beside the repository)")
    parser.add_argument("--train-split", default="xsub_train", metavar="NAME",
                        help="split the training pipelines read (default xsub_train)")
    parser.add_argument("--test-split", default="xsub_test", metavar="NAME",
                        help="split the test pipeline reads (default xsub_test)")


def default_ann_file() -> Path:
    """The shared data folder's PYSKL pickle ($SKEL_SHARED_DATA, else ../shared/data)."""
    shared = os.environ.get("SKEL_SHARED_DATA")
    root = Path(shared) if shared else REPO_ROOT.parent / "shared" / "data"
    return root / SHARED_ANN_FILE


def resolve_ann_file(ann_file: Path | None) -> Path:
    path = ann_file if ann_file is not None else default_ann_file()
    if not path.is_file():
        how = "" if ann_file is not None else (
            f"; set SKEL_SHARED_DATA to the folder holding {SHARED_ANN_FILE.parent}/ or pass "
            "--ann-file")
        raise ConfigError(f"skel-bench pipeline: annotation file {path} not found{how}")
    return path


def run(args: argparse.Namespace) -> dict[str, Any]:
    ann_file = resolve_ann_file(args.ann_file)
    memory = _memory(ann_file)
    table = Table(f"data pipelines on {ann_file.name}: passes over the first clips of a split", [
        Column("pipeline", 13, right=False), Column("heatmaps", 15, right=False),
        Column("workers", 7), Column("samples", 7), Column("first s", 7),
        Column("median s", 8), Column("samples/s", 9), Column("x loop", 6)])
    table.print_header()
    entries = []
    for case in cases(args.quick, args.train_split, args.test_split):
        measured = _measure_case(case, ann_file, args)
        for entry in measured:
            table.print_row(case.name, entry["heatmaps"] or "-", entry["workers"],
                            entry["samples"], entry["first_pass_ms"] / 1e3,
                            entry["median_ms"] / 1e3, entry["samples_per_s"], entry["ratio"])
        entries += measured
    return {"ann_file": str(ann_file), "cases": entries, "memory": memory}


def _measure_case(case: PipelineCase, ann_file: Path,
                  args: argparse.Namespace) -> list[dict[str, Any]]:
    """Time every variant of ``case`` on every worker count, interleaved; the loaders and
    their persistent workers end when this returns."""
    loaders = _loaders(case, ann_file)
    first_pass = {name: _timed_pass(loader, samples, case)
                  for name, (_, _, loader, samples) in loaders.items()}
    candidates: dict[str, Callable[[], object]] = {
        name: (lambda loader=loader, samples=samples: _drain(loader, samples, case))
        for name, (_, _, loader, samples) in loaders.items()}
    timings = measure(candidates, repeats=args.repeats, warmup=args.warmup)

    entries = []
    for name, (heatmaps, workers, _, samples) in loaders.items():
        timing = timings[name]
        entries.append({
            "pipeline": case.name, "split": case.split, "heatmaps": heatmaps,
            "workers": workers, "samples": samples, "batch_size": case.batch_size,
            "clip_len": case.clip_len, "num_clips": case.num_clips,
            "first_pass_ms": first_pass[name], **timing.as_dict(),
            "samples_per_s": samples / (timing.median_ms / 1e3)})
    for entry in entries:
        loop = [e for e in entries if e["heatmaps"] == LOOP and e["workers"] == entry["workers"]]
        entry["ratio"] = ratio(loop[0]["median_ms"] / loop[0]["samples"],
                               entry["median_ms"] / entry["samples"]) if loop else None
    return entries


def _loaders(case: PipelineCase,
             ann_file: Path) -> dict[str, tuple[str | None, int, DataLoader, int]]:
    """(heatmap renderer, workers, loader, samples per pass) of every variant and worker
    count of ``case``, by name."""
    loaders = {}
    for heatmaps, transforms, samples in case.variants():
        dataset = PoseDataset(ann_file, transforms, split=case.split, test_mode=case.test_mode)
        clips = Subset(dataset, range(samples))  # past the split's end, PoseDataset wraps
        for workers in WORKER_COUNTS:
            loader = build_dataloader(clips, batch_size=case.batch_size, shuffle=False,
                                      num_workers=workers, persistent_workers=True)
            loaders[f"{heatmaps}:{workers}"] = heatmaps, workers, loader, samples
    return loaders


def _drain(loader: DataLoader, samples: int, case: PipelineCase) -> None:
    """One pass over ``loader``, checking that it delivered ``samples`` clips."""
    delivered = 0
    for batch in loader:
        delivered += len(batch["label"])
    if delivered != samples:
        raise RuntimeError(f"pipeline {case.name!r}: a pass delivered {delivered} samples, "
                           f"expected {samples}")


def _timed_pass(loader: DataLoader, samples: int, case: PipelineCase) -> float:
    start = time.perf_counter()
    _drain(loader, samples, case)
    return (time.perf_counter() - start) * 1e3


def _memory(ann_file: Path) -> dict[str, Any]:
    """Worker memory with the records in memory, then with the file packed and mapped."""
    table = Table(f"memory of {MEMORY_WORKERS} DataLoader workers, stgcn++ train pipeline "
                  f"over all of {ann_file.name} (MiB)", [
                      Column("annotations", 11, right=False), Column("peak RSS", 19),
                      Column("sum", 6), Column("private", 19), Column("sum", 6),
                      Column("main peak", 9)])
    table.print_header()
    entry: dict[str, Any] = {"workers": MEMORY_WORKERS, "pipeline": "stgcn++ train",
                             "ann_file_bytes": ann_file.stat().st_size}
    with tempfile.TemporaryDirectory(prefix="skel-bench-pack-") as cache_dir:
        for key, memmap in (("in_memory", False), ("packed", True)):
            dataset = PoseDataset(ann_file, stgcnpp_train(), memmap=memmap, cache_dir=cache_dir)
            entry["samples"] = len(dataset)
            with warnings.catch_warnings():  # 4 workers on 2 cores is the point here
                warnings.filterwarnings("ignore", "This DataLoader will create", UserWarning)
                memory = measure_worker_memory(dataset, MEMORY_WORKERS)
            del dataset
            entry[key] = _memory_entry(memory)
            table.print_row(key, "/".join(f"{b / MIB:.0f}" for b in memory.peak_rss),
                            memory.total_peak_rss / MIB,
                            "/".join(f"{b / MIB:.1f}" for b in memory.private),
                            memory.total_private / MIB, memory.main_peak_rss / MIB)
        entry["pack_bytes"] = sum(f.stat().st_size for f in Path(cache_dir).rglob("*")
                                  if f.is_file())
    return entry


def _memory_entry(memory: WorkerMemory) -> dict[str, Any]:
    return {"peak_rss": list(memory.peak_rss), "private": list(memory.private),
            "total_peak_rss": memory.total_peak_rss, "total_private": memory.total_private,
            "main_peak_rss": memory.main_peak_rss}

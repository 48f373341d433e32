"""Frame sampling: which frames of a clip the model sees (GCN and PoseC3D pipelines)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from .pose_checks import generator, sample_error

Random = np.random.Generator | np.random.RandomState


def _below(rng: Random, high: int | np.ndarray) -> int | np.ndarray:
    """A uniform integer in ``[0, high)`` (elementwise for an array), from either generator."""
    return rng.integers(high) if isinstance(rng, np.random.Generator) else rng.randint(high)


def uniform_clip_indices(
    num_frames: int,
    clip_len: int,
    rng: Random,
    clip_index: int,
    num_clips: int,
    test_mode: bool,
    p_interval: tuple[float, float] = (1.0, 1.0),
) -> np.ndarray:
    """Indices of one clip of ``clip_len`` frames spread uniformly over ``num_frames``.

    PYSKL's scheme: first a window of ``int(ratio * num_frames)`` frames (at least 1),
    ``ratio`` drawn from ``p_interval``, is placed at a random offset (the whole clip for the
    default ``(1, 1)``; the draws are made either way, as in PYSKL). A window at least
    ``2 * clip_len`` long is cut into ``clip_len`` equal segments and one frame is drawn from
    each; one between 1x and 2x ``clip_len`` keeps ``clip_len`` frames in order, skipping
    ``window - clip_len`` randomly chosen ones; a shorter one is read from a start frame
    onward and wraps around (the caller applies ``mod num_frames``); in test mode that start
    is spread evenly over the clips.
    """
    ratio = rng.random() * (p_interval[1] - p_interval[0]) + p_interval[0]
    window = max(1, int(ratio * num_frames))
    offset = _below(rng, num_frames - window + 1)
    if window < clip_len:
        if test_mode:
            start = clip_index if window < num_clips else clip_index * window // num_clips
        else:
            start = int(_below(rng, window))
        inds = np.arange(start, start + clip_len)
    elif window < 2 * clip_len:
        chosen = rng.choice(clip_len + 1, window - clip_len, replace=False)
        skip = np.zeros(clip_len + 1, dtype=np.int64)
        skip[chosen] = 1
        inds = np.arange(clip_len) + np.cumsum(skip)[:-1]
    else:
        bounds = np.arange(clip_len + 1) * window // clip_len
        inds = bounds[:-1] + _below(rng, np.diff(bounds))
    return inds + offset


class UniformSampleFrames:
    """Sample ``num_clips`` clips of ``clip_len`` frames each (PYSKL's ``UniformSampleFrames``).

    Test mode is ``test_mode`` when given, else the sample's ``results['test_mode']`` (which
    PoseDataset sets), so both PYSKL's configs (``test_mode`` in the pipeline, or only on the
    dataset) and MMAction2's work. In test mode the indices are reproducible and identical to
    PYSKL's for the same ``seed``: they come from a fresh ``RandomState(seed)`` drawn in PYSKL's
    order. Unlike PYSKL, this never reseeds numpy's global random state (PYSKL calls
    ``np.random.seed(255)`` for every test sample, which silently makes every later use of the
    global RNG in the process deterministic). In training mode the draws come from the sample's
    ``results['rng']``.

    ``p_interval`` (a number or a (low, high) pair) makes each clip sample from a random
    window covering that fraction of the frames. Other keyword arguments are accepted and
    ignored with a warning, as PYSKL does.
    """

    def __init__(
        self,
        clip_len: int,
        num_clips: int = 1,
        test_mode: bool | None = None,
        seed: int = 255,
        p_interval: float | Sequence[float] = 1,
        **ignored,
    ):
        if clip_len < 1 or num_clips < 1:
            raise ValueError(f"clip_len and num_clips must be >= 1, got {clip_len}, {num_clips}")
        interval = (p_interval, p_interval) if isinstance(p_interval, (int, float)) \
            else tuple(p_interval)
        if len(interval) != 2 or not 0 < interval[0] <= interval[1] <= 1:
            raise ValueError(f"{type(self).__name__}: p_interval must be a fraction in (0, 1] "
                             f"or a (low, high) pair of them, got {p_interval!r}")
        if ignored:
            warnings.warn(f"{type(self).__name__}: ignoring unsupported arguments "
                          f"{sorted(ignored)} (PYSKL ignores them too)", stacklevel=2)
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.test_mode = test_mode
        self.seed = seed
        self.p_interval = (float(interval[0]), float(interval[1]))

    def __call__(self, results: dict) -> dict:
        num_frames = results.get("total_frames")
        if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) \
                or num_frames < 1:
            raise sample_error(results, type(self).__name__,
                               f"total_frames is {num_frames!r}; need a positive frame count")
        num_frames = int(num_frames)
        test_mode = self.test_mode if self.test_mode is not None \
            else bool(results.get("test_mode", False))
        rng = np.random.RandomState(self.seed) if test_mode \
            else generator(results, type(self).__name__)
        inds = np.concatenate(
            [
                uniform_clip_indices(
                    num_frames, self.clip_len, rng, i, self.num_clips, test_mode, self.p_interval
                )
                for i in range(self.num_clips)
            ]
        )
        results = dict(results)
        results["frame_inds"] = np.mod(inds, num_frames) + results.get("start_index", 0)
        results["clip_len"] = self.clip_len
        results["frame_interval"] = None
        results["num_clips"] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(clip_len={self.clip_len}, num_clips={self.num_clips}, "
            f"test_mode={self.test_mode}, seed={self.seed}, p_interval={self.p_interval})"
        )


class UniformSample(UniformSampleFrames):
    """PYSKL's other name for :class:`UniformSampleFrames` (same arguments and results)."""


class PoseDecode:
    """Gather the sampled frames (``frame_inds``) of ``keypoint`` and ``keypoint_score``."""

    def __call__(self, results: dict) -> dict:
        results = dict(results)
        inds = results.get("frame_inds")
        if inds is None:
            inds = np.arange(results["total_frames"])
        inds = np.asarray(inds).reshape(-1) + results.get("offset", 0)
        for key in ("keypoint", "keypoint_score"):
            if key in results:
                results[key] = results[key][:, inds].astype(np.float32)
        results["frame_inds"] = inds
        return results

    def __repr__(self) -> str:
        return "PoseDecode()"

"""Frame sampling for the GCN path: which frames of a clip the model sees."""

from __future__ import annotations

import numpy as np


def uniform_clip_indices(
    num_frames: int,
    clip_len: int,
    rng: np.random.Generator,
    clip_index: int,
    num_clips: int,
    test_mode: bool,
) -> np.ndarray:
    """Indices of one clip of ``clip_len`` frames spread uniformly over ``num_frames``.

    PYSKL's scheme: a long clip is cut into ``clip_len`` equal segments and one frame is drawn
    from each; a clip between 1x and 2x ``clip_len`` keeps ``clip_len`` frames in order,
    skipping ``num_frames - clip_len`` randomly chosen ones; a short clip is read from a start
    frame onward and wraps around (the caller applies ``mod num_frames``).
    """
    if num_frames < clip_len:
        if test_mode:
            start = clip_index if num_frames < num_clips else clip_index * num_frames // num_clips
        else:
            start = int(rng.integers(0, num_frames))
        return np.arange(start, start + clip_len)
    if num_frames < 2 * clip_len:
        chosen = rng.choice(clip_len + 1, num_frames - clip_len, replace=False)
        offset = np.zeros(clip_len + 1, dtype=np.int64)
        offset[chosen] = 1
        return np.arange(clip_len) + np.cumsum(offset)[:-1]
    bounds = np.arange(clip_len + 1) * num_frames // clip_len
    return bounds[:-1] + rng.integers(0, np.diff(bounds))


class UniformSampleFrames:
    """Sample ``num_clips`` clips of ``clip_len`` frames each (PYSKL's ``UniformSampleFrames``).

    In test mode the indices are reproducible: they come from a fresh Generator seeded with
    ``seed``, the same for every sample, as PYSKL intends. Unlike PYSKL, this never reseeds
    numpy's global random state (PYSKL calls ``np.random.seed(255)`` for every test sample, which
    silently makes every later use of the global RNG in the process deterministic).
    """

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False, seed: int = 255):
        if clip_len < 1 or num_clips < 1:
            raise ValueError(f"clip_len and num_clips must be >= 1, got {clip_len}, {num_clips}")
        self.clip_len = clip_len
        self.num_clips = num_clips
        self.test_mode = test_mode
        self.seed = seed

    def __call__(self, results: dict) -> dict:
        num_frames = int(results["total_frames"])
        if num_frames < 1:
            raise ValueError(
                f"sample {results.get('frame_dir', '?')!r}: total_frames is {num_frames}"
            )
        rng = np.random.default_rng(self.seed) if self.test_mode else results["rng"]
        inds = np.concatenate(
            [
                uniform_clip_indices(
                    num_frames, self.clip_len, rng, i, self.num_clips, self.test_mode
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
            f"UniformSampleFrames(clip_len={self.clip_len}, num_clips={self.num_clips}, "
            f"test_mode={self.test_mode}, seed={self.seed})"
        )


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

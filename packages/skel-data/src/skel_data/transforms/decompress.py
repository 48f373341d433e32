"""Decoding of Kinetics-style kp-file records into ordinary (M, T, V) keypoint arrays.

PYSKL's Kinetics-400 annotations store one skeleton per detected person and frame instead of
(M, T, V, 2) arrays: ``frame_inds`` (N,) gives each skeleton's frame, ``box_score`` (N,) its
person box's confidence, and the skeletons themselves, (N, V, 3) rows of (x, y, score), are in
the record's ``keypoint`` or in a separate *kp-file* named by ``raw_file``: a pickle mapping each
``frame_dir`` to ``{'keypoint': (N, V, 3)}``. ``valid`` maps a box-score threshold to the number
of frames left with a skeleton above it; ``anno_inds``, if the dataset sets it (PYSKL's
``box_thr``), selects the skeletons to keep.
"""

from __future__ import annotations

import numpy as np

from skel_core.safe_pickle import safe_load

from .pose_checks import require, sample_error


class DecompressPose:
    """Turn a kp-file record's skeletons into ``keypoint`` (M, T, V, 2), ``keypoint_score``.

    Person ``m`` of frame ``t`` is the ``m``-th skeleton of that frame, in the order of the
    record; when some frame has more than ``max_person`` skeletons, every frame's skeletons are
    ordered by their summed keypoint scores (highest first, ties in record order) and only
    ``max_person`` are kept. M is the largest number of skeletons of a frame (at most
    ``max_person``) and is also stored in ``num_person``; frames with fewer are padded with
    zeros. With ``squeeze=True`` only frames holding a skeleton are kept, in order, and
    ``total_frames`` becomes their number; otherwise ``frame_inds`` index the T =
    ``total_frames`` frames (published files count frames from 1, so T is extended to hold the
    largest index, leaving frame 0 empty; PYSKL fails on that index). ``frame_inds``,
    ``box_score`` and ``anno_inds`` are consumed: they describe skeletons that no longer exist.

    Arrays come out as float32 (PYSKL: float16). Skeletons need not be sorted by frame (PYSKL
    asserts they are).
    """

    def __init__(self, squeeze: bool = True, max_person: int = 10):
        if max_person < 1:
            raise ValueError(f"DecompressPose: max_person must be >= 1, got {max_person}")
        self.squeeze = squeeze
        self.max_person = max_person

    def __call__(self, results: dict) -> dict:
        require(results, ["frame_inds", "total_frames"], "DecompressPose")
        results = dict(results)
        skeletons = self._skeletons(results)
        frame_inds = np.asarray(results.pop("frame_inds"))
        anno_inds = results.pop("anno_inds", None)
        results.pop("box_score", None)
        if frame_inds.ndim != 1 or frame_inds.dtype.kind not in "iu":
            raise sample_error(
                results, "DecompressPose",
                f"frame_inds must be a 1-d integer array, got {frame_inds.dtype} "
                f"{frame_inds.shape}",
            )
        if skeletons.ndim != 3 or skeletons.shape[2] != 3 or len(skeletons) != len(frame_inds) \
                or skeletons.dtype.kind not in "fiu":
            raise sample_error(
                results, "DecompressPose",
                f"skeletons must be numbers of shape (N, V, 3) with N = {len(frame_inds)} (one "
                f"per frame_inds entry), got {skeletons.dtype} {skeletons.shape}",
            )
        if anno_inds is not None:
            anno_inds = np.asarray(anno_inds, dtype=np.int64)
            skeletons, frame_inds = skeletons[anno_inds], frame_inds[anno_inds]
        if len(frame_inds) == 0:
            raise sample_error(results, "DecompressPose", "no skeletons to decode (empty clip)")
        if frame_inds.min() < 0:
            raise sample_error(results, "DecompressPose", "frame_inds holds negative indices")

        if self.squeeze:
            _, frames = np.unique(frame_inds, return_inverse=True)
            num_frames = int(frames.max()) + 1
        else:
            frames = frame_inds.astype(np.int64)
            num_frames = max(int(results["total_frames"]), int(frames.max()) + 1)
        per_frame = np.bincount(frames, minlength=num_frames)
        num_person = int(per_frame.max())
        if num_person > self.max_person:
            score_sum = skeletons[:, :, 2].astype(np.float32).sum(axis=1)
            order = np.lexsort((-score_sum, frames))
        else:
            order = np.argsort(frames, kind="stable")
        frames = frames[order]
        slot = np.arange(len(frames)) - np.searchsorted(frames, frames, side="left")
        keep = slot < self.max_person
        num_person = min(num_person, self.max_person)

        num_joints = skeletons.shape[1]
        keypoint = np.zeros((num_person, num_frames, num_joints, 2), np.float32)
        scores = np.zeros((num_person, num_frames, num_joints), np.float32)
        kept = skeletons[order][keep]
        keypoint[slot[keep], frames[keep]] = kept[:, :, :2]
        scores[slot[keep], frames[keep]] = kept[:, :, 2]
        results["keypoint"] = keypoint
        results["keypoint_score"] = scores
        results["total_frames"] = num_frames
        results["num_person"] = num_person
        return results

    @staticmethod
    def _skeletons(results: dict) -> np.ndarray:
        """The record's (N, V, 3) skeletons: its own ``keypoint``, else its kp-file's entry."""
        if "keypoint" in results:
            return np.asarray(results.pop("keypoint"))
        require(results, ["raw_file", "frame_dir"], "DecompressPose")
        path, frame_dir = results["raw_file"], results["frame_dir"]
        content = safe_load(path)
        entry = content.get(frame_dir) if isinstance(content, dict) else None
        if isinstance(entry, dict):
            entry = entry.get("keypoint")
        if not isinstance(entry, np.ndarray):
            raise sample_error(
                results, "DecompressPose",
                f"kp-file {path} holds no keypoint array for frame_dir {frame_dir!r} (expected "
                "a dict mapping frame_dir to {'keypoint': (N, V, 3) array})",
            )
        return entry

    def __repr__(self) -> str:
        return f"DecompressPose(squeeze={self.squeeze}, max_person={self.max_person})"

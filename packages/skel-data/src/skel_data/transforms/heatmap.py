"""PoseC3D's input: Gaussian heatmaps of keypoints and limbs (PYSKL's ``GeneratePoseTarget``).

The maps are :func:`skel_kernels.render_heatmaps`'s (PYSKL's, pixel for pixel; see that
module's docstring), rendered on the CPU for every frame, person and, with ``double=True``,
both the clip and its mirror image in one call of the compiled kernel, instead of PYSKL's
Python loop over frames, keypoints and persons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from skel_kernels import render_heatmaps

from .flip import mirror_x
from .pose_checks import (
    checked_img_shape,
    checked_keypoints,
    checked_scores,
    index_pairs,
    sample_error,
    swap_permutation,
)

# PYSKL's defaults, for COCO-17 keypoints: its limb list (which fixes the order of the limb
# channels) and the left/right keypoints and limbs that a flip exchanges.
COCO_SKELETONS = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8), (8, 10), (5, 11),
    (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12),
)
COCO_LEFT_KP = (1, 3, 5, 7, 9, 11, 13, 15)
COCO_RIGHT_KP = (2, 4, 6, 8, 10, 12, 14, 16)
COCO_LEFT_LIMB = (0, 2, 4, 5, 6, 10, 11, 12)
COCO_RIGHT_LIMB = (1, 3, 7, 8, 9, 13, 14, 15)


class GeneratePoseTarget:
    """Render ``results['imgs']``: float32 heatmaps of the clip's frames, shaped
    (crops, num_clips, clip_len, C, H, W) (crops = 2 with ``double``, else 1; one clip of all
    frames when the pipeline did not sample ``num_clips`` x ``clip_len`` frames).

    PYSKL's ``imgs`` is (frames, C, H, W); ``imgs.reshape(-1, C, H, W)`` is exactly that. Here it
    is a view of the volume the op renders in :class:`FormatShape`'s final (crops * num_clips, C,
    clip_len, H, W) layout, so the 10-clip x 2-flip test volume (267 MB at 64x64) is never copied
    to change layout; PYSKL's loop, and a first version of this transform, copied it three times.

    ``img_shape`` (h, w) gives the maps' size, times ``scaling`` (``int(h * scaling + 0.5)``),
    the keypoints being scaled with it. C holds one channel per keypoint (``with_kp``) followed
    by one per limb of ``skeletons`` (``with_limb``). A keypoint draws ``score * exp(-d^2 / (2
    sigma^2))``; with ``use_score=False``, or without ``keypoint_score``, every score is 1.

    With ``double=True`` the mirror image of the clip follows it (the second crop),
    being the maps of the keypoints mirrored to ``W - 1 - x`` with the channels of ``left_kp[k]``
    and ``right_kp[k]`` (and of limbs ``left_limb[k]`` and ``right_limb[k]``) exchanged. That is
    PYSKL's mirrored heatmap up to the truncation of each Gaussian's window (which mirrors exactly
    only where ``x +- 3 sigma`` are integers; elsewhere pixels more than ``3 sigma`` away may
    differ), and the same convention as :class:`Flip`.

    Differences from PYSKL, on purpose: the caller's keypoints are never modified (PYSKL
    multiplies them by ``scaling`` in place); keypoint and limb channels may both be asked for
    (PYSKL allows exactly one kind); non-finite keypoints or scores raise an error naming the
    sample.
    """

    def __init__(
        self,
        sigma: float = 0.6,
        use_score: bool = True,
        with_kp: bool = True,
        with_limb: bool = False,
        skeletons: Sequence[Sequence[int]] = COCO_SKELETONS,
        double: bool = False,
        left_kp: Sequence[int] = COCO_LEFT_KP,
        right_kp: Sequence[int] = COCO_RIGHT_KP,
        left_limb: Sequence[int] = COCO_LEFT_LIMB,
        right_limb: Sequence[int] = COCO_RIGHT_LIMB,
        scaling: float = 1.0,
    ):
        if not (with_kp or with_limb):
            raise ValueError(
                "GeneratePoseTarget: at least one of with_kp and with_limb must be True"
            )
        if not sigma > 0 or not scaling > 0:
            raise ValueError(
                f"GeneratePoseTarget: sigma and scaling must be positive, got {sigma}, {scaling}"
            )
        self.skeletons = tuple(tuple(limb) for limb in skeletons)
        if any(len(limb) != 2 for limb in self.skeletons):
            raise ValueError(f"GeneratePoseTarget: skeletons must be index pairs, got {skeletons}")
        self.sigma = sigma
        self.use_score = use_score
        self.with_kp = with_kp
        self.with_limb = with_limb
        self.double = double
        self.left_kp, self.right_kp = index_pairs("GeneratePoseTarget", left_kp, right_kp)
        self.left_limb, self.right_limb = index_pairs("GeneratePoseTarget", left_limb, right_limb)
        self.scaling = scaling

    def __call__(self, results: dict) -> dict:
        name = "GeneratePoseTarget"
        keypoint = checked_keypoints(results, name)
        scores = checked_scores(results, name, keypoint)
        height, width = checked_img_shape(results, name)
        num_joints = keypoint.shape[2]
        bad_limbs = [limb for limb in self.skeletons if not all(0 <= j < num_joints for j in limb)]
        if self.with_limb and bad_limbs:
            raise sample_error(
                results, name, f"skeletons {bad_limbs} join keypoints outside [0, {num_joints})"
            )
        channel_order = self._flip_channel_order(results, num_joints) if self.double else None

        height, width = int(height * self.scaling + 0.5), int(width * self.scaling + 0.5)
        keypoint = keypoint.astype(np.float32) * np.float32(self.scaling)
        if scores is None or not self.use_score:
            scores = np.ones(keypoint.shape[:3], np.float32)
        scores = scores.astype(np.float32)
        clips, clip_scores = [keypoint], [scores]
        mirrored_swapped = False
        if self.double:
            mirrored = mirror_x(keypoint, width)
            if not self.with_limb:
                # Drawing keypoint order[k] as channel k swaps the channels while rendering,
                # instead of copying the mirrored half's maps afterwards.
                mirrored, mirrored_swapped = mirrored[:, :, channel_order], True
                clip_scores.append(scores[:, :, channel_order])
            else:
                clip_scores.append(scores)
            clips.append(mirrored)
        num_clips, clip_len = _clip_split(results, keypoint.shape[1])
        # (M, clips * T, K, ...) per crop -> (crops * clips, M, T, K, ...): the op then renders
        # straight into FormatShape's (crops * clips, C, T, H, W) layout.
        maps = render_heatmaps(
            torch.from_numpy(_per_clip(np.stack(clips), num_clips, clip_len)),
            torch.from_numpy(_per_clip(np.stack(clip_scores), num_clips, clip_len)),
            height=height,
            width=width,
            sigma=self.sigma,
            limbs=self.skeletons if self.with_limb else None,
            with_keypoints=self.with_kp,
        )
        if channel_order is not None and not mirrored_swapped:
            maps[num_clips:] = maps[num_clips:, torch.from_numpy(channel_order)]
        crops = 2 if self.double else 1
        volume = maps.numpy().reshape((crops, num_clips) + maps.shape[1:])
        results = dict(results)
        # PYSKL's frames (crops, clips, T, C, H, W) as a view of the rendered volume; reshaped
        # to (crops * clips * T, C, H, W) it is PYSKL's (frames, C, H, W) layout.
        results["imgs"] = volume.transpose(0, 1, 3, 2, 4, 5)
        return results

    def _flip_channel_order(self, results: dict, num_joints: int) -> np.ndarray:
        """Which channel of the mirrored clip's maps each output channel takes."""
        orders = []
        if self.with_kp:
            orders.append(swap_permutation(
                results, "GeneratePoseTarget", self.left_kp, self.right_kp, num_joints, "keypoint"
            ))
        if self.with_limb:
            offset = num_joints if self.with_kp else 0
            orders.append(offset + swap_permutation(
                results, "GeneratePoseTarget", self.left_limb, self.right_limb,
                len(self.skeletons), "limb",
            ))
        return np.concatenate(orders)

    def __repr__(self) -> str:
        return (
            f"GeneratePoseTarget(sigma={self.sigma}, use_score={self.use_score}, "
            f"with_kp={self.with_kp}, with_limb={self.with_limb}, skeletons={self.skeletons}, "
            f"double={self.double}, left_kp={self.left_kp}, right_kp={self.right_kp}, "
            f"left_limb={self.left_limb}, right_limb={self.right_limb}, scaling={self.scaling})"
        )


def _clip_split(results: dict, frames: int) -> tuple[int, int]:
    """(num_clips, clip_len) of the sampled clips, or one clip of all ``frames`` when the
    pipeline did not sample (or the counts do not fit the frames)."""
    num_clips, clip_len = results.get("num_clips"), results.get("clip_len")
    if num_clips and clip_len and int(num_clips) * int(clip_len) == frames:
        return int(num_clips), int(clip_len)
    return 1, frames


def _per_clip(array: np.ndarray, num_clips: int, clip_len: int) -> np.ndarray:
    """(crops, M, clips * T, ...) -> (crops * clips, M, T, ...)."""
    crops, persons = array.shape[:2]
    split = array.reshape((crops, persons, num_clips, clip_len) + array.shape[3:])
    return np.ascontiguousarray(
        np.moveaxis(split, 2, 1).reshape((crops * num_clips, persons, clip_len) + array.shape[3:])
    )

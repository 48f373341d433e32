"""Final formatting of a sample: person padding, clip reshaping, key selection, tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .pose_checks import require, sample_error


class FormatGCNInput:
    """Shape ``keypoint`` (M, T, V, C) into (num_clips, num_person, T // num_clips, V, C).

    Persons beyond ``num_person`` are dropped; missing ones are zeros (``mode='zero'``) or
    copies of the only person (``mode='loop'``). A ``keypoint_score`` still present is appended
    as a last channel, as in PYSKL.
    """

    def __init__(self, num_person: int = 2, mode: str = "zero"):
        if mode not in ("zero", "loop"):
            raise ValueError(f"FormatGCNInput: mode must be 'zero' or 'loop', got {mode!r}")
        self.num_person = num_person
        self.mode = mode

    def __call__(self, results: dict) -> dict:
        results = dict(results)
        kp = results["keypoint"]
        if "keypoint_score" in results:
            kp = np.concatenate([kp, results.pop("keypoint_score")[..., None]], axis=-1)
        m = kp.shape[0]
        if m < self.num_person:
            if self.mode == "loop" and m == 1:
                pad = np.repeat(kp, self.num_person - 1, axis=0)
            else:
                pad = np.zeros((self.num_person - m,) + kp.shape[1:], dtype=kp.dtype)
            kp = np.concatenate([kp, pad], axis=0)
        kp = kp[: self.num_person]
        clips = results.get("num_clips", 1)
        _, t, v, c = kp.shape
        if t % clips:
            raise ValueError(
                f"sample {results.get('frame_dir', '?')!r}: {t} frames do not split into "
                f"{clips} clips"
            )
        kp = kp.reshape(self.num_person, clips, t // clips, v, c).transpose(1, 0, 2, 3, 4)
        results["keypoint"] = np.ascontiguousarray(kp, dtype=np.float32)
        return results

    def __repr__(self) -> str:
        return f"FormatGCNInput(num_person={self.num_person}, mode={self.mode!r})"


class Collect:
    """Keep only ``keys`` (and, if asked, ``meta_keys`` gathered under ``meta_name``)."""

    def __init__(self, keys: Sequence[str], meta_keys: Sequence[str] = (), meta_name="img_metas"):
        self.keys = tuple(keys)
        self.meta_keys = tuple(meta_keys)
        self.meta_name = meta_name

    def __call__(self, results: dict) -> dict:
        missing = [k for k in self.keys + self.meta_keys if k not in results]
        if missing:
            raise KeyError(
                f"Collect: sample {results.get('frame_dir', '?')!r} has no {missing}; "
                f"available: {sorted(results)}"
            )
        out = {k: results[k] for k in self.keys}
        if self.meta_keys:
            out[self.meta_name] = {k: results[k] for k in self.meta_keys}
        return out

    def __repr__(self) -> str:
        return f"Collect(keys={list(self.keys)}, meta_keys={list(self.meta_keys)})"


class ToTensor:
    """Convert the values under ``keys`` to torch tensors."""

    def __init__(self, keys: Sequence[str]):
        self.keys = tuple(keys)

    def __call__(self, results: dict) -> dict:
        results = dict(results)
        for k in self.keys:
            value = results[k]
            results[k] = (
                torch.from_numpy(value) if isinstance(value, np.ndarray) else torch.tensor(value)
            )
        return results

    def __repr__(self) -> str:
        return f"ToTensor(keys={list(self.keys)})"


class FormatShape:
    """Reshape the frames ``imgs`` of ``num_clips`` clips of ``clip_len`` into model input.

    ``imgs`` holds ``crops x num_clips x clip_len`` frames (crops = 2 after
    ``GeneratePoseTarget(double=True)``), in that order, either as PYSKL's (frames, ...) or as
    GeneratePoseTarget's (crops, num_clips, clip_len, ...), and becomes (crops * num_clips, C,
    clip_len, H, W):

    * ``'NCTHW_Heatmap'``: frames are (C, H, W) heatmaps (``GeneratePoseTarget``'s output);
    * ``'NCTHW'``: frames are (H, W, C) images.

    With ``collapse`` the leading dimension, which must then be 1, is dropped. ``input_shape``
    records the result's shape.
    """

    _FORMATS = ("NCTHW", "NCTHW_Heatmap")

    def __init__(self, input_format: str, collapse: bool = False):
        if input_format not in self._FORMATS:
            raise ValueError(
                f"FormatShape: input_format must be one of {self._FORMATS}, got {input_format!r}"
            )
        self.input_format = input_format
        self.collapse = collapse

    def __call__(self, results: dict) -> dict:
        require(results, ["imgs", "num_clips", "clip_len"], "FormatShape")
        imgs = np.asarray(results["imgs"])
        num_clips, clip_len = int(results["num_clips"]), int(results["clip_len"])
        if imgs.ndim == 6 and imgs.shape[0] > 0 and imgs.shape[1:3] == (num_clips, clip_len):
            clips = imgs  # GeneratePoseTarget's (crops, clips, T, ...) view: no copy needed
        elif imgs.ndim != 4 or imgs.shape[0] == 0 or imgs.shape[0] % (num_clips * clip_len):
            raise sample_error(
                results, "FormatShape",
                f"imgs must be (frames, ...) 4-d with frames a positive multiple of num_clips * "
                f"clip_len = {num_clips} * {clip_len}, or (crops, {num_clips}, {clip_len}, ...) "
                f"6-d, got shape {imgs.shape}",
            )
        else:
            clips = imgs.reshape((-1, num_clips, clip_len) + imgs.shape[1:])
        if self.collapse and num_clips != 1:
            raise sample_error(
                results, "FormatShape", f"collapse=True needs num_clips == 1, got {num_clips}"
            )
        if self.input_format == "NCTHW":  # (crops, clips, T, H, W, C) -> (crops, clips, C, T, H, W)
            clips = clips.transpose(0, 1, 5, 2, 3, 4)
        else:  # (crops, clips, T, C, H, W) -> (crops, clips, C, T, H, W)
            clips = clips.transpose(0, 1, 3, 2, 4, 5)
        shaped = np.ascontiguousarray(clips.reshape((-1,) + clips.shape[2:]))
        if self.collapse:
            if shaped.shape[0] != 1:
                raise sample_error(
                    results, "FormatShape",
                    f"collapse=True needs a single clip and crop, got {shaped.shape[0]}",
                )
            shaped = shaped[0]
        results = dict(results)
        results["imgs"] = shaped
        results["input_shape"] = shaped.shape
        return results

    def __repr__(self) -> str:
        return f"FormatShape(input_format={self.input_format!r}, collapse={self.collapse})"

"""Final formatting of a sample: person padding, clip reshaping, key selection, tensors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


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

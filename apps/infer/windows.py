"""Sliding windows over a long sequence, for a timeline of what happens when.

Windows of ``window`` frames start every ``stride`` frames from frame 0, as long as they fit:
a sequence of T frames has ``(T - window) // stride + 1`` of them, and frames after the last
one are not covered. A sequence shorter than ``window`` is one window of all its frames.
"""

from __future__ import annotations

from typing import Any


def window_starts(total_frames: int, window: int, stride: int) -> list[int]:
    """The first frame of every window."""
    if window < 1 or stride < 1:
        raise ValueError(f"window and stride must be positive, got {window} and {stride}")
    return list(range(0, max(total_frames - window, 0) + 1, stride))


def window_record(record: dict[str, Any], start: int, window: int) -> dict[str, Any]:
    """The annotation record of frames ``start`` to ``start + window`` (exclusive) of
    ``record``; its ``frame_dir`` says which frames these are."""
    keypoint = record["keypoint"][:, start:start + window]
    part = {**record, "keypoint": keypoint, "total_frames": keypoint.shape[1],
            "frame_dir": f"{record['frame_dir']}[{start}:{start + keypoint.shape[1]}]"}
    if "keypoint_score" in record:
        part["keypoint_score"] = record["keypoint_score"][:, start:start + window]
    return part

"""Draw a skeleton sequence, frame by frame, with a caption per frame (the predicted label).

The animation is rendered off-screen (matplotlib's Agg canvas, no display needed) and written
as a GIF (Pillow), or as an MP4 when ffmpeg is installed. One frame is written per frame of
the sequence. 2D keypoints are drawn in image coordinates (y down); 3D ones as seen along their
z axis (x right, y up). Bones are the layout's edges, one colour per person; a joint whose
score is 0 (2D), or whose coordinates are all 0 (3D), is missing and not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib import animation
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from skel_core.layouts import Layout

WRITERS = {".gif": "pillow", ".mp4": "ffmpeg"}
"""Animation file types and the matplotlib writer (and program) each needs."""


def writer_name(path: str | Path) -> str:
    """The matplotlib writer for ``path``; ValueError if its type is not supported or the
    writer's program is not installed here."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        raise ValueError(f"{path}: animations are written as {' or '.join(WRITERS)} files")
    name = WRITERS[suffix]
    if not animation.writers.is_available(name):
        raise ValueError(f"{path}: writing {suffix} needs {name}, which is not installed here; "
                         "write a .gif instead")
    return name


def animate(
    record: dict[str, Any],
    layout: Layout,
    captions: Sequence[str],
    path: str | Path,
    fps: float = 10.0,
) -> None:
    """Write the animation of ``record``'s keypoints (M, T, V, C), one caption per frame."""
    keypoint = np.asarray(record["keypoint"], dtype=np.float64)
    if keypoint.shape[2] != layout.num_joints:
        raise ValueError(f"the sequence has {keypoint.shape[2]} joints but layout "
                         f"{layout.name!r} has {layout.num_joints}")
    if len(captions) != keypoint.shape[1]:
        raise ValueError(f"{len(captions)} captions for {keypoint.shape[1]} frames")
    two_d = keypoint.shape[-1] == 2
    present = record["keypoint_score"] > 0 if "keypoint_score" in record \
        else np.any(keypoint != 0, axis=-1)
    points = np.where(present[..., None], keypoint[..., :2], np.nan)  # (M, T, V, 2)

    figure = Figure(figsize=(4, 4), dpi=80)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _frame_axes(axes, points, invert_y=two_d)
    edges = np.asarray(layout.edges)
    bones = [[axes.plot([], [], color=f"C{m}", lw=2)[0] for _ in edges]
             for m in range(len(points))]
    joints = [axes.plot([], [], "o", color=f"C{m}", ms=3)[0] for m in range(len(points))]
    title = axes.set_title("", fontsize=9)

    def draw(t: int) -> None:
        for person, person_bones, person_joints in zip(points, bones, joints, strict=True):
            for (a, b), bone in zip(edges, person_bones, strict=True):
                bone.set_data(person[t, [a, b], 0], person[t, [a, b], 1])
            person_joints.set_data(person[t, :, 0], person[t, :, 1])
        title.set_text(captions[t])

    movie = animation.FuncAnimation(figure, draw, frames=keypoint.shape[1],
                                    interval=1000 / fps, blit=False, repeat=False)
    movie.save(str(path), writer=animation.writers[writer_name(path)](fps=fps))


def _frame_axes(axes, points: np.ndarray, invert_y: bool) -> None:
    """Fit the axes to every drawn point, with a margin, equal scales and no ticks."""
    if np.isnan(points).all():
        low, high = np.zeros(2), np.ones(2)
    else:
        low, high = np.nanmin(points, axis=(0, 1, 2)), np.nanmax(points, axis=(0, 1, 2))
    margin = 0.05 * max(float((high - low).max()), 1e-6)
    axes.set_xlim(low[0] - margin, high[0] + margin)
    axes.set_ylim(low[1] - margin, high[1] + margin)
    if invert_y:
        axes.invert_yaxis()
    axes.set_aspect("equal")
    axes.set_xticks([])
    axes.set_yticks([])

"""What a conversion reports, and the last step every converter shares.

A converter collects its records plus a :class:`ConversionLog` of the clips it skipped (with
the reason) and of the repairs it made (counted), then calls :func:`write_converted`, which
validates the records against the layout and class count, writes the pickle atomically and
returns the :class:`Summary` that ``skel-convert`` prints.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from skel_core.annotations import Record, Split, save_annotations, validate_annotations
from skel_core.errors import AnnotationError

_NAMES_SHOWN = 5
"""How many skipped clips a summary names for each reason."""


@dataclass
class ConversionLog:
    """Clips left out (by reason) and repairs made (counted) while converting."""

    skipped: dict[str, list[str]] = field(default_factory=dict)
    notes: Counter[str] = field(default_factory=Counter)

    def skip(self, name: str, reason: str) -> None:
        self.skipped.setdefault(reason, []).append(name)

    def note(self, what: str, count: int = 1) -> None:
        self.notes[what] += count


@dataclass
class Summary:
    """The outcome of one conversion: what was written where, and what was left out and why."""

    dataset: str
    out_path: str
    layout: str | None
    num_clips: int
    split_sizes: dict[str, int]
    num_classes: int
    class_names: tuple[str, ...] | None
    frames_min: int
    frames_median: float
    frames_max: int
    skipped: dict[str, list[str]]
    notes: dict[str, int]

    @property
    def num_skipped(self) -> int:
        return sum(len(names) for names in self.skipped.values())

    def __str__(self) -> str:
        lines = [
            f"{self.dataset}: {self.num_clips} clips -> {self.out_path} "
            f"(layout {self.layout or 'not given'})",
            "  splits: " + (", ".join(f"{name} {size}" for name, size in self.split_sizes.items())
                            or "none (a plain list of records)"),
            f"  classes: {self.num_classes}",
            f"  frames per clip: min {self.frames_min}, median {self.frames_median:g}, "
            f"max {self.frames_max}",
        ]
        if self.class_names:
            lines.append("  class names: " + ", ".join(
                f"{label}={name}" for label, name in enumerate(self.class_names)))
        lines.append(f"  skipped: {self.num_skipped} clips")
        for reason, names in self.skipped.items():
            shown = ", ".join(names[:_NAMES_SHOWN]) + (", ..." if len(names) > _NAMES_SHOWN else "")
            lines.append(f"    {len(names)} {reason}: {shown}")
        lines += [f"  {what}: {count}" for what, count in self.notes.items()]
        return "\n".join(lines)


def write_converted(
    out_path: str | os.PathLike,
    records: list[Record],
    split: Split | None,
    log: ConversionLog,
    *,
    dataset: str,
    layout: str | None,
    num_classes: int | None = None,
    class_names: tuple[str, ...] | None = None,
    source: str | os.PathLike,
) -> Summary:
    """Validate ``records`` (joint count of ``layout`` unless it is None, labels below the class
    count), write them atomically to ``out_path`` and summarise the conversion.

    The class count is ``len(class_names)``, else ``num_classes``, else the largest label + 1.
    Nothing is written when the records are invalid or when there are none (``source`` names
    the input in that error).
    """
    out = os.fspath(out_path)
    if not records:
        reasons = "; ".join(f"{len(names)} {reason}" for reason, names in log.skipped.items())
        raise AnnotationError(f"no clip to write to {out} (skipped: {reasons or 'none'})",
                              os.fspath(source))
    if class_names is not None:
        num_classes = len(class_names)
    validate_annotations(records, layout=layout, num_classes=num_classes, split=split, source=out)
    save_annotations(out, records, split)
    if num_classes is None:
        num_classes = int(max(record["label"] for record in records)) + 1
    frames = np.array([record["total_frames"] for record in records])
    return Summary(
        dataset=dataset,
        out_path=out,
        layout=layout,
        num_clips=len(records),
        split_sizes={name: len(members) for name, members in (split or {}).items()},
        num_classes=num_classes,
        class_names=class_names,
        frames_min=int(frames.min()),
        frames_median=float(np.median(frames)),
        frames_max=int(frames.max()),
        skipped=dict(log.skipped),
        notes=dict(log.notes),
    )

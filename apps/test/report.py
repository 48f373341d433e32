"""Files ``skel-test`` writes beside its printed metrics: per-class accuracy (JSON and CSV) and
a confusion-matrix picture (PNG, drawn with matplotlib's Agg canvas: no display, no pyplot
global state). Each file is written atomically.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from skel_core.atomic import atomic_write, atomic_write_bytes
from skel_core.metrics import confusion_matrix

# Above this many classes the picture has no per-class tick labels or cell counts.
MAX_LABELLED_CLASSES = 30
MAX_ANNOTATED_CLASSES = 12


def class_names_or_ids(class_names: Sequence[str] | None, num_classes: int) -> list[str]:
    """``class_names`` when there is one per class, else ``class 0``, ``class 1``, ..."""
    if class_names is not None and len(class_names) == num_classes:
        return [str(name) for name in class_names]
    return [f"class {i}" for i in range(num_classes)]


def top1_confusion_matrix(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(C, C) counts of (true class, top-1 predicted class)."""
    return confusion_matrix(scores.argmax(axis=1), labels, scores.shape[1])


def per_class_rows(cm: np.ndarray, names: Sequence[str]) -> list[dict]:
    """One row per class of the confusion matrix ``cm``: label, name, number of samples,
    correct top-1 predictions, and accuracy (None for a class without samples)."""
    rows = []
    for label, name in enumerate(names):
        count, correct = int(cm[label].sum()), int(cm[label, label])
        accuracy = correct / count if count else None
        rows.append(
            {"label": label, "name": name, "count": count, "correct": correct, "accuracy": accuracy}
        )
    return rows


def write_per_class_accuracy(rows: list[dict], json_path: Path, csv_path: Path) -> None:
    """``rows`` of :func:`per_class_rows` as a JSON list and as a CSV table."""
    atomic_write_bytes(json_path, (json.dumps(rows, indent=1) + "\n").encode())
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(
        {**row, "accuracy": "" if row["accuracy"] is None else row["accuracy"]} for row in rows
    )
    atomic_write_bytes(csv_path, text.getvalue().encode())


def plot_confusion_matrix(cm: np.ndarray, names: Sequence[str], path: Path) -> None:
    """The confusion matrix ``cm``, each row normalised by its class's count, as a PNG."""
    num_classes = len(cm)
    rows = cm.sum(axis=1, keepdims=True)
    fractions = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    size = min(4 + 0.35 * num_classes, 40)
    figure = Figure(figsize=(size, size))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(fractions, vmin=0, vmax=1, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"confusion matrix ({int(cm.sum())} samples)")
    if num_classes <= MAX_LABELLED_CLASSES:
        ticks = np.arange(num_classes)
        axes.set_xticks(ticks, names, rotation=90)
        axes.set_yticks(ticks, names)
    if num_classes <= MAX_ANNOTATED_CLASSES:
        for (true, pred), count in np.ndenumerate(cm):
            colour = "white" if fractions[true, pred] > 0.5 else "black"
            axes.text(pred, true, str(count), ha="center", va="center", color=colour)
    figure.tight_layout()
    with atomic_write(path) as f:
        figure.savefig(f, format="png", dpi=100)

"""Classification metrics and score fusion for action recognition (numpy only).

Scores are an ``(N, C)`` array (or a list of ``N`` arrays of length ``C``, as PYSKL's test script
writes them) and labels a length-``N`` sequence of class indices in ``[0, C)``. Every function
validates its input and raises :class:`~skel_core.errors.MetricError` naming the offending
sample, so a NaN or an out-of-range label never turns into a silently wrong number.

Ties: a class's rank is the number of classes scored strictly higher, plus the number scored
equally with a lower class index. So ties go to the lower index, exactly like ``np.argmax``,
and top-1 accuracy always agrees with the argmax predictions used by the confusion matrix and the
per-class accuracies. (PYSKL ranks with an unstable ``np.argsort``, whose tie order is an
implementation detail of numpy; with untied scores both give the same numbers.)

Mean class accuracy averages the per-class accuracies of the classes that occur in the labels,
as PYSKL's ``smp.mean_acc`` does. PYSKL's and MMAction2's ``mean_class_accuracy`` also count,
as 0, the classes that are only ever predicted; that lowers the mean for a class no sample
belongs to, so skel does not follow it. On a test set that contains every class, as the
standard benchmarks do, the two agree.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from skel_core.atomic import atomic_write
from skel_core.errors import CorruptFileError, MetricError

ArrayLike = Any  # an (N, C) array, or a sequence of N length-C arrays

FUSION_NORMALIZATIONS = (None, "softmax")


def top_k_accuracy(
    scores: ArrayLike, labels: ArrayLike, topk: int | Sequence[int] = (1, 5)
) -> list[float]:
    """Fraction of samples whose label is among the ``k`` highest scores, for each ``k``.

    A ``k`` at least the number of classes counts every sample. Ties follow the module rule
    (lower class index first).
    """
    score_arr = _as_scores(scores)
    label_arr = _as_labels(labels, score_arr.shape[1], expected_len=len(score_arr))
    ks = [topk] if isinstance(topk, (int, np.integer)) else list(topk)
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise MetricError(f"topk values must be positive integers, got {k!r}")
    rank = _label_rank(score_arr, label_arr)
    return [float(np.mean(rank < k)) for k in ks]


def per_class_accuracy(scores: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """Top-1 accuracy of each class, shape ``(C,)``; NaN for classes absent from ``labels``."""
    score_arr = _as_scores(scores)
    num_classes = score_arr.shape[1]
    label_arr = _as_labels(labels, num_classes, expected_len=len(score_arr))
    cm = confusion_matrix(score_arr.argmax(axis=1), label_arr, num_classes)
    counts = cm.sum(axis=1)
    hits = np.diag(cm).astype(np.float64)
    acc = np.full(num_classes, np.nan)
    present = counts > 0
    acc[present] = hits[present] / counts[present]
    return acc


def mean_class_accuracy(scores: ArrayLike, labels: ArrayLike) -> float:
    """Mean of :func:`per_class_accuracy` over the classes present in ``labels``."""
    return float(np.nanmean(per_class_accuracy(scores, labels)))


def confusion_matrix(
    pred: ArrayLike, labels: ArrayLike, num_classes: int | None = None
) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: rows are true labels, columns predictions.

    The result is ``(K, K)`` int64 indexed by class id, with ``K = num_classes`` or, when it is
    not given, one more than the largest class seen. (PYSKL's version instead compacts the
    matrix to the classes that occur, so its rows are not class ids.)
    """
    if num_classes is not None and (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 1
    ):
        raise MetricError(f"num_classes must be a positive integer, got {num_classes!r}")
    label_arr = _as_labels(labels, num_classes)
    pred_arr = _as_labels(pred, num_classes, expected_len=len(label_arr), name="pred")
    if num_classes is None:
        if len(label_arr) == 0:
            raise MetricError("confusion_matrix: no samples and no num_classes given")
        num_classes = int(max(label_arr.max(), pred_arr.max())) + 1
    flat = np.bincount(label_arr * num_classes + pred_arr, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def fuse_scores(
    score_sets: Sequence[ArrayLike],
    weights: Sequence[float] | None = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Weighted sum of several streams' scores for the same samples, shape ``(N, C)``.

    PYSKL's four-stream ensemble (joint, bone, joint motion, bone motion) is
    ``fuse_scores([j, b, jm, bm], weights=[2, 2, 1, 1])``. Weights default to 1 each and are
    not normalised (scaling all weights does not change any ranking). ``normalize="softmax"``
    turns each stream's scores into probabilities per sample before weighting, which puts
    streams with different logit scales on an equal footing.
    """
    if normalize not in FUSION_NORMALIZATIONS:
        raise MetricError(
            f"unknown normalize={normalize!r}; expected one of {FUSION_NORMALIZATIONS}"
        )
    if len(score_sets) == 0:
        raise MetricError("fuse_scores needs at least one score set")
    arrays = [_as_scores(s, name=f"score set {i}") for i, s in enumerate(score_sets)]
    for i, arr in enumerate(arrays[1:], start=1):
        if arr.shape != arrays[0].shape:
            raise MetricError(
                f"score set {i} has shape {arr.shape} but score set 0 has {arrays[0].shape}"
            )
    weight_arr = _as_weights(weights, len(arrays))
    if normalize == "softmax":
        arrays = [_softmax(arr, name=f"score set {i}") for i, arr in enumerate(arrays)]
    return sum(w * arr for w, arr in zip(weight_arr, arrays, strict=True))


class ScoreFile(NamedTuple):
    """Scores read from a file: ``(N, C)`` float64, and labels ``(N,)`` int64 when stored."""

    scores: np.ndarray
    labels: np.ndarray | None


def load_score_file(path: str | os.PathLike[str]) -> ScoreFile:
    """Read a pickle of test scores, through skel's safe unpickler (no code is run).

    Accepted contents: what PYSKL's ``tools/test.py --out x.pkl`` writes (a list of per-sample
    score arrays), an ``(N, C)`` array, or a dict ``{"scores": ..., "labels": ...}`` (labels
    optional) as :func:`save_score_file` writes when given labels.
    """
    from skel_core.safe_pickle import safe_load

    content = safe_load(path)
    labels = None
    if isinstance(content, dict):
        if "scores" not in content:
            raise CorruptFileError(
                f"{path}: a score file dict needs a 'scores' key, found keys {sorted(content)}"
            )
        labels = content.get("labels")
        content = content["scores"]
    if not isinstance(content, (list, tuple, np.ndarray)):
        raise CorruptFileError(
            f"{path}: expected a list of score arrays, an (N, C) array or a dict with 'scores', "
            f"got {type(content).__name__}"
        )
    scores = _as_scores(content, name=f"scores in {path}")
    if labels is not None:
        labels = _as_labels(
            labels, scores.shape[1], expected_len=len(scores), name=f"labels in {path}"
        )
    return ScoreFile(scores, labels)


def save_score_file(
    path: str | os.PathLike[str], scores: ArrayLike, labels: ArrayLike | None = None
) -> None:
    """Write scores atomically in a form :func:`load_score_file` and PYSKL's tools read.

    Without labels the file is PYSKL's format (a list of per-sample arrays); with labels it is
    a dict ``{"scores": (N, C) array, "labels": (N,) array}``.
    """
    score_arr = _as_scores(scores)
    if labels is None:
        content: Any = list(score_arr)
    else:
        label_arr = _as_labels(labels, score_arr.shape[1], expected_len=len(score_arr))
        content = {"scores": score_arr, "labels": label_arr}
    with atomic_write(path) as f:
        pickle.dump(content, f, protocol=pickle.HIGHEST_PROTOCOL)


def _label_rank(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """0-based rank of each sample's label among its scores, ties to the lower class index."""
    true_score = scores[np.arange(len(scores)), labels][:, None]
    higher = (scores > true_score).sum(axis=1)
    tied_before = ((scores == true_score) & (np.arange(scores.shape[1]) < labels[:, None])).sum(
        axis=1
    )
    return higher + tied_before


def _as_weights(weights: Sequence[float] | None, count: int) -> np.ndarray:
    if weights is None:
        return np.ones(count)
    if len(weights) != count:
        raise MetricError(f"{len(weights)} weights given for {count} score sets")
    try:
        weight_arr = np.asarray(weights, dtype=np.float64)
        finite = weight_arr.ndim == 1 and bool(np.all(np.isfinite(weight_arr)))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise MetricError(f"weights must be finite numbers, got {list(weights)!r}")
    return weight_arr


def _softmax(scores: np.ndarray, name: str) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(scores).all(axis=1))
    if bad.size:
        raise MetricError(f"{name}: sample {bad[0]} has an infinite score; cannot apply softmax")
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _as_scores(scores: ArrayLike, name: str = "scores") -> np.ndarray:
    """Validate and convert scores to a float64 ``(N, C)`` array with ``N, C >= 1``, no NaN."""
    if isinstance(scores, (list, tuple)):
        rows = [np.asarray(row) for row in scores]
        if not rows:
            raise MetricError(f"{name}: no samples")
        for i, row in enumerate(rows):
            if row.shape != rows[0].shape:
                raise MetricError(
                    f"{name}: sample {i} has shape {row.shape} but sample 0 has {rows[0].shape}"
                )
        arr = np.stack(rows)
    else:
        arr = np.asarray(scores)
    if arr.ndim != 2:
        raise MetricError(f"{name}: expected shape (N, C), got {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise MetricError(f"{name}: expected at least one sample and one class, got {arr.shape}")
    if arr.dtype.kind not in "iuf":
        raise MetricError(f"{name}: expected numeric scores, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    nan_rows = np.flatnonzero(np.isnan(arr).any(axis=1))
    if nan_rows.size:
        more = f" (and {nan_rows.size - 1} more samples)" if nan_rows.size > 1 else ""
        raise MetricError(f"{name}: sample {nan_rows[0]} has a NaN score{more}")
    return arr


def _as_labels(
    labels: ArrayLike,
    num_classes: int | None,
    expected_len: int | None = None,
    name: str = "labels",
) -> np.ndarray:
    """Validate and convert labels to a 1-D int64 array of class ids in ``[0, num_classes)``."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise MetricError(f"{name}: expected a 1-D sequence of class indices, got {arr.shape}")
    if expected_len is not None and len(arr) != expected_len:
        raise MetricError(f"{name}: {len(arr)} entries but there are {expected_len} samples")
    if len(arr) == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise MetricError(f"{name}: expected integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    upper = np.iinfo(np.int64).max if num_classes is None else num_classes
    bad = np.flatnonzero((arr < 0) | (arr >= upper))
    if bad.size:
        i = bad[0]
        limit = "non-negative" if num_classes is None else f"in [0, {num_classes})"
        raise MetricError(f"{name}: sample {i} has class {arr[i]}, expected a class {limit}")
    return arr

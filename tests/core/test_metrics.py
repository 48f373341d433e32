"""Tests of skel_core.metrics: hand-computed cases, brute-force references, score files, errors."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from skel_core.errors import CorruptFileError, MetricError, UnsafePickleError
from skel_core.metrics import (
    confusion_matrix,
    fuse_scores,
    load_score_file,
    mean_class_accuracy,
    per_class_accuracy,
    save_score_file,
    top_k_accuracy,
)

# 4 samples, 3 classes. Label ranks: sample 0 -> 0, sample 1 -> 1, sample 2 -> 2, sample 3 -> 0.
SCORES = np.array(
    [
        [0.7, 0.2, 0.1],  # label 0, top-1 hit
        [0.5, 0.3, 0.2],  # label 1, second
        [0.6, 0.3, 0.1],  # label 2, third
        [0.1, 0.1, 0.8],  # label 2, top-1 hit
    ]
)
LABELS = [0, 1, 2, 2]


def brute_force_top_k(scores: np.ndarray, labels, k: int) -> float:
    """Sort each row by (score descending, class index ascending) and look for the label."""
    hits = 0
    for row, label in zip(scores, labels, strict=True):
        order = sorted(range(len(row)), key=lambda c: (-row[c], c))
        hits += label in order[:k]
    return hits / len(labels)


def brute_force_per_class(scores: np.ndarray, labels, num_classes: int) -> list[float]:
    result = []
    for c in range(num_classes):
        members = [i for i, label in enumerate(labels) if label == c]
        if not members:
            result.append(float("nan"))
            continue
        correct = sum(int(np.argmax(scores[i])) == c for i in members)
        result.append(correct / len(members))
    return result


def test_top_k_accuracy_hand_computed():
    assert top_k_accuracy(SCORES, LABELS, topk=(1, 2, 3)) == [0.5, 0.75, 1.0]
    assert top_k_accuracy(SCORES, LABELS, topk=1) == [0.5]
    # k beyond the number of classes counts every sample
    assert top_k_accuracy(SCORES, LABELS) == [0.5, 1.0]


def test_top_k_ties_go_to_the_lower_class_index():
    tied = np.zeros((3, 4))
    # Every class tied: only class 0 is top-1, classes 0 and 1 are top-2.
    assert top_k_accuracy(tied, [0, 1, 3], topk=(1, 2, 4)) == pytest.approx([1 / 3, 2 / 3, 1.0])
    # top-1 agrees with argmax, which also picks the first maximum
    scores = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    assert top_k_accuracy(scores, scores.argmax(axis=1), topk=(1,)) == [1.0]
    assert top_k_accuracy(scores, [2, 1], topk=(1,)) == [0.0]


def test_top_k_matches_brute_force_with_many_ties(rng):
    scores = rng.integers(0, 4, size=(200, 7)).astype(np.float32)  # small range: many ties
    labels = rng.integers(0, 7, size=200)
    ks = list(range(1, 8))
    expected = [brute_force_top_k(scores, labels, k) for k in ks]
    assert top_k_accuracy(scores, labels, topk=ks) == pytest.approx(expected, abs=0)


def test_top_k_matches_pyskl_argsort_rule_without_ties(rng):
    scores = rng.standard_normal((300, 10))
    labels = rng.integers(0, 10, size=300)
    for k in (1, 3, 5):
        top = np.argsort(scores, axis=1)[:, -k:]
        pyskl = float(np.mean((top == labels[:, None]).any(axis=1)))
        assert top_k_accuracy(scores, labels, topk=(k,)) == [pyskl]


def test_per_class_and_mean_class_accuracy_hand_computed():
    # predictions: [0, 0, 0, 2]; class 0: 1/1, class 1: 0/1, class 2: 1/2
    np.testing.assert_array_equal(per_class_accuracy(SCORES, LABELS), [1.0, 0.0, 0.5])
    assert mean_class_accuracy(SCORES, LABELS) == pytest.approx(0.5)


def test_absent_classes_are_nan_and_left_out_of_the_mean():
    scores = np.array([[0.9, 0.1, 0.0, 0.0], [0.1, 0.0, 0.0, 0.9], [0.0, 0.2, 0.8, 0.0]])
    labels = [0, 3, 1]  # class 2 never occurs but is predicted once
    acc = per_class_accuracy(scores, labels)
    np.testing.assert_array_equal(np.isnan(acc), [False, False, True, False])
    np.testing.assert_array_equal(acc[[0, 1, 3]], [1.0, 0.0, 1.0])
    # PYSKL's mean_class_accuracy would average 4 classes (the predicted-only one as 0): 0.5
    assert mean_class_accuracy(scores, labels) == pytest.approx(2 / 3)


def test_class_accuracies_match_brute_force(rng):
    scores = rng.standard_normal((150, 6))
    labels = rng.integers(0, 5, size=150)  # class 5 absent
    expected = brute_force_per_class(scores, labels, 6)
    np.testing.assert_allclose(per_class_accuracy(scores, labels), expected)
    assert mean_class_accuracy(scores, labels) == pytest.approx(np.mean(expected[:5]))


def test_confusion_matrix_hand_computed_and_brute_force(rng):
    cm = confusion_matrix([0, 0, 0, 2], [0, 1, 2, 2])
    np.testing.assert_array_equal(cm, [[1, 0, 0], [1, 0, 0], [1, 0, 1]])
    assert cm.dtype == np.int64
    assert confusion_matrix([1], [1], num_classes=4).shape == (4, 4)
    assert confusion_matrix([], [], num_classes=2).tolist() == [[0, 0], [0, 0]]

    pred = rng.integers(0, 5, size=100)
    labels = rng.integers(0, 5, size=100)
    expected = np.zeros((5, 5), dtype=np.int64)
    for p, t in zip(pred, labels, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(pred, labels, num_classes=5), expected)


def test_lists_of_per_sample_arrays_are_accepted():
    as_rows = [row for row in SCORES]
    as_lists = SCORES.tolist()
    for scores in (as_rows, as_lists, SCORES.astype(np.float16)):
        assert top_k_accuracy(scores, np.array(LABELS), topk=(1, 2)) == [0.5, 0.75]
    assert mean_class_accuracy(as_lists, tuple(LABELS)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("scores", "labels", "message"),
    [
        (np.array([[0.1, 0.9], [np.nan, 0.0], [0.0, np.nan]]), [0, 1, 1], "sample 1 has a NaN"),
        (np.zeros((3, 2)), [0, 2, 1], "sample 1 has class 2, expected a class in [0, 2)"),
        (np.zeros((3, 2)), [0, -1, 1], "sample 1 has class -1"),
        (np.zeros((3, 2)), [0, 1], "2 entries but there are 3 samples"),
        (np.zeros((3, 2)), [0.0, 1.0, 1.0], "expected integer class indices"),
        (np.zeros((3, 2)), [[0], [1], [1]], "expected a 1-D sequence"),
        (np.zeros(3), [0, 1, 1], "expected shape (N, C), got (3,)"),
        (np.zeros((0, 3)), [], "at least one sample"),
        ([np.zeros(3), np.zeros(3), np.zeros(2)], [0, 0, 0], "sample 2 has shape (2,)"),
        (np.array([["a", "b"]]), [0], "expected numeric scores"),
    ],
)
def test_bad_scores_or_labels_raise_metric_error(scores, labels, message):
    for metric in (top_k_accuracy, mean_class_accuracy, per_class_accuracy):
        with pytest.raises(MetricError) as info:
            metric(scores, labels)
        assert message in str(info.value)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_topk_is_refused(k):
    with pytest.raises(MetricError, match="topk values must be positive integers"):
        top_k_accuracy(SCORES, LABELS, topk=(1, k))


def test_confusion_matrix_errors():
    with pytest.raises(MetricError, match="pred: sample 1 has class 3"):
        confusion_matrix([0, 3], [0, 1], num_classes=3)
    with pytest.raises(MetricError, match="pred: 1 entries but there are 2 samples"):
        confusion_matrix([0], [0, 1])
    with pytest.raises(MetricError, match="no samples and no num_classes"):
        confusion_matrix([], [])
    with pytest.raises(MetricError, match="num_classes must be a positive integer"):
        confusion_matrix([0], [0], num_classes=0)


def _softmax_reference(x: np.ndarray) -> np.ndarray:
    return np.array([np.exp(row) / np.exp(row).sum() for row in x])


def test_fuse_scores_pyskl_ensemble_and_defaults(rng):
    j, b, jm, bm = (rng.standard_normal((5, 4)) for _ in range(4))
    fused = fuse_scores([j, b, jm, bm], weights=[2, 2, 1, 1])
    np.testing.assert_allclose(fused, 2 * j + 2 * b + jm + bm)
    np.testing.assert_allclose(fuse_scores([j, b]), j + b)
    # PYSKL's per-sample list format fuses the same way
    np.testing.assert_allclose(fuse_scores([list(j), list(b)], weights=[1, 0.5]), j + 0.5 * b)


def test_fuse_scores_softmax_normalizes_each_stream_first(rng):
    a = rng.standard_normal((6, 3)) * 10  # very different logit scales
    b = rng.standard_normal((6, 3)) * 0.1
    fused = fuse_scores([a, b], weights=[1, 3], normalize="softmax")
    np.testing.assert_allclose(fused, _softmax_reference(a) + 3 * _softmax_reference(b))
    np.testing.assert_allclose(fused.sum(axis=1), 4.0)
    # large logits do not overflow
    big = fuse_scores([np.array([[1000.0, 0.0]])], normalize="softmax")
    np.testing.assert_allclose(big, [[1.0, 0.0]])


def test_fuse_scores_errors():
    a = np.zeros((4, 3))
    with pytest.raises(MetricError, match=r"score set 2 has shape \(4, 2\) but score set 0"):
        fuse_scores([a, a, np.zeros((4, 2))])
    with pytest.raises(MetricError, match="score set 1: sample 3 has a NaN"):
        bad = a.copy()
        bad[3, 0] = np.nan
        fuse_scores([a, bad])
    with pytest.raises(MetricError, match="3 weights given for 2 score sets"):
        fuse_scores([a, a], weights=[1, 2, 3])
    with pytest.raises(MetricError, match="weights must be finite"):
        fuse_scores([a, a], weights=[1, float("inf")])
    with pytest.raises(MetricError, match="weights must be finite"):
        fuse_scores([a, a], weights=[1, "x"])
    with pytest.raises(MetricError, match="unknown normalize='l2'"):
        fuse_scores([a], normalize="l2")
    with pytest.raises(MetricError, match="at least one score set"):
        fuse_scores([])
    inf = a.copy()
    inf[2, 1] = np.inf
    with pytest.raises(MetricError, match="score set 0: sample 2 has an infinite score"):
        fuse_scores([inf], normalize="softmax")


def test_load_score_file_reads_pyskl_output(tmp_path, rng):
    scores = rng.standard_normal((5, 4)).astype(np.float32)
    path = tmp_path / "result.pkl"
    with open(path, "wb") as f:  # what PYSKL's tools/test.py --out writes (via mmcv.dump)
        pickle.dump([row for row in scores], f)
    loaded = load_score_file(path)
    assert loaded.labels is None
    assert loaded.scores.shape == (5, 4) and loaded.scores.dtype == np.float64
    np.testing.assert_array_equal(loaded.scores, scores)

    with open(path, "wb") as f:
        pickle.dump(scores, f)
    np.testing.assert_array_equal(load_score_file(path).scores, scores)


def test_save_score_file_round_trip(tmp_path, rng):
    scores = rng.standard_normal((6, 3))
    labels = rng.integers(0, 3, size=6)
    save_score_file(tmp_path / "out" / "with_labels.pkl", scores, labels)
    loaded_scores, loaded_labels = load_score_file(tmp_path / "out" / "with_labels.pkl")
    np.testing.assert_array_equal(loaded_scores, scores)
    np.testing.assert_array_equal(loaded_labels, labels)

    save_score_file(tmp_path / "plain.pkl", scores)
    with open(tmp_path / "plain.pkl", "rb") as f:
        plain = pickle.load(f)
    assert isinstance(plain, list) and len(plain) == 6  # PYSKL's list-of-rows format
    np.testing.assert_array_equal(load_score_file(tmp_path / "plain.pkl").scores, scores)


def test_load_score_file_errors(tmp_path):
    path = tmp_path / "scores.pkl"
    with open(path, "wb") as f:
        pickle.dump({"preds": [1, 2]}, f)
    with pytest.raises(CorruptFileError, match="needs a 'scores' key, found keys \\['preds'\\]"):
        load_score_file(path)
    with open(path, "wb") as f:
        pickle.dump("not scores", f)
    with pytest.raises(CorruptFileError, match="got str"):
        load_score_file(path)
    with open(path, "wb") as f:
        pickle.dump({"scores": np.zeros((3, 2)), "labels": [0, 5, 1]}, f)
    with pytest.raises(MetricError, match=r"labels in .*scores.pkl: sample 1 has class 5"):
        load_score_file(path)
    with open(path, "wb") as f:
        pickle.dump([np.zeros(2), np.array([0.0, np.nan])], f)
    with pytest.raises(MetricError, match=r"scores in .*scores.pkl: sample 1 has a NaN"):
        load_score_file(path)


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_load_score_file_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump([np.zeros(3), _Payload(marker)], f)
    with pytest.raises(UnsafePickleError):
        load_score_file(path)
    assert not marker.exists()

"""Command line of ``skel-fuse``: fuse the test scores of several streams and print the metrics.

PYSKL's four-stream ensemble is ``skel-fuse j.pkl b.pkl jm.pkl bm.pkl --weights 2 2 1 1``. The
score files are ``skel-test --out`` files (scores and labels, in dataset order) or PYSKL's
``--out`` lists of scores; for the latter the labels come from ``--ann-file`` and ``--split``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from skel_core.annotations import load_annotations
from skel_core.errors import MetricError
from skel_core.metrics import FUSION_NORMALIZATIONS, fuse_scores, load_score_file, save_score_file

from ..command import run_command
from ..evaluation import EvalResult, compute_metrics


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="skel-fuse",
        description="Weighted sum of several streams' test scores; prints top-1, top-5 and mean "
        "class accuracy of the fusion.",
    )
    parser.add_argument("scores", nargs="+", help="score files (skel-test --out, or PYSKL's)")
    parser.add_argument(
        "--weights", nargs="+", type=float, help="one weight per score file (default: all 1)"
    )
    parser.add_argument(
        "--normalize",
        choices=[n for n in FUSION_NORMALIZATIONS if n],
        help="turn each stream's scores into probabilities (softmax) before weighting",
    )
    parser.add_argument(
        "--ann-file", help="annotation pickle to take labels from (score files without labels)"
    )
    parser.add_argument("--split", help="with --ann-file: the split the scores are of")
    parser.add_argument("--out", help="write the fused scores and labels to this pickle")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command("skel-fuse", lambda: _fuse(args))


def _fuse(args: argparse.Namespace) -> int:
    files = [load_score_file(path) for path in args.scores]
    labels = _labels(args, [f.labels for f in files])
    fused = fuse_scores([f.scores for f in files], args.weights, args.normalize)
    result = EvalResult(fused, labels, compute_metrics(fused, labels))
    print(result.summary(f"fused ({len(files)} streams)"))
    if args.out:
        save_score_file(args.out, fused, labels)
        print(f"fused scores: {args.out}")
    return 0


def _labels(args: argparse.Namespace, stored: list[np.ndarray | None]) -> np.ndarray:
    """The labels the score files agree on, or those of ``--ann-file``'s ``--split``."""
    sources = list(zip(args.scores, stored, strict=True))
    if args.ann_file:
        if not args.split:
            raise MetricError("--ann-file needs --split, the split the scores are of")
        records = load_annotations(args.ann_file).select(args.split)
        sources.append((f"{args.ann_file} ({args.split})", np.array([r["label"] for r in records])))
    known = [(source, labels) for source, labels in sources if labels is not None]
    if not known:
        raise MetricError(
            "none of the score files holds labels (PYSKL's --out files do not); "
            "give --ann-file and --split"
        )
    first_source, first = known[0]
    for source, labels in known[1:]:
        if not np.array_equal(labels, first):
            raise MetricError(
                f"the labels of {source} differ from those of {first_source}: the scores are not "
                "of the same samples in the same order"
            )
    return first


if __name__ == "__main__":
    sys.exit(main())

"""Command line of ``skel-test``: score a checkpoint on a config's test (or val) split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skel_core.cfg_options import DictAction
from skel_core.metrics import save_score_file
from skel_models.pretrained import load_pretrained

from ..builders import build_dataset, build_loader, build_model
from ..command import run_command
from ..distributed import distributed_session
from ..evaluation import AMP_DTYPES, evaluate
from ..train.settings import eval_settings, load_config
from .report import (
    class_names_or_ids,
    per_class_rows,
    plot_confusion_matrix,
    top1_confusion_matrix,
    write_per_class_accuracy,
)

EPILOG = """\
Multi-clip and flip testing are what the split's pipeline produces (e.g.
UniformSampleFrames(num_clips=10), GeneratePoseTarget(double=True)); the model averages the clips
as model.test_cfg.average_clips says ('prob', 'score'). Runs under torchrun too: each process
scores a shard and rank 0 reports.

writes, in --report-dir: per_class_accuracy.json, per_class_accuracy.csv, confusion_matrix.png;
with --out: the scores and labels, in dataset order (skel-fuse reads them; so does PYSKL's tooling
for the scores).
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="skel-test",
        description="Test a checkpoint: print top-1, top-5 and mean class accuracy, write "
        "per-class accuracy and a confusion matrix.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", help="config file (Python, PYSKL schema)")
    parser.add_argument("checkpoint", help="checkpoint: skel-train's, PYSKL's or MMAction2's")
    parser.add_argument("--out", help="write the scores and labels to this pickle (scores.pkl)")
    parser.add_argument(
        "--report-dir",
        help="where the per-class accuracy and confusion matrix go (default: the checkpoint's "
        "folder)",
    )
    parser.add_argument(
        "--split", choices=["test", "val"], default="test", help="data.test (default) or data.val"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help="override config entries, e.g. data.test_dataloader.videos_per_gpu=64",
    )
    parser.add_argument("--amp", choices=sorted(AMP_DTYPES), help="mixed-precision inference")
    parser.add_argument(
        "--device", help="e.g. cpu or cuda:1 (default: this rank's GPU if any, else the CPU)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command("skel-test", lambda: _test(args))


def _test(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.cfg_options)
    seed = cfg.get("seed") or 0
    with distributed_session(args.device) as ctx:
        dataset = build_dataset(cfg.data[args.split], seed)
        loader = build_loader(dataset, cfg.data, args.split, seed)
        model = build_model(cfg.model.to_dict()).to(ctx.device)
        load_pretrained(model, args.checkpoint, strict=True)
        result = evaluate(
            model,
            loader,
            ctx,
            topk=eval_settings(cfg).topk,
            amp_dtype=AMP_DTYPES.get(args.amp),
            progress=not args.no_progress,
            desc=args.split,
        )
        if not ctx.is_main:
            return 0
    print(result.summary(args.split))
    report_dir = Path(args.report_dir) if args.report_dir else Path(args.checkpoint).parent
    cm = top1_confusion_matrix(result.scores, result.labels)
    names = class_names_or_ids(getattr(dataset, "class_names", None), len(cm))
    write_per_class_accuracy(
        per_class_rows(cm, names),
        report_dir / "per_class_accuracy.json",
        report_dir / "per_class_accuracy.csv",
    )
    plot_confusion_matrix(cm, names, report_dir / "confusion_matrix.png")
    print(f"per-class accuracy and confusion matrix: {report_dir}")
    if args.out:
        save_score_file(args.out, result.scores, result.labels)
        print(f"scores: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command line of ``skel-train``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skel_core.cfg_options import DictAction
from skel_core.config import Config

from .runner import train


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="skel-train",
        description="Train a skeleton action recognizer from a PYSKL-style config, then test it.",
    )
    parser.add_argument("config", help="config file (Python, PYSKL schema)")
    parser.add_argument(
        "--work-dir", help="where logs and checkpoints go (default: config's work_dir)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help="override config entries, e.g. total_epochs=2",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    work_dir = Path(args.work_dir or cfg.get("work_dir") or "work_dirs/" + Path(args.config).stem)
    result = train(cfg, work_dir, seed=args.seed, progress=not args.no_progress)
    print(
        f"test top-1 accuracy: {result.top1 * 100:.2f}%  (top-5 {result.top5 * 100:.2f}%, "
        f"mean class {result.mean_class_accuracy * 100:.2f}%, {result.num_samples} clips)"
    )
    print(f"checkpoints and logs: {work_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

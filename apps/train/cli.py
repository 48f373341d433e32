"""Command line of ``skel-train``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from skel_core.cfg_options import DictAction

from ..command import run_command
from ..distributed import launched_rank
from ..evaluation import AMP_DTYPES
from .runner import TrainOptions, train
from .settings import DEFAULT_BASE_BATCH_SIZE, load_config

EPILOG = f"""\
distributed: torchrun --nproc-per-node N --no-python skel-train CONFIG ... (or torchrun ...
-m skel_apps.train.cli CONFIG ...) runs N processes with DistributedDataParallel: nccl on GPUs,
gloo on CPUs, several machines through torchrun's rendezvous options. data.videos_per_gpu is the
batch of ONE process: the global batch is N times larger. With --auto-scale-lr (or
auto_scale_lr=dict(enable=True) in the config) every learning rate is multiplied by
global batch / auto_scale_lr.base_batch_size (default {DEFAULT_BASE_BATCH_SIZE} = 8 GPUs x 16,
the setting PYSKL's GCN learning rates were tuned for). Batch norm is synchronised over the
ranks (config key sync_bn, default True), so N processes with batch B/N train the same model as
one process with batch B.

work dir: config.py (the resolved config), log.jsonl, tensorboard/, epoch_K.pth every
checkpoint_config.interval epochs, latest (names the newest; --resume auto reads it), and
best_<metric>.pth with --validate and evaluation.save_best.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="skel-train",
        description="Train a skeleton action recognizer from a PYSKL-style config, then test it "
        "on data.test.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", help="config file (Python, PYSKL schema)")
    parser.add_argument(
        "--work-dir", help="where logs and checkpoints go (default: the config's work_dir)"
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        metavar="auto|PATH",
        help="continue a run: from the work dir's latest checkpoint (auto, the default when "
        "the flag has no value; starts afresh if there is none) or from PATH",
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        default={},
        metavar="KEY=VALUE",
        help="override config entries, e.g. total_epochs=2 optimizer.lr=0.05",
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="random seed (default: the config's seed, else 0; a resumed run keeps its own)",
    )
    parser.add_argument(
        "--deterministic",
        action="store_true",
        help="use deterministic algorithms only (an op without one raises an error)",
    )
    parser.add_argument(
        "--amp", choices=sorted(AMP_DTYPES), help="mixed precision: bf16, or fp16 (loss scaling)"
    )
    parser.add_argument("--compile", action="store_true", help="train through torch.compile")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="evaluate data.val every evaluation.interval epochs and keep the best checkpoint "
        "(evaluation.save_best)",
    )
    parser.add_argument(
        "--auto-scale-lr",
        action="store_true",
        help="scale learning rates linearly with the global batch (see below)",
    )
    parser.add_argument(
        "--device", help="e.g. cpu or cuda:1 (default: this rank's GPU if any, else the CPU)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_command("skel-train", lambda: _train(args))


def _train(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, args.cfg_options)
    work_dir = Path(args.work_dir or cfg.get("work_dir") or "work_dirs/" + Path(args.config).stem)
    options = TrainOptions(
        work_dir=work_dir,
        seed=args.seed,
        resume=args.resume,
        deterministic=args.deterministic,
        amp=args.amp,
        compile=args.compile,
        validate=args.validate,
        auto_scale_lr=args.auto_scale_lr,
        device=args.device,
        progress=not args.no_progress,
    )
    result = train(cfg, options)
    if launched_rank() == 0:
        if result is not None:
            print(result.summary("test"))
        print(f"checkpoints and logs: {work_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

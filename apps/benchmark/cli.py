"""Command line of ``skel-bench``: ``skel-bench BENCHMARK [options]``.

Each benchmark is a module named in :data:`SUBCOMMANDS` that defines ``add_arguments(parser)``
(its own options) and ``run(args) -> dict`` (it prints rows while it measures and returns its
part of the record). Only the chosen module is imported. The options every benchmark shares are
added here: ``--threads``, ``--repeats``, ``--warmup``, ``--quick``, ``--impl`` and ``--malloc``
(the C allocator's set-up, :mod:`skel_apps.allocator`: ``tuned`` as every skel command runs, or
glibc's ``default``; unset, ``SKEL_MALLOC`` decides as for the other commands; it changes the
baselines' times most, so a ratio is only meaningful with it).

The last line printed is one JSON object: ``benchmark``, ``settings`` (``threads``,
``repeats``, ``warmup``, ``quick``, ``impls``, ``malloc``: the mode in effect), ``environment`` (see
:func:`skel_apps.benchmark.report.environment`) and the benchmark's own keys (its ``--help``
lists them).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

from ..allocator import MODES, configure_allocator
from .report import environment, json_line
from .timing import IMPL_DEVICE, MIN_REPEATS, runnable_impls

SUBCOMMANDS = {
    "heatmap": "skel_apps.benchmark.heatmap",
    "graph-conv": "skel_apps.benchmark.graph_conv",
    "pipeline": "skel_apps.benchmark.pipeline",
    "model": "skel_apps.benchmark.model",
}
QUICK_REPEATS = 3
DEFAULT_THREADS = (1, 2)


def build_parser(argv: list[str]) -> tuple[argparse.ArgumentParser, ModuleType | None]:
    """The parser, with the options of the benchmark ``argv`` names (whose module it returns;
    None when ``argv`` names none, and parsing then reports the usage)."""
    parser = argparse.ArgumentParser(
        prog="skel-bench",
        description="Benchmarks of skel's kernels against PYSKL's way of computing the same "
        "thing. Each prints aligned rows while it measures and, as its last line, one JSON "
        "object. 'skel-bench BENCHMARK --help' describes a benchmark, its cases and its keys.",
    )
    commands = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK",
                                     help=", ".join(SUBCOMMANDS))
    chosen = argv[0] if argv and argv[0] in SUBCOMMANDS else None
    module = None
    for name, module_name in SUBCOMMANDS.items():
        if name != chosen:
            commands.add_parser(name, help=f"see skel-bench {name} --help")
            continue
        module = importlib.import_module(module_name)
        command = commands.add_parser(name, description=module.__doc__,
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        _add_common_arguments(command)
        module.add_arguments(command)
    return parser, module


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=_positive_int, nargs="+", default=list(DEFAULT_THREADS),
                        metavar="N", help="torch thread counts to measure on, each in turn "
                        "(default: 1 2)")
    parser.add_argument("--repeats", type=_positive_int, metavar="R",
                        help=f"timed repeats of every measurement (default {MIN_REPEATS}, at "
                        f"least {MIN_REPEATS}; with --quick default {QUICK_REPEATS})")
    parser.add_argument("--warmup", type=int, default=1, metavar="W",
                        help="untimed calls of every measurement before timing (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny shapes and few repeats: checks that the benchmark runs, "
                        "measures nothing worth keeping")
    parser.add_argument("--impl", nargs="+", choices=tuple(IMPL_DEVICE), metavar="IMPL",
                        help="implementations to measure against the baseline (default: all "
                        f"that can run here: {', '.join(runnable_impls())})")
    parser.add_argument("--malloc", choices=MODES,
                        help="the C allocator: 'tuned' keeps freed memory in the process, as "
                        "every skel command does; 'default' leaves glibc's own thresholds, "
                        "under which large temporaries are faulted in afresh each call, slowing "
                        "the baselines most (default: $SKEL_MALLOC, else tuned)")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, ModuleType]:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, module = build_parser(argv)
    args = parser.parse_args(argv)
    assert module is not None  # parse_args exits unless argv[0] named a benchmark
    if args.repeats is None:
        args.repeats = QUICK_REPEATS if args.quick else MIN_REPEATS
    elif args.repeats < MIN_REPEATS and not args.quick:
        parser.error(f"--repeats {args.repeats}: a run needs at least {MIN_REPEATS} repeats "
                     "(only --quick takes fewer)")
    if args.warmup < 0:
        parser.error(f"--warmup {args.warmup}: must be 0 or more")
    runnable = runnable_impls()
    if args.impl is None:
        args.impl = runnable
    unavailable = [impl for impl in args.impl if impl not in runnable]
    if unavailable:
        parser.error(f"--impl {' '.join(unavailable)}: cannot run here; runnable: "
                     f"{', '.join(runnable)} (Triton only on a GPU)")
    args.impl = list(dict.fromkeys(args.impl))
    return args, module


def main(argv: list[str] | None = None) -> int:
    args, module = parse_args(argv)
    malloc = configure_allocator(args.malloc)
    print(f"allocator: {malloc}", flush=True)
    result = module.run(args)
    settings = {"threads": args.threads, "repeats": args.repeats, "warmup": args.warmup,
                "quick": args.quick, "impls": args.impl, "malloc": malloc}
    record = {"benchmark": args.benchmark, "settings": settings, "environment": environment(),
              **result}
    print(json_line(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

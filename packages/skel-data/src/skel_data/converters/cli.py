"""``skel-convert``: public skeleton datasets and your own arrays -> annotation pickles.

    skel-convert ntu     nturgb+d_skeletons/ ntu60_3danno.pkl [--dataset ntu60] [--exclude F]
    skel-convert nw-ucla all_sqe/ nw_ucla.pkl [--min-frames N]
    skel-convert penn    labels/ penn_action.pkl [--layout coco|penn]
    skel-convert arrays  my_clips/ my_clips.pkl [--layout coco] [--labels labels.csv]

Prints the conversion's summary; on bad input prints the error (naming the file, sample and
key) and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from skel_core.errors import SkelError

from .arrays import convert_arrays
from .ntu import convert_ntu
from .nw_ucla import convert_nw_ucla
from .penn import LAYOUTS as PENN_LAYOUTS
from .penn import convert_penn


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skel-convert", description="Convert skeleton data to a PYSKL-format annotation "
                                         "pickle (validated, written atomically).")
    commands = parser.add_subparsers(dest="command", required=True, metavar="DATASET")

    def command(name: str, help_text: str, src_help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("src", metavar="SRC", help=src_help)
        sub.add_argument("out", metavar="OUT", help="the annotation pickle to write")
        return sub

    ntu = command("ntu", "NTU RGB+D 60/120 raw .skeleton files -> 3D pickle",
                  "directory of .skeleton files (or one file)")
    ntu.add_argument("--dataset", choices=("auto", "ntu60", "ntu120"), default="auto",
                     help="ntu60: actions 1-60, xsub/xview splits; ntu120: all actions, "
                          "xsub/xset splits; auto: ntu120 if any action is above 60")
    ntu.add_argument("--exclude", metavar="FILE",
                     help="text file of sample names to leave out (one per line), e.g. the "
                          "official list of samples with missing skeletons")
    ucla = command("nw-ucla", "NW-UCLA all_sqe/*.json -> 3D pickle (kinect_v1, cross-view)",
                   "the all_sqe directory")
    ucla.add_argument("--min-frames", type=int, default=1,
                      help="skip clips shorter than this (default 1: keep every clip)")
    penn = command("penn", "Penn Action labels/*.mat -> 2D pickle", "the labels directory")
    penn.add_argument("--layout", choices=PENN_LAYOUTS, default="coco",
                      help="coco: 17 COCO joints (eyes and ears missing); penn: the 13 joints")
    arrays = command("arrays", "your own .npz / .csv clips -> pickle",
                     "a clip file, or a directory of them (subdirectories become splits)")
    arrays.add_argument("--layout", help="layout name, e.g. coco or nturgb+d (checks V)")
    arrays.add_argument("--labels", metavar="FILE", help="CSV of name,label lines")
    arrays.add_argument("--img-shape", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"),
                        help="frame size of clips that do not give their own")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "ntu":
            summary = convert_ntu(args.src, args.out, dataset=args.dataset, exclude=args.exclude)
        elif args.command == "nw-ucla":
            summary = convert_nw_ucla(args.src, args.out, min_frames=args.min_frames)
        elif args.command == "penn":
            summary = convert_penn(args.src, args.out, layout=args.layout)
        else:
            summary = convert_arrays(args.src, args.out, layout=args.layout, labels=args.labels,
                                     img_shape=args.img_shape)
    except (SkelError, OSError, ImportError) as error:
        print(f"skel-convert {args.command}: error: {error}", file=sys.stderr)
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())

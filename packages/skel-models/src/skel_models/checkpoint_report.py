"""``python -m skel_models.checkpoint_report CONFIG CHECKPOINT``: build a config's model, load a
PYSKL or MMAction2 1.x checkpoint into it, and print every key that did not match (missing,
unexpected, wrongly shaped); the exit status is 0 when all match, else 1."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from skel_core.config import Config

from .pretrained import load_pretrained
from .registry import build_model


def main(argv: Sequence[str] | None = None) -> int:
    """Print how a checkpoint fits a config's model; 0 when every key matches, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m skel_models.checkpoint_report",
        description="Load a PYSKL or MMAction2 1.x checkpoint into a config's model and list "
        "the keys that did not match.",
    )
    parser.add_argument("config", help="a PYSKL-style config file with a `model` entry")
    parser.add_argument("checkpoint", help="a .pth checkpoint or state dict")
    parser.add_argument(
        "--key-map",
        default="auto",
        help="'auto' (default), 'none', or a registered key map such as 'mmaction2-gcn'",
    )
    args = parser.parse_args(argv)
    model = build_model(Config.fromfile(args.config).model.to_dict())
    key_map = None if args.key_map == "none" else args.key_map
    report = load_pretrained(model, args.checkpoint, key_map=key_map, strict=False)
    print(report)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

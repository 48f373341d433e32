"""What ``skel-bench`` prints: aligned plain-text rows for people while it runs, and as the very
last line one JSON object (the record a script or CI keeps; nothing is printed after it)."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import skel_kernels


@dataclass(frozen=True)
class Column:
    """A column of a :class:`Table`: its header, width and alignment (numbers right)."""

    header: str
    width: int
    right: bool = True


class Table:
    """Fixed-width rows, printed one at a time as the measurements come in."""

    def __init__(self, title: str, columns: Sequence[Column]):
        self.title = title
        self.columns = tuple(columns)

    def print_header(self) -> None:
        self._print(f"\n{self.title}")
        self._print(self._line([column.header for column in self.columns]))
        self._print("  ".join("-" * column.width for column in self.columns))

    def print_row(self, *cells: object) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"Table {self.title!r}: {len(cells)} cells for "
                             f"{len(self.columns)} columns")
        self._print(self._line([format_cell(cell) for cell in cells]))

    def _line(self, texts: Sequence[str]) -> str:
        parts = [text.rjust(column.width) if column.right else text.ljust(column.width)
                 for text, column in zip(texts, self.columns, strict=True)]
        return "  ".join(parts).rstrip()

    @staticmethod
    def _print(text: str) -> None:
        print(text, flush=True)


def format_cell(value: object) -> str:
    """Numbers with 3 significant digits and at most 3 decimals; None as '-'."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0 or abs(value) >= 100:
            return f"{value:.0f}"
        decimals = min(3, 2 - math.floor(math.log10(abs(value))))
        return f"{value:.{decimals}f}"
    return str(value)


def environment() -> dict[str, Any]:
    """The facts a timing depends on: versions, the host, threads, the kernels' build."""
    build = skel_kernels.build_info()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "skel_kernels": build["version"],
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "openmp": build["openmp"],
        "cuda_built": build["cuda_built"],
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "backends": skel_kernels.available_backends(),
    }


def json_line(record: dict[str, Any]) -> str:
    """``record`` as one line of strict JSON (a NaN or infinity is a bug and raises)."""
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


def print_targets(targets: list[dict[str, Any]], subject: str, quick: bool) -> None:
    """Print each issue target as met / NOT MET (or not measured); ``subject`` says what the
    ratios compare. A target's ``layout`` is printed when it has one."""
    caveat = "; --quick shapes, so only a smoke test" if quick else ""
    print(f"\nissue targets ({subject}{caveat})", flush=True)
    for target in targets:
        if target["met"] is None:
            print(f"  {target['target']}: not measured in this run", flush=True)
            continue
        verdict = "met" if target["met"] else "NOT MET"
        layout = f"{target['layout']}, " if target.get("layout") else ""
        print(f"  {target['target']}: {target['impl']} on {target['device']}, {layout}"
              f"threads={target['threads']}: {target['ratio']:.2f}x "
              f"(needs {target['required']}x) {verdict}", flush=True)

"""Converters from public skeleton dataset formats to skel / PYSKL annotation pickles.

Each ``convert_*`` function reads a dataset's own files, validates the records it builds, writes
the pickle atomically and returns a :class:`Summary`; ``skel-convert`` runs them from the shell.
"""

from .arrays import convert_arrays
from .ntu import convert_ntu
from .nw_ucla import NW_UCLA_CLASSES, convert_nw_ucla
from .penn import PENN_ACTION_CLASSES, convert_penn
from .summary import Summary

__all__ = [
    "NW_UCLA_CLASSES",
    "PENN_ACTION_CLASSES",
    "Summary",
    "convert_arrays",
    "convert_ntu",
    "convert_nw_ucla",
    "convert_penn",
]

"""Checks of config sections: a key skel does not know is an error that names it.

A setting that is misspelt and silently ignored is worse than a crash, so every config section
the apps interpret is checked against the keys they read.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from skel_core.errors import ConfigError


def check_keys(section: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Raise a ConfigError naming every key of ``section`` (at dotted path ``where``) that is
    not in ``allowed``, with the closest allowed names."""
    allowed = list(allowed)
    problems = []
    for key in section:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=2)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            problems.append(f"'{where}.{key}'{hint}")
    if problems:
        raise ConfigError(
            f"unknown config key(s) {', '.join(problems)}; {where} accepts: {', '.join(allowed)}"
        )


def section(cfg: Mapping[str, Any], name: str) -> dict[str, Any]:
    """``cfg[name]`` as a plain dict ({} when absent or None); a ConfigError if not a dict."""
    value = cfg.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"config key '{name}' must be a dict, got {value!r:.80}")
    return dict(value)

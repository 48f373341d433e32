"""Command-line config overrides: ``--cfg-options a.b=1 c=[1,2] d=abc`` -> a dict.

Values are parsed the way mmcv's ``DictAction`` parses them (ints, floats, bools, None, nested
lists and tuples, bare strings), with two fixes: a quoted value such as ``'a,b'`` stays one
string, and a quote opens a string only at the start of an element, so ``it's`` is one word.
Apply the result with :meth:`skel_core.config.Config.merge_from_dict`.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable
from typing import Any

from skel_core.errors import ConfigError

_CLOSERS = {"[": "]", "(": ")"}


def _scan(text: str, option: str) -> tuple[list[int], int | None]:
    """Positions of the commas outside brackets and quotes, and where a leading bracket closes.

    A quote opens a quoted string only at the start of an element, so ``it's`` stays a word.
    """
    expected: list[str] = []
    quote: str | None = None
    at_start = True
    commas: list[int] = []
    first_close = None
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
            continue
        if char in "'\"" and at_start:
            quote = char
        elif char in _CLOSERS:
            expected.append(_CLOSERS[char])
        elif char in "])":
            if not expected or expected.pop() != char:
                raise ConfigError(f"unbalanced '{char}' in config option {option!r}")
            if not expected and first_close is None:
                first_close = i
        elif char == "," and not expected:
            commas.append(i)
        if not char.isspace():
            at_start = char in ",[("
    if quote or expected:
        missing = f"closing {quote}" if quote else f"'{expected[-1]}'"
        raise ConfigError(f"missing {missing} in config option {option!r}")
    return commas, first_close


def _split(text: str, commas: list[int]) -> list[str]:
    bounds = [-1, *commas, len(text)]
    parts = [text[a + 1 : b].strip() for a, b in itertools.pairwise(bounds)]
    return parts[:-1] if len(parts) > 1 and not parts[-1] else parts  # allow "(1,)" and "a,"


def _parse_scalar(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return None if text == "None" else text


def _parse_value(text: str, option: str) -> Any:
    text = text.strip()
    commas, first_close = _scan(text, option)
    if commas:
        return [_parse_value(part, option) for part in _split(text, commas)]
    if text[:1] in _CLOSERS and first_close == len(text) - 1:
        inner = text[1:-1].strip()
        parts = _split(inner, _scan(inner, option)[0]) if inner else []
        items = [_parse_value(part, option) for part in parts]
        return tuple(items) if text[0] == "(" else items
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        return text[1:-1]
    return _parse_scalar(text)


def parse_cfg_options(options: Iterable[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` words the way mmcv's ``--cfg-options`` does.

    Values become ints, floats, booleans (``true``/``false`` in any case), ``None``, lists
    (``[1,2]`` or ``1,2``), tuples (``(1,2)``), nested combinations (``[(a,b),(c,d)]``), quoted
    strings (``'a,b'`` keeps its comma) or else the bare string. Keys stay dotted; apply the
    result with :meth:`Config.merge_from_dict`.
    """
    parsed: dict[str, Any] = {}
    for option in options:
        key, sep, text = option.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"config option {option!r} is not of the form KEY=VALUE")
        parsed[key.strip()] = _parse_value(text, option)
    return parsed


class DictAction(argparse.Action):
    """argparse action collecting ``KEY=VALUE`` words into a dict with
    :func:`parse_cfg_options`; repeated flags add to the same dict. Use it as
    ``parser.add_argument('--cfg-options', nargs='+', action=DictAction)``."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | list[str] | None,
        option_string: str | None = None,
    ) -> None:
        words = [values] if isinstance(values, str) else list(values or [])
        try:
            parsed = parse_cfg_options(words)
        except ConfigError as exc:
            raise argparse.ArgumentError(self, str(exc)) from exc
        options = dict(getattr(namespace, self.dest, None) or {})
        options.update(parsed)
        setattr(namespace, self.dest, options)

"""Exceptions raised by skel.

Every error names what it is about (a file, a sample, a key) so that a user can find the
problem without a debugger. All of them derive from :class:`SkelError`, so callers can catch
skel's own failures in one place; each also derives from the builtin exception a Python user
would expect (``ValueError``, ``KeyError``, ...), so generic handlers keep working.
"""

from __future__ import annotations


class SkelError(Exception):
    """Base class of every error skel raises on purpose."""


class LayoutError(SkelError, ValueError):
    """A skeleton layout is unknown or inconsistent (edges out of range, bad flip pairs...)."""


class GraphError(SkelError, ValueError):
    """A graph partition was asked for that does not exist or cannot be built."""


class AnnotationError(SkelError, ValueError):
    """One or more annotation records are invalid.

    ``problems`` holds every problem found, each a human-readable line that names the sample
    (its ``frame_dir`` or index) and the key, so a whole file is reported in one go.
    """

    def __init__(self, problems: list[str] | str, source: str | None = None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.source = source
        where = f" in {source}" if source else ""
        shown = self.problems[:50]
        more = len(self.problems) - len(shown)
        lines = [f"{len(self.problems)} annotation problem(s){where}:"]
        lines += [f"  - {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


class UnsafePickleError(SkelError, ValueError):
    """A pickle tried to import or call something outside the allowed set; nothing was run."""


class CorruptFileError(SkelError, ValueError):
    """A file is truncated, not of the expected format, or otherwise unreadable."""


class ConfigError(SkelError, ValueError):
    """A config file or override is invalid (syntax, missing base, bad key path...)."""


class RegistryError(SkelError, KeyError):
    """A ``dict(type=...)`` names a type that is not registered, or registration clashes."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class CheckpointError(SkelError, RuntimeError):
    """A checkpoint cannot be read, is unsafe, or does not fit the model."""


class ConfigKeyError(SkelError, KeyError, AttributeError):
    """A config key looked up by item or attribute does not exist; names its dotted path."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class MetricError(SkelError, ValueError):
    """Scores or labels given to a metric or to score fusion are invalid (shape, range, NaN)."""

"""Registries: tables of names to classes that build objects from ``dict(type=..., ...)``.

PYSKL and MMAction2 configs describe every component as a dict whose ``type`` names a class
and whose other keys are its constructor's arguments. A :class:`Registry` maps such names to
classes (or factory functions) so those configs can be built. It lives at the edge (apps and
config compatibility): skel's models are plain classes that never need it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from skel_core.errors import RegistryError


class Registry:
    """Names of one kind of component (``Registry('model')``) mapped to their classes.

    A registry may have a ``parent``: names it does not hold itself are looked up there.
    """

    def __init__(self, name: str, parent: Registry | None = None):
        self.name = name
        self.parent = parent
        self._entries: dict[str, Callable[..., Any]] = {}

    def __repr__(self) -> str:
        return f"Registry({self.name!r}, {len(self)} entries)"

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or (self.parent is not None and name in self.parent)

    def names(self) -> list[str]:
        """The names registered here (not in the parent), sorted."""
        return sorted(self._entries)

    def register(
        self, name: str | None = None, force: bool = False, obj: Callable[..., Any] | None = None
    ) -> Any:
        """Register ``obj`` under ``name`` (default: its ``__name__``) and return it; without
        ``obj``, return a class decorator doing so (``@MODELS.register()``,
        ``@MODELS.register('Alias')``). A taken name is an error unless ``force``."""
        if name is not None and not isinstance(name, str):  # used bare: @MODELS.register
            name, obj = None, name
        if obj is not None:
            self._add(obj, name, force)
            return obj

        def decorator(target: Callable[..., Any]) -> Callable[..., Any]:
            self._add(target, name, force)
            return target

        return decorator

    def _add(self, obj: Callable[..., Any], name: str | None, force: bool) -> None:
        if not callable(obj):
            raise RegistryError(
                f"cannot register {obj!r} as a {self.name}: not a class or function"
            )
        key = name if name is not None else getattr(obj, "__name__", None)
        if not isinstance(key, str):
            raise RegistryError(f"cannot register {obj!r} as a {self.name}: give it a name")
        if key in self._entries and not force:
            existing = self._entries[key]
            raise RegistryError(
                f"'{key}' is already a registered {self.name} "
                f"({existing.__module__}.{existing.__qualname__}); pass force=True to replace it"
            )
        self._entries[key] = obj

    def get(self, name: str) -> Callable[..., Any]:
        """The class registered as ``name`` here or in a parent; a RegistryError suggesting
        close names otherwise."""
        if name in self._entries:
            return self._entries[name]
        if self.parent is not None and name in self.parent:
            return self.parent.get(name)
        raise RegistryError(self._unknown_name_message(name))

    def _all_names(self) -> list[str]:
        inherited = self.parent._all_names() if self.parent is not None else []
        return self.names() + [n for n in inherited if n not in self._entries]

    def _unknown_name_message(self, name: str) -> str:
        names = self._all_names()
        by_lower = {n.lower(): n for n in names}
        close = difflib.get_close_matches(name.lower(), list(by_lower), n=3)
        message = f"'{name}' is not a registered {self.name}"
        if close:
            message += f"; did you mean {' or '.join(repr(by_lower[c]) for c in close)}?"
        return message + f" (registered: {', '.join(names) or 'none'})"

    def build(self, cfg: Mapping[str, Any], **default_args: Any) -> Any:
        """Build ``cfg['type']`` (a registered name, or a class used directly) with the other
        keys of ``cfg`` as keyword arguments; ``default_args`` fill keys ``cfg`` lacks.

        ``cfg`` itself is never modified. Arguments the constructor's signature does not
        accept are reported as a RegistryError naming the type and the argument; errors raised
        while the constructor runs propagate unchanged.
        """
        if not isinstance(cfg, Mapping):
            raise RegistryError(
                f"cannot build a {self.name} from {cfg!r}: expected a dict with a 'type' key"
            )
        args = dict(cfg)
        for key, value in default_args.items():
            args.setdefault(key, value)
        if "type" not in args:
            raise RegistryError(f"cannot build a {self.name} from {dict(cfg)!r}: no 'type' key")
        kind = args.pop("type")
        if isinstance(kind, str):
            target, label = self.get(kind), kind
        elif callable(kind):
            target, label = kind, getattr(kind, "__name__", repr(kind))
        else:
            raise RegistryError(
                f"cannot build a {self.name} from {dict(cfg)!r}: 'type' must be a registered "
                f"name or a class, got {kind!r}"
            )
        problem = _argument_problem(target, args)
        if problem:
            raise RegistryError(f"{label} {problem} (building a {self.name} from {dict(cfg)!r})")
        return target(**args)


def _argument_problem(target: Callable[..., Any], args: dict[str, Any]) -> str | None:
    """Why ``target(**args)`` cannot bind to the target's signature, or None if it can.

    Checking before the call separates a config's wrong keyword from a TypeError raised
    inside the constructor, which must not be disguised.
    """
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # no introspectable signature: let the call decide
        return None
    try:
        signature.bind(**args)
    except TypeError as exc:
        params = signature.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return str(exc)
        accepted = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        unknown = [key for key in args if key not in accepted]
        if not unknown:
            return str(exc)
        return "; ".join(_unexpected_keyword(key, accepted) for key in unknown)
    return None


def _unexpected_keyword(key: str, accepted: list[str]) -> str:
    message = f"got an unexpected keyword argument '{key}'"
    close = difflib.get_close_matches(key, accepted, n=3)
    if close:
        message += f" (did you mean {' or '.join(repr(c) for c in close)}?)"
    return message

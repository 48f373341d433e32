"""Python config files in the PYSKL / mmcv style, read without mmcv.

A config file is Python source made of plain assignments (``model = dict(type=..., ...)``).
:meth:`Config.fromfile` runs it (it is the user's own code, exactly as mmcv treats it) and keeps
its public top-level names. A file may inherit from others with ``_base_ = 'base.py'`` (or a
list of files, relative to the file): the child's values override the bases' key by key inside
nested dicts, and a child dict holding ``_delete_=True`` replaces the base's dict outright.

Values are reachable as attributes or items at any depth (``cfg.model.backbone.graph_cfg``);
a missing key raises :class:`~skel_core.errors.ConfigKeyError` naming its dotted path and the
closest existing keys. Command-line overrides (``--cfg-options a.b=1 c=[1,2]``) are parsed by
:mod:`skel_core.cfg_options` and applied with :meth:`Config.merge_from_dict`.
:meth:`Config.dump` writes a config file that reads back to an equal config.
"""

from __future__ import annotations

import copy
import difflib
import keyword
import math
import os
import traceback
import types
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from skel_core.errors import ConfigError, ConfigKeyError

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"
_LINE_WIDTH = 100
_INDENT = 4


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


class ConfigDict(dict):
    """A dict whose keys also read as attributes; nested dicts (also inside lists) are
    ConfigDicts too, and each knows its dotted path so that errors can name it.

    Keys that are also dict method names (``keys``, ``items``, ``copy``, ``update``...) must be
    read as items: ``cfg.train_pipeline[5]['keys']``. Assigning a plain dict or list stores a
    converted copy; assigning a ConfigDict stores that very object.
    """

    def __init__(self, data: Mapping[Any, Any] | Iterable[tuple[Any, Any]] = (), /, **kwargs: Any):
        super().__init__()
        self.__dict__["_path"] = ""
        self.update(data, **kwargs)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, _wrap(value, _join(self._path, key)))

    def __missing__(self, key: Any) -> Any:
        raise ConfigKeyError(_missing_key_message(self, key))

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise ConfigKeyError(_missing_key_message(self, key))
        super().__delitem__(key)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # protocol probes (copy, pickle, numpy...) are not keys
            raise AttributeError(name)
        return self[name]

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        del self[name]

    def __reduce__(self) -> tuple[Any, ...]:
        # One hook serves pickle, copy.copy and copy.deepcopy (which deep-copies the args).
        return (_config_dict_at, (dict(self), self._path))

    def __ior__(self, other: Any) -> ConfigDict:
        self.update(other)
        return self

    def update(self, other: Any = (), /, **kwargs: Any) -> None:
        for key, value in dict(other, **kwargs).items():
            self[key] = value

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]

    def copy(self) -> ConfigDict:
        """A shallow copy (nested ConfigDicts are shared)."""
        return copy.copy(self)

    def to_dict(self) -> dict[Any, Any]:
        """The same tree made of plain dicts, lists and tuples."""
        return _unwrap(self)


def _config_dict_at(items: Mapping[Any, Any], path: str) -> ConfigDict:
    node = ConfigDict()
    node.__dict__["_path"] = path
    node.update(items)
    return node


def _wrap(value: Any, path: str) -> Any:
    """value as stored at ``path`` in a config: dicts become ConfigDicts, lists are copied."""
    if isinstance(value, ConfigDict):
        _relabel(value, path)
        return value
    if isinstance(value, Mapping):
        return _config_dict_at(value, path)
    if isinstance(value, list):
        return [_wrap(item, _join(path, i)) for i, item in enumerate(value)]
    if type(value) is tuple:  # not namedtuples: their constructors differ
        return tuple(_wrap(item, _join(path, i)) for i, item in enumerate(value))
    return value


def _relabel(value: Any, path: str) -> None:
    """Give an already wrapped value (moved to a new place) the dotted path of that place."""
    if isinstance(value, ConfigDict):
        value.__dict__["_path"] = path
        for key, item in value.items():
            _relabel(item, _join(path, key))
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _relabel(item, _join(path, i))


def _unwrap(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    if type(value) is tuple:
        return tuple(_unwrap(item) for item in value)
    return value


def _missing_key_message(node: ConfigDict, key: Any) -> str:
    keys = [str(k) for k in node]
    message = f"config has no key '{_join(node._path, key)}'"
    close = difflib.get_close_matches(str(key), keys, n=3)
    if close:
        message += f"; did you mean {' or '.join(repr(k) for k in close)}?"
    where = f"'{node._path}'" if node._path else "the top level"
    return message + f" (keys at {where}: {', '.join(keys) or 'none'})"


def _override(new: Any, old: Any) -> Any:
    """The value ``new`` leaves when it overrides ``old``.

    Dicts merge key by key, recursively, unless ``new`` holds ``_delete_=True``; anything else
    (lists included) replaces ``old``. ``_delete_`` keys never survive into the result.
    """
    if not isinstance(new, Mapping):
        return new
    keep_old = isinstance(old, Mapping) and not new.get(DELETE_KEY, False)
    merged = dict(old) if keep_old else {}
    for key, value in new.items():
        if key != DELETE_KEY:
            merged[key] = _override(value, merged.get(key))
    return merged


# --- reading config files -----------------------------------------------------------------


def _is_config_value(name: str, value: Any) -> bool:
    """Whether a top-level name of an executed config file is part of the config."""
    helpers = (types.ModuleType, types.FunctionType, types.BuiltinFunctionType, type)
    return not name.startswith("_") and not isinstance(value, helpers)


def _execute(text: str, label: str) -> dict[str, Any]:
    """Run config source in a fresh namespace; errors name the file and line."""
    try:
        code = compile(text, label, "exec")
    except SyntaxError as exc:
        source_line = (exc.text or "").strip()
        shown = f"\n    {source_line}" if source_line else ""
        message = f"{label}, line {exc.lineno}: invalid config syntax: {exc.msg}{shown}"
        raise ConfigError(message) from None
    namespace: dict[str, Any] = {"__file__": label, "__name__": "__skel_config__"}
    try:
        exec(code, namespace)
    except Exception as exc:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == label]
        where = f"{label}, line {lines[-1]}" if lines else label
        message = f"{where}: {type(exc).__name__} while running the config: {exc}"
        raise ConfigError(message) from exc
    return namespace


def _evaluate(text: str, label: str, base_dir: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    """The config values defined by ``text``, merged over those of its ``_base_`` files."""
    namespace = _execute(text, label)
    own = {name: value for name, value in namespace.items() if _is_config_value(name, value)}
    if BASE_KEY not in namespace:
        return _override(own, {})
    return _override(own, _load_bases(namespace[BASE_KEY], label, base_dir, chain))


def _load_bases(spec: Any, label: str, base_dir: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    names = [spec] if isinstance(spec, str) else spec
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{label}: _base_ must be a file name or a list of them, got {spec!r}")
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for name in names:
        path = base_dir / name
        if not path.is_file():
            raise ConfigError(f"{label}: base config '{name}' not found (looked for {path})")
        values = _read_file(path, chain)
        for key in values:
            if key in origin:
                raise ConfigError(
                    f"{label}: key '{key}' is defined by two of its base configs, {origin[key]} "
                    f"and {path}; a top-level key may come from one base only"
                )
            origin[key] = path
        merged.update(values)
    return merged


def _read_file(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path.suffix != ".py":
        raise ConfigError(f"{path}: only Python (.py) config files are supported")
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ConfigError(f"circular _base_ inheritance: {cycle}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    return _evaluate(text, str(path), path.parent, (*chain, resolved))


# --- writing config files -----------------------------------------------------------------


def _is_keyword_name(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _literal(value: Any, path: str, strict: bool) -> str:
    if value is None or type(value) in (bool, int, str, bytes):
        return repr(value)
    if type(value) is float:
        return repr(value) if math.isfinite(value) else f"float('{value!r}')"
    if strict:
        raise ConfigError(
            f"cannot dump config key '{path}': its {type(value).__name__} value "
            f"{value!r:.80} has no Python literal form"
        )
    return repr(value)


def _flat_source(value: Any, path: str, strict: bool) -> str:
    """value as Python source on one line."""
    if isinstance(value, Mapping):
        if all(_is_keyword_name(k) for k in value):
            items = [f"{k}={_flat_source(v, _join(path, k), strict)}" for k, v in value.items()]
            return f"dict({', '.join(items)})"
        items = [
            f"{_flat_source(k, path, strict)}: {_flat_source(v, _join(path, k), strict)}"
            for k, v in value.items()
        ]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list) or type(value) is tuple:
        items = [_flat_source(v, _join(path, i), strict) for i, v in enumerate(value)]
        if isinstance(value, list):
            return f"[{', '.join(items)}]"
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    return _literal(value, path, strict)


def _source(value: Any, path: str, used: int, indent: int, strict: bool) -> str:
    """value as Python source, split one item per line when it does not fit after ``used``
    columns; ``indent`` is the indentation of the line it starts on."""
    flat = _flat_source(value, path, strict)
    is_container = isinstance(value, (Mapping, list)) or type(value) is tuple
    if used + len(flat) < _LINE_WIDTH or not is_container or not value:
        return flat
    inner = indent + _INDENT
    if isinstance(value, Mapping) and all(_is_keyword_name(k) for k in value):
        opening, closing = "dict(", ")"
        items = [
            f"{k}=" + _source(v, _join(path, k), inner + len(k) + 1, inner, strict)
            for k, v in value.items()
        ]
    elif isinstance(value, Mapping):
        opening, closing = "{", "}"
        items = []
        for k, v in value.items():
            key = _flat_source(k, path, strict)
            items.append(
                f"{key}: " + _source(v, _join(path, k), inner + len(key) + 2, inner, strict)
            )
    else:
        opening, closing = ("[", "]") if isinstance(value, list) else ("(", ")")
        items = [_source(v, _join(path, i), inner, inner, strict) for i, v in enumerate(value)]
    body = "".join(f"{' ' * inner}{item},\n" for item in items)
    return f"{opening}\n{body}{' ' * indent}{closing}"


def _config_source(values: Mapping[str, Any], strict: bool) -> str:
    lines = []
    for key, value in values.items():
        if strict and (not _is_keyword_name(key) or key.startswith("_")):
            raise ConfigError(f"cannot dump config key {key!r}: a config file cannot define it")
        lines.append(f"{key} = {_source(value, key, len(key) + 3, 0, strict)}")
    return "".join(f"{line}\n" for line in lines)


# --- overrides ----------------------------------------------------------------------------


def _list_index(node: list | tuple, part: str, path: str, dotted: str) -> int:
    try:
        index = int(part)
    except ValueError:
        raise ConfigError(
            f"cannot set '{dotted}': '{path}' is a list, so '{part}' must be an integer index"
        ) from None
    if not -len(node) <= index < len(node):
        raise ConfigError(
            f"cannot set '{dotted}': index {index} is out of range for the list at '{path}' "
            f"({len(node)} items)"
        )
    return index


def _set_dotted(root: ConfigDict, dotted: str, value: Any) -> None:
    """Apply one ``a.b.0.c = value`` override; dict keys on the way are created if missing."""
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(f"config override key '{dotted}' has an empty component")
    node: Any = root
    for depth, part in enumerate(parts[:-1]):
        path = ".".join(parts[:depth])
        if isinstance(node, Mapping):
            if part not in node:
                node[part] = {}
            node = node[part]
        else:
            node = node[_list_index(node, part, path, dotted)]
        if not isinstance(node, (Mapping, list, tuple)):
            raise ConfigError(
                f"cannot set '{dotted}': '{'.'.join(parts[: depth + 1])}' holds "
                f"{type(node).__name__} value {node!r:.60}, not a dict or a list"
            )
    leaf, path = parts[-1], ".".join(parts[:-1])
    if isinstance(node, Mapping):
        node[leaf] = _override(value, node.get(leaf))
    elif isinstance(node, list):
        index = _list_index(node, leaf, path, dotted)
        node[index] = _wrap(_override(value, node[index]), _join(path, index))
    else:
        raise ConfigError(f"cannot set '{dotted}': '{path}' is a tuple, which cannot be changed")


# --- the config object --------------------------------------------------------------------


class Config:
    """A config: its top-level values (a :class:`ConfigDict`) and the file it came from.

    Attribute and item access, ``in``, iteration, ``len``, ``get``, ``keys``/``items`` and
    ``==`` behave as on the underlying dict; ``filename`` is ``None`` unless read from a file.
    """

    def __init__(
        self, cfg_dict: Mapping[str, Any] | None = None, filename: str | os.PathLike | None = None
    ):
        cfg_dict = {} if cfg_dict is None else cfg_dict
        if not isinstance(cfg_dict, Mapping):
            raise ConfigError(f"a Config is made from a dict, got {type(cfg_dict).__name__}")
        bad = [key for key in cfg_dict if not isinstance(key, str)]
        if bad:
            raise ConfigError(f"top-level config keys must be strings, got {bad!r}")
        object.__setattr__(self, "_cfg_dict", _config_dict_at(cfg_dict, ""))
        object.__setattr__(self, "filename", None if filename is None else str(filename))

    @classmethod
    def fromfile(cls, filename: str | os.PathLike) -> Config:
        """Run a Python config file (and its ``_base_`` files) and collect its values."""
        path = Path(filename)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return cls(_read_file(path), filename=path)

    @classmethod
    def fromstring(cls, text: str, suffix: str = ".py") -> Config:
        """A config from Python source text; ``_base_`` paths are relative to the working
        directory. ``suffix`` exists for mmcv compatibility and must be ``.py``."""
        if suffix != ".py":
            raise ConfigError(f"only Python config text is supported, got suffix {suffix!r}")
        return cls(_evaluate(text, "<string>", Path.cwd(), ()))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_cfg_dict":
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        del self._cfg_dict[name]

    def __getitem__(self, key: str) -> Any:
        return self._cfg_dict[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._cfg_dict[key] = value

    def __delitem__(self, key: str) -> None:
        del self._cfg_dict[key]

    def __contains__(self, key: object) -> bool:
        return key in self._cfg_dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._cfg_dict == other._cfg_dict
        if isinstance(other, Mapping):
            return self._cfg_dict == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like dict

    def __repr__(self) -> str:
        return f"Config(filename={self.filename!r}, {dict.__repr__(self._cfg_dict)})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Serves pickle, copy.copy (nested values shared) and copy.deepcopy (independent).
        return (Config, (self._cfg_dict, self.filename))

    def copy(self) -> Config:
        """A shallow copy: a new top level whose nested values are shared."""
        return copy.copy(self)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain dicts, lists and tuples."""
        return self._cfg_dict.to_dict()

    def merge_from_dict(self, options: Mapping[str, Any]) -> None:
        """Apply overrides keyed by dotted paths, e.g. ``{'model.backbone.in_channels': 2,
        'data.train.pipeline.0.type': 'X'}``.

        Integer components index into lists (out of range is an error); missing dict keys are
        created; a dict value merges into an existing dict key by key (``_delete_=True``
        replaces it instead), any other value replaces what was there.
        """
        for dotted, value in options.items():
            _set_dotted(self._cfg_dict, dotted, value)

    @property
    def pretty_text(self) -> str:
        """The config as Python source, for reading (values without a literal form are shown
        with their repr; :meth:`dump` refuses those)."""
        return _config_source(self._cfg_dict, strict=False)

    def dump(self, path: str | os.PathLike | None = None) -> str:
        """Write the config as a Python config file that :meth:`fromfile` reads back to an
        equal config, and return that text (only return it when ``path`` is None).

        Raises ConfigError naming the key of any value that cannot be written as a literal.
        """
        text = _config_source(self._cfg_dict, strict=True)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

"""A memory-mappable copy of an annotation pickle, so DataLoader workers share one copy.

A PYSKL pickle must be unpickled whole (NTU-120's 2D HRNet file is about 1.7 GB), and a Python
list of records held by a dataset is copied into every worker process that touches it (each
access writes reference counts; a spawned worker unpickles the whole list). The packed layout
is converted once and then read through ``np.load(mmap_mode='r')``: every process maps the
same page cache, and a dataset built on it pickles to a few hundred bytes.

A pack is a directory ``<pickle name>.<key>.skelpack`` beside the pickle (or in ``cache_dir``,
or in ``$XDG_CACHE_HOME/skel/packed`` when the pickle's folder is read-only). ``key`` hashes
the pickle's resolved path, size and modification time and the format version, so an edited
pickle gets a new pack and the stale one is removed. The directory is built under a temporary
name, each file written with :func:`skel_core.atomic.atomic_write`, and renamed into place
last: a pack exists complete or not at all. It holds:

====================  ==========================================================================
``keypoint.npy``      (R, V, C): every record's (M, T, V, C) keypoints as M*T rows, file order
``keypoint_score``    ``.npy``, (R, V), when any record has scores
``offsets.npy``       (N + 1,) int64: record i's rows are ``offsets[i]:offsets[i+1]``
``shapes.npy``        (N, 2) int64: (M, T) of each record; (-1, -1) where it has no keypoints
``has_score.npy``     (N,) bool
``dtypes.npy``        (N, 2) unicode: each record's keypoint and score dtypes, restored on reading
``labels.npy``        (N,) int64 (-1 where a record has no integer label)
``frame_dirs.npy``    (N,) unicode
``meta.bin``          every other key of each record, pickled (read back with the safe loader)
``meta_offsets.npy``  (N + 1,) int64 into ``meta.bin``
``split.json``, ``problems.json``, ``manifest.json`` (the format version, the source, V, C)
====================  ==========================================================================

Arrays are stored in the widest dtype of the file and read back in each record's own dtype
(float16 stays float16).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import secrets
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skel_core.annotations import Split, load_annotations
from skel_core.atomic import atomic_write
from skel_core.errors import CorruptFileError
from skel_core.safe_pickle import safe_loads

from .records import MISSING, check_records, keypoint_shape, usable_score

FORMAT_VERSION = 1
_SUFFIX = ".skelpack"
_ARRAY_KEYS = ("keypoint", "keypoint_score")


def user_cache_dir() -> Path:
    """Where packs go when the pickle's own folder is read-only."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "skel" / "packed"


def pack_location(ann_file: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> Path:
    """The directory the pack of ``ann_file`` has (or will have)."""
    source = Path(ann_file).resolve()
    stat = source.stat()
    key = hashlib.sha256(
        f"{source}|{stat.st_size}|{stat.st_mtime_ns}|{FORMAT_VERSION}".encode()
    ).hexdigest()[:16]
    if cache_dir is not None:
        root = Path(cache_dir)
    else:
        root = source.parent if os.access(source.parent, os.W_OK) else user_cache_dir()
    return root / f"{source.name}.{key}{_SUFFIX}"


def pack_annotations(
    ann_file: str | os.PathLike, cache_dir: str | os.PathLike | None = None
) -> Path:
    """Convert ``ann_file`` to the packed layout unless an up-to-date pack exists; return it.

    The pickle is read with the safe loader. Records are checked (see :mod:`skel_data.records`)
    and every problem is stored with the pack, not raised: the dataset decides what to do.
    """
    target = pack_location(ann_file, cache_dir)
    if (target / "manifest.json").is_file():
        return target
    content = load_annotations(ann_file, validate=False)
    source = str(Path(ann_file).resolve())
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    building.mkdir()
    try:
        _write_pack(building, content.annotations, content.split, source)
        try:
            os.rename(building, target)
        except OSError:
            if not (target / "manifest.json").is_file():
                raise
            shutil.rmtree(building)  # another process finished the same pack first
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _remove_stale_packs(target, source)
    return target


def _remove_stale_packs(current: Path, source: str) -> None:
    """Delete older packs of the same pickle (same source path, another key) beside ``current``."""
    prefix = f"{Path(source).name}."
    for other in current.parent.iterdir():
        if other == current or not (other.name.startswith(prefix)
                                    and other.name.endswith(_SUFFIX)):
            continue
        try:
            if json.loads((other / "manifest.json").read_text())["source"] == source:
                shutil.rmtree(other)
        except (OSError, ValueError, KeyError):
            continue  # not a complete pack of ours: leave it alone


def _float_type(dtypes: Iterable[np.dtype]) -> np.dtype:
    dtypes = list(dtypes)
    kind = np.result_type(*dtypes) if dtypes else np.dtype(np.float32)
    return kind if kind.kind == "f" else np.dtype(np.float32)


def _write_pack(directory: Path, records: list, split: Split | None, source: str) -> None:
    problems, joint_shape = check_records(records)
    shapes = np.full((len(records), 2), -1, dtype=np.int64)
    has_score = np.zeros(len(records), dtype=bool)
    dtypes = np.full((len(records), 2), "", dtype="U8")
    for i, record in enumerate(records):
        shape = keypoint_shape(record)
        if shape is not None and shape[2:] == joint_shape:
            shapes[i] = shape[:2]
            has_score[i] = usable_score(record, shape)
            dtypes[i] = (record["keypoint"].dtype.str,
                         record["keypoint_score"].dtype.str if has_score[i] else "")
    packed = np.flatnonzero(shapes[:, 0] >= 0)
    rows = np.where(shapes[:, 0] >= 0, shapes[:, 0] * shapes[:, 1], 0)
    offsets = np.concatenate([[0], np.cumsum(rows)]).astype(np.int64)
    v, c = joint_shape or (0, 0)
    kp_dtype = _float_type(records[i]["keypoint"].dtype for i in packed)
    _write_npy(directory / "keypoint.npy", kp_dtype, (int(offsets[-1]), v, c),
               (records[i]["keypoint"].reshape(-1, v, c) for i in packed))
    if has_score.any():
        scored = np.flatnonzero(has_score)
        score_dtype = _float_type(records[i]["keypoint_score"].dtype for i in scored)
        scores = (records[i]["keypoint_score"].reshape(-1, v) if has_score[i]
                  else np.zeros((rows[i], v)) for i in packed)
        _write_npy(directory / "keypoint_score.npy", score_dtype, (int(offsets[-1]), v), scores)
    blobs = [pickle.dumps(_meta(r), protocol=4) for r in records]
    meta_offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    with atomic_write(directory / "meta.bin") as file:
        for blob in blobs:
            file.write(blob)
    labels = [r.get("label") if isinstance(r, dict) else None for r in records]
    frame_dirs = [r.get("frame_dir") if isinstance(r, dict) else None for r in records]
    small = {
        "offsets": offsets,
        "shapes": shapes,
        "has_score": has_score,
        "dtypes": dtypes,
        "labels": np.array([x if _is_int(x) else -1 for x in labels], dtype=np.int64),
        "frame_dirs": np.array([x if isinstance(x, str) else f"annotation #{i}"
                                for i, x in enumerate(frame_dirs)], dtype=np.str_),
        "meta_offsets": meta_offsets,
    }
    for name, array in small.items():
        with atomic_write(directory / f"{name}.npy") as file:
            np.save(file, array)
    _write_json(directory / "split.json", split)
    _write_json(directory / "problems.json", {str(i): lines for i, lines in problems.items()})
    _write_json(directory / "manifest.json", {
        "format": FORMAT_VERSION,
        "source": source,
        "num_records": len(records),
        "joint_shape": list(joint_shape) if joint_shape else None,
    })


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _meta(record: Any) -> dict:
    if not isinstance(record, dict):
        return {}
    return {k: v for k, v in record.items() if k not in _ARRAY_KEYS}


def _write_json(path: Path, value: Any) -> None:
    with atomic_write(path) as file:
        file.write(json.dumps(value).encode())


def _write_npy(path: Path, dtype: np.dtype, shape: tuple[int, ...], chunks: Iterator) -> None:
    """Write an .npy file of ``shape`` from row chunks, without holding it all in memory."""
    expected = int(np.prod(shape)) * dtype.itemsize
    written = 0
    with atomic_write(path) as file:
        header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                  "shape": shape}
        np.lib.format.write_array_header_2_0(file, header)
        for chunk in chunks:
            data = np.ascontiguousarray(chunk, dtype=dtype).tobytes()
            file.write(data)
            written += len(data)
    if written != expected:  # a bug here, not bad input: the rows were counted from the same data
        raise RuntimeError(f"{path}: wrote {written} bytes of array data, expected {expected}")


class PackedAnnotations:
    """The records of a pack, read per sample from memory-mapped arrays.

    Arrays are opened lazily in each process; pickling (to spawn a DataLoader worker) sends
    only the directory.
    """

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        manifest = self._read_json("manifest.json")
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
            raise CorruptFileError(f"{self.directory}: not a skel pack of format "
                                   f"{FORMAT_VERSION} (manifest: {manifest!r}); delete it to "
                                   f"rebuild it")
        self.source: str = manifest["source"]
        self.num_records: int = manifest["num_records"]
        shape = manifest["joint_shape"]
        self.joint_shape = tuple(shape) if shape else None
        self._arrays: dict[str, np.ndarray] | None = None

    @classmethod
    def from_file(
        cls, ann_file: str | os.PathLike, cache_dir: str | os.PathLike | None = None
    ) -> PackedAnnotations:
        """The pack of ``ann_file``, built first if needed (see :func:`pack_annotations`)."""
        return cls(pack_annotations(ann_file, cache_dir))

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": None}

    def __len__(self) -> int:
        return self.num_records

    def _read_json(self, name: str) -> Any:
        path = self.directory / name
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise CorruptFileError(f"{path}: unreadable pack file ({error}); delete "
                                   f"{self.directory} to rebuild it") from error

    @property
    def _data(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            names = ["keypoint", "offsets", "shapes", "has_score", "dtypes", "labels",
                     "frame_dirs", "meta_offsets"]
            if (self.directory / "keypoint_score.npy").exists():
                names.append("keypoint_score")
            arrays = {name: self._open(self.directory / f"{name}.npy") for name in names}
            arrays["meta"] = self._open_blob(self.directory / "meta.bin")
            self._arrays = arrays
        return self._arrays

    @staticmethod
    def _open(path: Path) -> np.ndarray:
        try:
            return np.load(path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise CorruptFileError(f"{path}: unreadable pack array ({error}); delete "
                                   f"{path.parent} to rebuild it") from error

    @staticmethod
    def _open_blob(path: Path) -> np.ndarray:
        if path.stat().st_size == 0:
            return np.zeros(0, dtype=np.uint8)
        return np.memmap(path, dtype=np.uint8, mode="r")

    @property
    def split(self) -> Split | None:
        """The pickle's split (read from disk on each access; it can be large)."""
        return self._read_json("split.json")

    @property
    def problems(self) -> dict[int, list[str]]:
        """What is wrong with each record, by index (see :mod:`skel_data.records`)."""
        return {int(i): lines for i, lines in self._read_json("problems.json").items()}

    @property
    def labels(self) -> np.ndarray:
        return self._data["labels"]

    @property
    def frame_dirs(self) -> np.ndarray:
        return self._data["frame_dirs"]

    def _meta(self, index: int) -> dict:
        start, stop = self._data["meta_offsets"][index:index + 2]
        blob = self._data["meta"][start:stop].tobytes()
        return safe_loads(blob, source=f"{self.directory / 'meta.bin'} (record #{index})")

    def record(self, index: int) -> dict:
        """Record ``index`` as the pickle held it, its arrays copied out of the pack in their
        original dtypes."""
        if not 0 <= index < self.num_records:
            raise IndexError(f"{self.directory}: record {index} out of range "
                             f"[0, {self.num_records})")
        record = self._meta(index)
        m, t = (int(n) for n in self._data["shapes"][index])
        if m >= 0:
            start, stop = self._data["offsets"][index:index + 2]
            kp_dtype, score_dtype = (str(d) for d in self._data["dtypes"][index])
            record["keypoint"] = np.array(self._data["keypoint"][start:stop],
                                          dtype=kp_dtype).reshape(m, t, *self.joint_shape)
            if self._data["has_score"][index]:
                record["keypoint_score"] = np.array(self._data["keypoint_score"][start:stop],
                                                    dtype=score_dtype).reshape(m, t, -1)
        return record

    def values(self, keys: Sequence[str], indices: Sequence[int]) -> list[tuple]:
        """``(record[key] for key in keys)`` of each record in ``indices`` (keys other than the
        keypoint arrays); :data:`~skel_data.records.MISSING` where a record lacks a key."""
        values = []
        for i in indices:
            meta = self._meta(i)
            values.append(tuple(meta.get(key, MISSING) for key in keys))
        return values

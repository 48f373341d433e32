"""NTU RGB+D 60 / 120 raw ``.skeleton`` files -> a 3D annotation pickle (layout ``nturgb+d``).

A ``.skeleton`` file is text: the frame count, then for each frame its body count and, for each
body, a line of 10 values (the first is the Kinect body ID), a joint count (25) and one line per
joint of 12 values (x y z in metres, depth x y, colour x y, orientation w x y z, tracking state).
Only x y z are kept.

From the tracked bodies of a clip at most two persons are kept, as PYSKL's
``tools/data/ntu_preproc.py`` does (the procedure of CTR-GCN's NTU denoising):

1. frames without any body are dropped;
2. each body ID is a track; its *motion* is the summed per-axis variance of all its joints;
3. with several tracks, those seen in at most 11 frames are noise, and so are those whose
   skeleton is wider than 0.8 x its height in at least 69.754 % of their frames (for the
   tracks kept, motion is lowered to that of their plausible frames when that is smaller);
4. tracks, by decreasing motion, go to person 0 when their frame span does not overlap the
   spans already there, else likewise to person 1, else they are left out;
5. frames at the start and end where no person is present are cut, and the persons swap when
   only person 1 is present in the first frame.

A single remaining track gives M = 1, otherwise M = 2; frames where a person is absent are
zeros (the "missing" convention for 3D keypoints). Two deliberate differences from PYSKL: a
track is placed at the frames it was actually seen in (PYSKL assumes a track's frames are
consecutive), and person 1's span starts empty (PYSKL starts it at frame 0, which can turn away a
track that ends before the first one placed there). Where every track would be noise, the
noise filters are not applied (PYSKL stops with an assertion there).

Labels are the action number minus one. The splits use the file names (SsssCcccPpppRrrrAaaa):
``xsub`` by the official training subjects, ``xview`` (NTU-60) with cameras 2 and 3 for
training, ``xset`` (NTU-120) with even setups for training; the held-out halves are ``*_val``
as in PYSKL's files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skel_core.annotations import Record, Split
from skel_core.errors import CorruptFileError

from .summary import ConversionLog, Summary, write_converted

NUM_JOINTS = 25
MAX_PERSONS = 2
NOISE_MAX_FRAMES = 11
"""A track seen in at most this many frames is noise (when the clip has other tracks)."""
SPREAD_RATIO = 0.8
"""A frame is implausible when the skeleton is wider than this times its height."""
NOISE_SPREAD_FRACTION = 0.69754
"""A track with at least this fraction of implausible frames is noise."""

# The NTU RGB+D papers' training subjects (the first 20 are NTU-60's).
TRAINING_SUBJECTS = frozenset({
    1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38,
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86,
    89, 91, 92, 93, 94, 95, 97, 98, 100, 103,
})
TRAINING_CAMERAS = frozenset({2, 3})
NUM_CLASSES = {"ntu60": 60, "ntu120": 120}

Frame = list[tuple[int, np.ndarray]]
"""The bodies of one frame: (Kinect body ID, (25, 3) float32 x y z)."""

_SAMPLE_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


@dataclass(frozen=True)
class NtuSample:
    """The recording conditions encoded in a sample name such as ``S001C002P003R002A013``."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @classmethod
    def from_name(cls, name: str, source: str | None = None) -> NtuSample:
        match = _SAMPLE_NAME.fullmatch(name)
        if match is None:
            raise CorruptFileError(f"{source or name}: {name!r} is not an NTU RGB+D sample name "
                                   f"(SsssCcccPpppRrrrAaaa, e.g. S001C001P001R001A001)")
        return cls(*(int(group) for group in match.groups()))


# benchmark -> whether a sample is in its training half
_BENCHMARKS: dict[str, Callable[[NtuSample], bool]] = {
    "xsub": lambda sample: sample.performer in TRAINING_SUBJECTS,
    "xview": lambda sample: sample.camera in TRAINING_CAMERAS,
    "xset": lambda sample: sample.setup % 2 == 0,
}
_DATASET_BENCHMARKS = {"ntu60": ("xsub", "xview"), "ntu120": ("xsub", "xset")}


def ntu_splits(names: Iterable[str], dataset: str) -> Split:
    """PYSKL's splits of ``dataset`` ('ntu60' or 'ntu120') over the sample ``names``."""
    if dataset not in _DATASET_BENCHMARKS:
        raise ValueError(f"dataset must be 'ntu60' or 'ntu120', got {dataset!r}")
    samples = [(name, NtuSample.from_name(name)) for name in names]
    split: Split = {}
    for benchmark in _DATASET_BENCHMARKS[dataset]:
        in_train = _BENCHMARKS[benchmark]
        split[f"{benchmark}_train"] = [name for name, sample in samples if in_train(sample)]
        split[f"{benchmark}_val"] = [name for name, sample in samples if not in_train(sample)]
    return split


class _Lines:
    """The lines of a ``.skeleton`` file, consumed in order; errors give the file and line."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.lines = path.read_text(encoding="ascii").splitlines()
        except UnicodeDecodeError as error:
            raise CorruptFileError(f"{path}: not a text .skeleton file ({error})") from None
        self.next = 0

    def take(self, count: int, what: str) -> list[str]:
        if self.next + count > len(self.lines):
            raise CorruptFileError(f"{self.path}: truncated: {what} expected at line "
                                   f"{len(self.lines) + 1} but the file ends")
        block = self.lines[self.next:self.next + count]
        self.next += count
        return block

    def integer(self, what: str) -> int:
        (line,) = self.take(1, what)
        try:
            return int(line)
        except ValueError:
            raise CorruptFileError(f"{self.path}: line {self.next}: {what} must be an integer, "
                                   f"got {line.strip()!r}") from None

    def body_id(self, what: str) -> int:
        (line,) = self.take(1, what)
        fields = line.split()
        try:
            return int(fields[0])
        except (IndexError, ValueError):
            raise CorruptFileError(f"{self.path}: line {self.next}: {what} must start with the "
                                   f"integer body ID, got {line.strip()!r}") from None

    def joints(self, what: str) -> np.ndarray:
        first = self.next + 1
        block = self.take(NUM_JOINTS, what)
        try:
            xyz = np.array([line.split()[:3] for line in block], dtype=np.float32)
        except ValueError:
            xyz = None
        if xyz is None or xyz.shape != (NUM_JOINTS, 3):
            raise CorruptFileError(f"{self.path}: lines {first}-{self.next}: {what}: expected "
                                   f"{NUM_JOINTS} lines starting with x y z numbers")
        return xyz

    def finish(self) -> None:
        rest = [k for k in range(self.next, len(self.lines)) if self.lines[k].strip()]
        if rest:
            raise CorruptFileError(f"{self.path}: line {rest[0] + 1}: unexpected content after "
                                   f"the last frame")


def read_skeleton_file(path: str | os.PathLike) -> list[Frame]:
    """The bodies of every frame of an NTU ``.skeleton`` file; CorruptFileError names the line."""
    lines = _Lines(Path(path))
    frames = []
    for f in range(lines.integer("frame count")):
        bodies: Frame = []
        for b in range(lines.integer(f"body count of frame {f}")):
            where = f"frame {f}, body {b}"
            body_id = lines.body_id(f"{where}: body line")
            count = lines.integer(f"{where}: joint count")
            if count != NUM_JOINTS:
                raise CorruptFileError(f"{path}: line {lines.next}: {where} has {count} joints; "
                                       f"NTU RGB+D bodies have {NUM_JOINTS}")
            bodies.append((body_id, lines.joints(f"{where}: joints")))
        frames.append(bodies)
    lines.finish()
    return frames


@dataclass
class _Track:
    """One Kinect body ID: the (non-empty) frames it is seen in and its joints there."""

    frames: np.ndarray
    joints: np.ndarray
    motion: float


def _motion(joints: np.ndarray) -> float:
    return float(np.var(joints.reshape(-1, 3).astype(np.float64), axis=0).sum())


def _tracks(frames: list[Frame]) -> tuple[list[_Track], int]:
    """The tracks of a clip, indexed over its non-empty frames, and how many frames were empty."""
    seen: dict[int, tuple[list[int], list[np.ndarray]]] = {}
    kept = 0
    for bodies in frames:
        if not bodies:
            continue
        for body_id, xyz in bodies:
            indices, joints = seen.setdefault(body_id, ([], []))
            indices.append(kept)
            joints.append(xyz)
        kept += 1
    tracks = []
    for indices, joints in seen.values():
        stacked = np.stack(joints)
        tracks.append(_Track(np.array(indices), stacked, _motion(stacked)))
    return tracks, len(frames) - kept


def _drop_noise(tracks: list[_Track]) -> list[_Track]:
    """Steps 3 of the module docstring; returns the kept tracks by decreasing motion."""
    if len(tracks) > 1:
        tracks = [t for t in tracks if len(t.frames) > NOISE_MAX_FRAMES] or tracks
    if len(tracks) > 1:
        plausible = []
        for track in tracks:
            width = np.ptp(track.joints[..., 0], axis=1)
            height = np.ptp(track.joints[..., 1], axis=1)
            ok = width <= SPREAD_RATIO * height
            if 1.0 - ok.mean() >= NOISE_SPREAD_FRACTION:
                continue
            if not ok.all():
                track.motion = min(track.motion, _motion(track.joints[ok]))
            plausible.append(track)
        tracks = plausible or tracks
    return sorted(tracks, key=lambda t: -t.motion)


def select_persons(frames: list[Frame], log: ConversionLog | None = None) -> np.ndarray | None:
    """The (M, T, 25, 3) float32 keypoints of a clip's (at most two) persons, or None when no
    frame holds a body. ``log`` counts the empty frames dropped and the tracks left out."""
    tracks, empty = _tracks(frames)
    if not tracks:
        return None
    kept = _drop_noise(tracks)
    num_persons = 1 if len(kept) == 1 else MAX_PERSONS
    num_frames = len(frames) - empty
    keypoint = np.zeros((num_persons, num_frames, NUM_JOINTS, 3), np.float32)
    present = np.zeros((num_persons, num_frames), bool)
    spans: list[tuple[int, int] | None] = [None] * num_persons
    placed = 0
    for track in kept:
        start, end = int(track.frames[0]), int(track.frames[-1]) + 1
        for person, span in enumerate(spans):
            if span is None or start >= span[1] or end <= span[0]:
                keypoint[person, track.frames] = track.joints
                present[person, track.frames] = True
                spans[person] = (start, end) if span is None else (min(start, span[0]),
                                                                  max(end, span[1]))
                placed += 1
                break
    occupied = np.flatnonzero(present.any(axis=0))
    first, last = occupied[0], occupied[-1] + 1
    keypoint, present = keypoint[:, first:last], present[:, first:last]
    if num_persons > 1 and not present[0, 0] and present[1, 0]:
        keypoint = keypoint[::-1]
    if log is not None:
        log.note("frames without any body (dropped)", empty)
        log.note("bodies dropped as noise (too short or implausibly wide)", len(tracks) - len(kept))
        log.note("bodies left out (both persons already present)", len(kept) - placed)
    return np.ascontiguousarray(keypoint)


def _excluded_names(exclude: Iterable[str] | str | os.PathLike | None) -> set[str]:
    if exclude is None:
        return set()
    if isinstance(exclude, (str, os.PathLike)):
        lines = Path(exclude).read_text().splitlines()
        exclude = [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]
    return {name.removesuffix(".skeleton") for name in exclude}


def convert_ntu(
    src: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    dataset: str = "auto",
    exclude: Iterable[str] | str | os.PathLike | None = None,
) -> Summary:
    """Convert a directory of NTU RGB+D ``.skeleton`` files (or one file) to ``out_path``.

    Args:
        src: the ``nturgb+d_skeletons`` directory, or a single ``.skeleton`` file.
        out_path: the annotation pickle to write (atomically).
        dataset: 'ntu60' (actions 1-60; xsub and xview splits), 'ntu120' (all actions; xsub
            and xset splits) or 'auto' ('ntu120' when any file has an action above 60).
        exclude: sample names to leave out: an iterable, or a text file with one name per
            line, such as the official ``NTU_RGBD120_samples_with_missing_skeletons.txt``
            (PYSKL's files leave those samples out).

    Returns the :class:`Summary`; clips without any body are skipped and counted there.
    """
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"NTU RGB+D skeletons not found: {src}")
    files = [src] if src.is_file() else sorted(src.glob("*.skeleton"))
    samples = [(path.stem, NtuSample.from_name(path.stem, str(path))) for path in files]
    if dataset == "auto":
        dataset = "ntu120" if any(sample.action > 60 for _, sample in samples) else "ntu60"
    if dataset not in NUM_CLASSES:
        raise ValueError(f"dataset must be 'auto', 'ntu60' or 'ntu120', got {dataset!r}")
    excluded = _excluded_names(exclude)
    log = ConversionLog()
    records: list[Record] = []
    for path, (name, sample) in zip(files, samples, strict=True):
        if name in excluded:
            log.skip(name, "listed in the exclude list")
        elif sample.action > NUM_CLASSES[dataset]:
            log.skip(name, f"action above {NUM_CLASSES[dataset]} (not in {dataset})")
        elif (keypoint := select_persons(read_skeleton_file(path), log)) is None:
            log.skip(name, "no body in any frame")
        else:
            records.append({"frame_dir": name, "label": sample.action - 1, "keypoint": keypoint,
                            "total_frames": keypoint.shape[1]})
    split = ntu_splits([record["frame_dir"] for record in records], dataset)
    return write_converted(out_path, records, split, log, dataset=dataset, layout="nturgb+d",
                           num_classes=NUM_CLASSES[dataset], source=src)

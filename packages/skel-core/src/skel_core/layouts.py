"""Skeleton layouts as values: joint names, bones, the graph centre and left/right symmetry.

A :class:`Layout` says everything the rest of skel needs to know about one skeleton format, so
that no code ever branches on a layout's name: the graph partitions (:mod:`skel_core.graph`),
bone features, horizontal flips and converters all read it from here.

``edges`` are the *inward* edges ``(child, parent)``, pointing toward ``center``. For the
layouts PYSKL has (``coco``, ``nturgb+d``, ``openpose``, ``handmp``) they are PYSKL's lists in
PYSKL's order, so graphs built from them are identical to PYSKL's. ``bone_pairs`` are the
``(joint, parent)`` pairs of bone features, again PYSKL's ``JointToBone`` lists where PYSKL has
them; they need not follow the graph edges (PYSKL's COCO bones hang the hips from the nose).

Layouts are looked up by name with :func:`get_layout`, which also accepts a :class:`Layout` or a
plain dict, so configs can describe a new skeleton inline; :func:`register_layout` adds one by
name.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skel_core.errors import LayoutError

Pair = tuple[int, int]


def _index(value: Any, what: str, layout: str) -> int:
    """``value`` as a Python int, refusing bools, floats and strings."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise LayoutError(f"layout {layout!r}: {what} must be an integer, got {value!r}")
    return int(value)


def _pairs(value: Any, what: str, layout: str) -> tuple[Pair, ...]:
    """``value`` as a tuple of integer pairs, naming the first entry that is not one."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise LayoutError(f"layout {layout!r}: {what} must be a list of pairs, got {value!r}")
    pairs = []
    for k, item in enumerate(value):
        if isinstance(item, (str, bytes)) or not isinstance(item, (Sequence, np.ndarray)) \
                or len(item) != 2:
            raise LayoutError(f"layout {layout!r}: {what}[{k}] must be a pair, got {item!r}")
        pairs.append((_index(item[0], f"{what}[{k}]", layout),
                      _index(item[1], f"{what}[{k}]", layout)))
    return tuple(pairs)


def _bfs_parents(num_joints: int, edges: Sequence[Pair], root: int) -> list[int]:
    """Parent of each joint on a shortest path to ``root`` (-1 where ``root`` is unreachable).

    Neighbours are visited in edge order, so for a tree whose edges point at ``root`` the parent
    of every joint is the far end of its own edge. ``root`` is its own parent.
    """
    adjacent: list[list[int]] = [[] for _ in range(num_joints)]
    for a, b in edges:
        adjacent[a].append(b)
        adjacent[b].append(a)
    parent = [-1] * num_joints
    parent[root] = root
    queue = deque([root])
    while queue:
        joint = queue.popleft()
        for other in adjacent[joint]:
            if parent[other] < 0:
                parent[other] = joint
                queue.append(other)
    return parent


@dataclass(frozen=True)
class Layout:
    """One skeleton format. Validated on construction; raises :class:`LayoutError` if wrong.

    Args:
        name: registry name, e.g. ``'coco'``.
        joints: joint names, in the order of the keypoint arrays.
        edges: inward edges ``(child, parent)`` pointing toward ``center``; the undirected
            graph they form must be connected, without self loops or repeated edges.
        center: the joint the inward edges converge on (used by ``stgcn_spatial``).
        flip_pairs: ``(left, right)`` joint pairs swapped by a horizontal flip; a joint may
            appear in at most one pair.
        bone_pairs: ``(joint, parent)`` pairs for bone features (``bone = x[joint] -
            x[parent]``), each joint exactly once as the first element. Left out, they are
            derived from ``edges``: every joint hangs from its neighbour one hop nearer the
            centre, and the centre from itself.
    """

    name: str
    joints: tuple[str, ...]
    edges: tuple[Pair, ...]
    center: int
    flip_pairs: tuple[Pair, ...] = ()
    bone_pairs: tuple[Pair, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise LayoutError(f"a layout needs a non-empty string name, got {self.name!r}")
        name = self.name
        if isinstance(self.joints, (str, bytes)) or not isinstance(self.joints, Sequence) \
                or not self.joints:
            raise LayoutError(f"layout {name!r}: joints must be a non-empty list of names, "
                              f"got {self.joints!r}")
        joints = tuple(self.joints)
        for k, joint in enumerate(joints):
            if not isinstance(joint, str) or not joint:
                raise LayoutError(f"layout {name!r}: joints[{k}] must be a non-empty string, "
                                  f"got {joint!r}")
        repeated = sorted({j for j in joints if joints.count(j) > 1})
        if repeated:
            raise LayoutError(f"layout {name!r}: repeated joint names {repeated}")
        num = len(joints)
        edges = _pairs(self.edges, "edges", name)
        center = _index(self.center, "center", name)
        flip_pairs = _pairs(self.flip_pairs, "flip_pairs", name)
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "flip_pairs", flip_pairs)

        self._check_range(edges, "edges")
        self._check_edges(edges)
        if not 0 <= center < num:
            raise LayoutError(f"layout {name!r}: center {center} is out of range 0..{num - 1}")
        parent = _bfs_parents(num, edges, center)
        cut_off = [joints[j] for j in range(num) if parent[j] < 0]
        if cut_off:
            raise LayoutError(f"layout {name!r}: the edges do not connect joints {cut_off} to "
                              f"the centre {joints[center]!r}")
        self._check_range(flip_pairs, "flip_pairs")
        self._check_flip_pairs(flip_pairs)

        if self.bone_pairs is None:
            bone_pairs = tuple((j, parent[j]) for j in range(num))
        else:
            bone_pairs = _pairs(self.bone_pairs, "bone_pairs", name)
            self._check_range(bone_pairs, "bone_pairs")
            self._check_bone_pairs(bone_pairs)
        object.__setattr__(self, "bone_pairs", bone_pairs)

    def _check_range(self, pairs: tuple[Pair, ...], what: str) -> None:
        last = len(self.joints) - 1
        for k, pair in enumerate(pairs):
            for joint in pair:
                if not 0 <= joint <= last:
                    raise LayoutError(f"layout {self.name!r}: {what}[{k}] {pair} has joint "
                                      f"{joint} out of range 0..{last}")

    def _check_edges(self, edges: tuple[Pair, ...]) -> None:
        seen: dict[frozenset[int], int] = {}
        for k, (a, b) in enumerate(edges):
            if a == b:
                raise LayoutError(f"layout {self.name!r}: edges[{k}] {(a, b)} is a self loop "
                                  f"(self links are added by the graph, not listed)")
            key = frozenset((a, b))
            if key in seen:
                raise LayoutError(f"layout {self.name!r}: edges[{k}] {(a, b)} repeats "
                                  f"edges[{seen[key]}] {edges[seen[key]]}")
            seen[key] = k

    def _check_flip_pairs(self, flip_pairs: tuple[Pair, ...]) -> None:
        first_seen: dict[int, int] = {}
        for k, pair in enumerate(flip_pairs):
            if pair[0] == pair[1]:
                raise LayoutError(f"layout {self.name!r}: flip_pairs[{k}] {pair} pairs joint "
                                  f"{pair[0]} with itself")
            for joint in pair:
                if joint in first_seen:
                    raise LayoutError(
                        f"layout {self.name!r}: flip_pairs[{k}] {pair} reuses joint {joint} "
                        f"({self.joints[joint]!r}) of flip_pairs[{first_seen[joint]}]")
                first_seen[joint] = k

    def _check_bone_pairs(self, bone_pairs: tuple[Pair, ...]) -> None:
        children = [child for child, _ in bone_pairs]
        repeated = sorted({c for c in children if children.count(c) > 1})
        missing = sorted(set(range(len(self.joints))) - set(children))
        if repeated or missing:
            raise LayoutError(f"layout {self.name!r}: bone_pairs must name every joint exactly "
                              f"once as the first element (repeated: {repeated}, missing: "
                              f"{missing})")

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def inward(self) -> tuple[Pair, ...]:
        """The edges, pointing toward the centre (PYSKL's ``inward``)."""
        return self.edges

    @property
    def outward(self) -> tuple[Pair, ...]:
        """The edges reversed, pointing away from the centre (PYSKL's ``outward``)."""
        return tuple((parent, child) for child, parent in self.edges)

    @property
    def neighbors(self) -> tuple[Pair, ...]:
        """Inward then outward edges: every edge in both directions (PYSKL's ``neighbor``)."""
        return self.edges + self.outward

    @property
    def left(self) -> list[int]:
        """Left-side joints, in flip-pair order."""
        return [left for left, _ in self.flip_pairs]

    @property
    def right(self) -> list[int]:
        """Right-side joints, in flip-pair order (``right[k]`` mirrors ``left[k]``)."""
        return [right for _, right in self.flip_pairs]

    @property
    def flip_index(self) -> np.ndarray:
        """Permutation with ``x_flipped[..., v, :] = x[..., flip_index[v], :]``; an involution."""
        index = np.arange(self.num_joints)
        for left, right in self.flip_pairs:
            index[left], index[right] = right, left
        return index

    @property
    def bone_parent(self) -> np.ndarray:
        """``bone_parent[v]`` is the parent of joint ``v`` in ``bone_pairs``.

        Bones of a whole array at once: ``x - x[..., bone_parent, :]``.
        """
        parent = np.empty(self.num_joints, dtype=np.int64)
        for child, par in self.bone_pairs:
            parent[child] = par
        return parent

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form, accepted back by :func:`get_layout` (for configs and metadata)."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "edges": [list(e) for e in self.edges],
            "center": self.center,
            "flip_pairs": [list(p) for p in self.flip_pairs],
            "bone_pairs": [list(p) for p in self.bone_pairs],
        }


_DICT_KEYS = ("name", "joints", "num_joints", "edges", "center", "flip_pairs", "bone_pairs")


def _layout_from_dict(spec: Mapping[str, Any]) -> Layout:
    name = spec.get("name", "custom")
    unknown = sorted(str(k) for k in spec if k not in _DICT_KEYS)
    if unknown:
        raise LayoutError(f"layout {name!r}: unknown key(s) {unknown}; a layout dict takes "
                          f"{', '.join(_DICT_KEYS)}")
    missing = [k for k in ("edges", "center") if k not in spec]
    if missing:
        raise LayoutError(f"layout {name!r}: the layout dict lacks {missing}")
    joints = spec.get("joints")
    if "num_joints" in spec:
        num = _index(spec["num_joints"], "num_joints", name)
        if num < 1:
            raise LayoutError(f"layout {name!r}: num_joints must be positive, got {num}")
        if joints is None:
            joints = [f"joint_{v}" for v in range(num)]
        elif not isinstance(joints, Sequence) or len(joints) != num:
            raise LayoutError(f"layout {name!r}: num_joints is {num} but joints lists "
                              f"{len(joints) if isinstance(joints, Sequence) else joints!r}")
    elif joints is None:
        raise LayoutError(f"layout {name!r}: the layout dict needs 'joints' or 'num_joints'")
    return Layout(name=name, joints=joints, edges=spec["edges"], center=spec["center"],
                  flip_pairs=spec.get("flip_pairs", ()), bone_pairs=spec.get("bone_pairs"))


COCO = Layout(
    name="coco",
    joints=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
            "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"),
    edges=((15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8),
           (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2)),
    center=0,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    bone_pairs=((0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7),
                (10, 8), (11, 0), (12, 0), (13, 11), (14, 12), (15, 13), (16, 14)),
)

# NTU RGB+D: the 25 Kinect v2 joints. PYSKL lists these edges 1-based; here they are 0-based.
NTU = Layout(
    name="nturgb+d",
    joints=("spine_base", "spine_mid", "neck", "head", "shoulder_left", "elbow_left",
            "wrist_left", "hand_left", "shoulder_right", "elbow_right", "wrist_right",
            "hand_right", "hip_left", "knee_left", "ankle_left", "foot_left", "hip_right",
            "knee_right", "ankle_right", "foot_right", "spine_shoulder", "hand_tip_left",
            "thumb_left", "hand_tip_right", "thumb_right"),
    edges=((0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8),
           (10, 9), (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16),
           (18, 17), (19, 18), (21, 7), (22, 7), (23, 11), (24, 11)),
    center=20,
    flip_pairs=((4, 8), (5, 9), (6, 10), (7, 11), (12, 16), (13, 17), (14, 18), (15, 19),
                (21, 23), (22, 24)),
    # PYSKL's (and 2s-AGCN's) bones hang each hand tip from the thumb, not from the hand.
    bone_pairs=((0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20),
                (9, 8), (10, 9), (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0),
                (17, 16), (18, 17), (19, 18), (21, 22), (20, 20), (22, 7), (23, 24), (24, 11)),
)

# OpenPose's 18-keypoint COCO variant (a neck joint added, a different order).
OPENPOSE = Layout(
    name="openpose",
    joints=("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
            "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
            "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear"),
    edges=((4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5),
           (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14)),
    center=1,
    flip_pairs=((5, 2), (6, 3), (7, 4), (11, 8), (12, 9), (13, 10), (15, 14), (17, 16)),
    bone_pairs=((0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8),
                (10, 9), (11, 5), (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15)),
)

# One hand, MediaPipe's 21 landmarks (the same order as COCO-WholeBody's hands). A single hand
# has no left/right joint pairs to swap.
HANDMP = Layout(
    name="handmp",
    joints=("wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_finger_mcp",
            "index_finger_pip", "index_finger_dip", "index_finger_tip", "middle_finger_mcp",
            "middle_finger_pip", "middle_finger_dip", "middle_finger_tip", "ring_finger_mcp",
            "ring_finger_pip", "ring_finger_dip", "ring_finger_tip", "pinky_mcp", "pinky_pip",
            "pinky_dip", "pinky_tip"),
    edges=((1, 0), (2, 1), (3, 2), (4, 3), (5, 0), (6, 5), (7, 6), (8, 7), (9, 0), (10, 9),
           (11, 10), (12, 11), (13, 0), (14, 13), (15, 14), (16, 15), (17, 0), (18, 17),
           (19, 18), (20, 19)),
    center=0,
)

# Human3.6M's 17 joints, the order 3D lifting models (VideoPose3D, MotionBERT) use.
H36M = Layout(
    name="h36m",
    joints=("pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
            "left_ankle", "spine", "thorax", "neck_nose", "head", "left_shoulder", "left_elbow",
            "left_wrist", "right_shoulder", "right_elbow", "right_wrist"),
    edges=((1, 0), (2, 1), (3, 2), (4, 0), (5, 4), (6, 5), (7, 0), (8, 7), (9, 8), (10, 9),
           (11, 8), (12, 11), (13, 12), (14, 8), (15, 14), (16, 15)),
    center=0,
    flip_pairs=((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16)),
)

# Kinect v1's 20 joints (NW-UCLA, MSR Action3D, UTD-MHAD), with CTR-GCN's NW-UCLA edges. Those
# edges all point at shoulder_center, and CTR-GCN's NW-UCLA bones are rooted there, so it is
# the centre: the Kinect v1 counterpart of NTU's spine_shoulder.
KINECT_V1 = Layout(
    name="kinect_v1",
    joints=("hip_center", "spine", "shoulder_center", "head", "shoulder_left", "elbow_left",
            "wrist_left", "hand_left", "shoulder_right", "elbow_right", "wrist_right",
            "hand_right", "hip_left", "knee_left", "ankle_left", "foot_left", "hip_right",
            "knee_right", "ankle_right", "foot_right"),
    edges=((0, 1), (1, 2), (3, 2), (4, 2), (5, 4), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9),
           (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17),
           (19, 18)),
    center=2,
    flip_pairs=((4, 8), (5, 9), (6, 10), (7, 11), (12, 16), (13, 17), (14, 18), (15, 19)),
)

# Penn Action's 13 joints: COCO without eyes and ears, so COCO's tree with the head as root.
PENN = Layout(
    name="penn",
    joints=("head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
            "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
            "left_ankle", "right_ankle"),
    edges=((11, 9), (9, 7), (12, 10), (10, 8), (7, 1), (8, 2), (5, 3), (3, 1), (6, 4), (4, 2),
           (1, 0), (2, 0)),
    center=0,
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)),
)

_REGISTRY: dict[str, Layout] = {
    layout.name: layout for layout in (COCO, NTU, OPENPOSE, HANDMP, H36M, KINECT_V1, PENN)
}
_BUILTIN = frozenset(_REGISTRY)
_ALIASES = {"ntu": "nturgb+d", "coco-hand": "handmp", "nw-ucla": "kinect_v1"}


def list_layouts() -> list[str]:
    """Names of the registered layouts (built-in and user), sorted."""
    return sorted(_REGISTRY)


def get_layout(spec: str | Layout | Mapping[str, Any]) -> Layout:
    """The layout ``spec`` names or describes.

    ``spec`` is a registered name or alias (``'coco'``, ``'ntu'``; case-insensitive), a
    :class:`Layout` (returned as is), or a dict with ``name``, ``joints`` (or ``num_joints``),
    ``edges``, ``center`` and optionally ``flip_pairs`` and ``bone_pairs``.
    """
    if isinstance(spec, Layout):
        return spec
    if isinstance(spec, Mapping):
        return _layout_from_dict(spec)
    if not isinstance(spec, str):
        raise LayoutError(f"expected a layout name, Layout or dict, got {type(spec).__name__} "
                          f"{spec!r}")
    key = spec.strip().lower()
    key = _ALIASES.get(key, key)
    if key in _REGISTRY:
        return _REGISTRY[key]
    known = sorted([*_REGISTRY, *_ALIASES])
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise LayoutError(f"unknown layout {spec!r}; {hint}registered layouts: "
                      f"{', '.join(list_layouts())}")


def register_layout(layout: Layout | Mapping[str, Any], *, overwrite: bool = False) -> Layout:
    """Make ``layout`` available by its name; returns it.

    Registering an equal layout again is a no-op. A different layout under a taken name needs
    ``overwrite=True``; built-in layouts and aliases can never be replaced.
    """
    if not isinstance(layout, Layout):
        if not isinstance(layout, Mapping):
            raise LayoutError(f"register_layout expects a Layout or dict, got "
                              f"{type(layout).__name__}")
        layout = _layout_from_dict(layout)
    key = layout.name.strip().lower()
    if key != layout.name:
        raise LayoutError(f"layout name {layout.name!r} must be lower case without surrounding "
                          f"spaces to be registered (lookups are case-insensitive)")
    if key in _ALIASES or (key in _BUILTIN and _REGISTRY[key] != layout):
        raise LayoutError(f"layout name {key!r} is built in; register yours under another name")
    if key in _REGISTRY and _REGISTRY[key] != layout and not overwrite:
        raise LayoutError(f"a different layout is already registered as {key!r}; pass "
                          f"overwrite=True to replace it")
    _REGISTRY[key] = layout
    return layout

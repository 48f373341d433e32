"""Skeleton layouts: PYSKL's edge lists and bones, names, flips, validation and the registry."""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from itertools import pairwise

import numpy as np
import pytest

from skel_core import layouts
from skel_core.errors import LayoutError
from skel_core.layouts import Layout, get_layout, list_layouts, register_layout

BUILT_IN = {
    "coco": 17,
    "nturgb+d": 25,
    "openpose": 18,
    "handmp": 21,
    "h36m": 17,
    "kinect_v1": 20,
    "penn": 13,
}


def _one_based(pairs):
    return tuple((i - 1, j - 1) for i, j in pairs)


# PYSKL's pyskl/utils/graph.py: inward edges and centres, in PYSKL's order.
PYSKL_GRAPHS = {
    "coco": (
        (
            (15, 13),
            (13, 11),
            (16, 14),
            (14, 12),
            (11, 5),
            (12, 6),
            (9, 7),
            (7, 5),
            (10, 8),
            (8, 6),
            (5, 0),
            (6, 0),
            (1, 0),
            (3, 1),
            (2, 0),
            (4, 2),
        ),
        0,
    ),
    "nturgb+d": (
        _one_based(
            (
                (1, 2),
                (2, 21),
                (3, 21),
                (4, 3),
                (5, 21),
                (6, 5),
                (7, 6),
                (8, 7),
                (9, 21),
                (10, 9),
                (11, 10),
                (12, 11),
                (13, 1),
                (14, 13),
                (15, 14),
                (16, 15),
                (17, 1),
                (18, 17),
                (19, 18),
                (20, 19),
                (22, 8),
                (23, 8),
                (24, 12),
                (25, 12),
            )
        ),
        20,
    ),
    "openpose": (
        (
            (4, 3),
            (3, 2),
            (7, 6),
            (6, 5),
            (13, 12),
            (12, 11),
            (10, 9),
            (9, 8),
            (11, 5),
            (8, 2),
            (5, 1),
            (2, 1),
            (0, 1),
            (15, 0),
            (14, 0),
            (17, 15),
            (16, 14),
        ),
        1,
    ),
    "handmp": (
        (
            (1, 0),
            (2, 1),
            (3, 2),
            (4, 3),
            (5, 0),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 0),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 0),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 0),
            (18, 17),
            (19, 18),
            (20, 19),
        ),
        0,
    ),
}

# PYSKL's JointToBone pairs (pyskl/datasets/pipelines/pose_related.py), and CTR-GCN's NW-UCLA
# bones (feeders/feeder_ucla.py, 1-based there).
REFERENCE_BONES = {
    "coco": (
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 1),
        (4, 2),
        (5, 0),
        (6, 0),
        (7, 5),
        (8, 6),
        (9, 7),
        (10, 8),
        (11, 0),
        (12, 0),
        (13, 11),
        (14, 12),
        (15, 13),
        (16, 14),
    ),
    "nturgb+d": (
        (0, 1),
        (1, 20),
        (2, 20),
        (3, 2),
        (4, 20),
        (5, 4),
        (6, 5),
        (7, 6),
        (8, 20),
        (9, 8),
        (10, 9),
        (11, 10),
        (12, 0),
        (13, 12),
        (14, 13),
        (15, 14),
        (16, 0),
        (17, 16),
        (18, 17),
        (19, 18),
        (21, 22),
        (20, 20),
        (22, 7),
        (23, 24),
        (24, 11),
    ),
    "openpose": (
        (0, 0),
        (1, 0),
        (2, 1),
        (3, 2),
        (4, 3),
        (5, 1),
        (6, 5),
        (7, 6),
        (8, 2),
        (9, 8),
        (10, 9),
        (11, 5),
        (12, 11),
        (13, 12),
        (14, 0),
        (15, 0),
        (16, 14),
        (17, 15),
    ),
    "kinect_v1": _one_based(
        (
            (1, 2),
            (2, 3),
            (3, 3),
            (4, 3),
            (5, 3),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 3),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
        )
    ),
}


def _distances_to(layout: Layout, root: int) -> list[float]:
    """Hop distance of every joint to ``root`` by breadth-first search."""
    dist = [float("inf")] * layout.num_joints
    dist[root] = 0
    queue = deque([root])
    while queue:
        v = queue.popleft()
        for a, b in layout.edges:
            for here, there in ((a, b), (b, a)):
                if here == v and dist[there] == float("inf"):
                    dist[there] = dist[v] + 1
                    queue.append(there)
    return dist


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the layout registry, so registering in a test leaks nowhere."""
    monkeypatch.setattr(layouts, "_REGISTRY", dict(layouts._REGISTRY))


def test_builtin_layouts_and_joint_counts():
    assert list_layouts() == sorted(BUILT_IN)
    for name, count in BUILT_IN.items():
        layout = get_layout(name)
        assert layout.name == name
        assert layout.num_joints == count == len(layout.joints)
        assert len(set(layout.joints)) == count


@pytest.mark.parametrize(
    ("name", "index", "joint"),
    [
        ("coco", 0, "nose"),
        ("coco", 1, "left_eye"),
        ("coco", 16, "right_ankle"),
        ("nturgb+d", 0, "spine_base"),
        ("nturgb+d", 3, "head"),
        ("nturgb+d", 20, "spine_shoulder"),
        ("nturgb+d", 24, "thumb_right"),
        ("openpose", 1, "neck"),
        ("openpose", 2, "right_shoulder"),
        ("handmp", 0, "wrist"),
        ("handmp", 4, "thumb_tip"),
        ("handmp", 20, "pinky_tip"),
        ("h36m", 0, "pelvis"),
        ("h36m", 1, "right_hip"),
        ("h36m", 10, "head"),
        ("h36m", 16, "right_wrist"),
        ("kinect_v1", 2, "shoulder_center"),
        ("kinect_v1", 19, "foot_right"),
        ("penn", 0, "head"),
        ("penn", 12, "right_ankle"),
    ],
)
def test_joint_names(name, index, joint):
    assert get_layout(name).joints[index] == joint


@pytest.mark.parametrize("name", sorted(PYSKL_GRAPHS))
def test_edges_and_center_are_pyskls(name):
    edges, center = PYSKL_GRAPHS[name]
    layout = get_layout(name)
    assert layout.edges == edges
    assert layout.inward == edges
    assert layout.center == center


@pytest.mark.parametrize("name", sorted(REFERENCE_BONES))
def test_bone_pairs_match_reference(name):
    layout = get_layout(name)
    assert layout.bone_pairs == REFERENCE_BONES[name]
    parent = layout.bone_parent
    assert [int(parent[child]) for child, _ in REFERENCE_BONES[name]] == [
        par for _, par in REFERENCE_BONES[name]
    ]


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_edges_point_at_the_center_and_form_a_tree(name):
    layout = get_layout(name)
    dist = _distances_to(layout, layout.center)
    assert max(dist) < float("inf")
    assert len(layout.edges) == layout.num_joints - 1
    for child, parent in layout.edges:
        assert dist[child] == dist[parent] + 1, (child, parent)


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_derived_properties(name):
    layout = get_layout(name)
    assert layout.outward == tuple((p, c) for c, p in layout.edges)
    assert layout.neighbors == layout.edges + layout.outward
    assert layout.left == [left for left, _ in layout.flip_pairs]
    assert layout.right == [right for _, right in layout.flip_pairs]


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_bone_pairs_form_a_tree_over_all_joints(name):
    layout = get_layout(name)
    assert sorted(child for child, _ in layout.bone_pairs) == list(range(layout.num_joints))
    parent = layout.bone_parent
    for joint in range(layout.num_joints):
        seen = set()
        while parent[joint] != joint:
            assert joint not in seen, f"bone cycle through {layout.joints[joint]}"
            seen.add(joint)
            joint = int(parent[joint])


@pytest.mark.parametrize("name", sorted(set(BUILT_IN) - set(REFERENCE_BONES)))
def test_derived_bones_follow_the_edges(name):
    layout = get_layout(name)
    assert set(layout.bone_pairs) == set(layout.edges) | {(layout.center, layout.center)}


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_flip_index_is_an_involution_swapping_left_and_right_names(name):
    layout = get_layout(name)
    flip = layout.flip_index
    assert flip.shape == (layout.num_joints,)
    np.testing.assert_array_equal(flip[flip], np.arange(layout.num_joints))
    assert flip[layout.center] == layout.center
    for v, name_v in enumerate(layout.joints):
        mirrored = layout.joints[flip[v]]
        if "left" in name_v:
            assert mirrored == name_v.replace("left", "right")
        elif "right" in name_v:
            assert mirrored == name_v.replace("right", "left")
        else:
            assert flip[v] == v, f"{name_v} is flipped but names no side"
    for v in layout.left:
        assert "left" in layout.joints[v]
    for v in layout.right:
        assert "right" in layout.joints[v]


@pytest.mark.parametrize("name", sorted(BUILT_IN))
def test_flip_maps_the_skeleton_onto_itself(name):
    layout = get_layout(name)
    flip = layout.flip_index
    undirected = {frozenset(e) for e in layout.edges}
    assert {frozenset((int(flip[a]), int(flip[b]))) for a, b in layout.edges} == undirected
    parent = layout.bone_parent
    np.testing.assert_array_equal(parent[flip], flip[parent])


def test_layout_is_immutable_and_arrays_are_fresh():
    coco = get_layout("coco")
    with pytest.raises(dataclasses.FrozenInstanceError):
        coco.center = 3
    coco.flip_index[:] = 0
    coco.bone_parent[:] = 0
    assert coco.flip_index[1] == 2
    assert coco.bone_parent[7] == 5
    copy = get_layout(coco.to_dict())
    assert copy is not coco and copy == coco and hash(copy) == hash(coco)


def test_lookup_by_alias_case_and_value():
    ntu = get_layout("nturgb+d")
    assert get_layout("ntu") is ntu
    assert get_layout(" NTURGB+D ") is ntu
    assert get_layout("coco-hand") is get_layout("handmp")
    assert get_layout("nw-ucla") is get_layout("kinect_v1")
    assert get_layout(ntu) is ntu


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("cocoo", "'coco'"),
        ("nturgbd", "'nturgb+d'"),
        ("openpos", "'openpose'"),
        ("kinect-v1", "'kinect_v1'"),
    ],
)
def test_unknown_name_suggests_close_matches(typo, suggestion):
    with pytest.raises(LayoutError, match="unknown layout") as info:
        get_layout(typo)
    assert suggestion in str(info.value)
    assert "did you mean" in str(info.value)


def test_unknown_name_without_close_match_lists_layouts():
    with pytest.raises(LayoutError) as info:
        get_layout("xyzzy")
    message = str(info.value)
    assert "did you mean" not in message
    assert all(name in message for name in BUILT_IN)


def test_lookup_of_a_non_layout_type_fails():
    with pytest.raises(LayoutError, match="got int 17"):
        get_layout(17)


def _chain(n: int = 4) -> dict:
    return {
        "name": "chain",
        "joints": [f"j{v}" for v in range(n)],
        "edges": [(v + 1, v) for v in range(n - 1)],
        "center": 0,
    }


def test_dict_layout_with_joints_and_derived_bones():
    layout = get_layout({**_chain(), "flip_pairs": [[1, 3]]})
    assert layout.num_joints == 4
    assert layout.edges == ((1, 0), (2, 1), (3, 2))
    assert layout.bone_pairs == ((0, 0), (1, 0), (2, 1), (3, 2))
    np.testing.assert_array_equal(layout.flip_index, [0, 3, 2, 1])


def test_dict_layout_with_num_joints_and_numpy_values():
    spec = {
        "name": "tri",
        "num_joints": np.int64(3),
        "edges": np.array([[1, 0], [2, 0]]),
        "center": np.int32(0),
    }
    layout = get_layout(spec)
    assert layout.joints == ("joint_0", "joint_1", "joint_2")
    assert layout.edges == ((1, 0), (2, 0))
    assert all(type(v) is int for e in layout.edges for v in e)
    assert type(layout.center) is int


def test_dict_round_trip():
    for name in BUILT_IN:
        layout = get_layout(name)
        assert get_layout(json.loads(json.dumps(layout.to_dict()))) == layout


def test_layout_built_from_lists_equals_one_built_from_tuples():
    spec = _chain()
    assert Layout(**spec) == Layout(spec["name"], tuple(spec["joints"]), tuple(spec["edges"]), 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"edges": [(1, 0), (2, 1), (4, 2)]},
            r"edges\[2\] \(4, 2\) has joint 4 out of range 0\.\.3",
        ),
        ({"edges": [(1, 0), (2, 1), (3, 2), (2, 2)]}, r"edges\[3\] \(2, 2\) is a self loop"),
        ({"edges": [(1, 0), (2, 1), (3, 2), (1, 2)]}, r"edges\[3\] \(1, 2\) repeats edges\[1\]"),
        ({"edges": [(1, 0), (2, 1)]}, r"do not connect joints \['j3'\]"),
        ({"center": 4}, r"center 4 is out of range 0\.\.3"),
        ({"center": 1.0}, r"center must be an integer, got 1\.0"),
        ({"center": True}, r"center must be an integer"),
        ({"edges": [(1, 0), (2, 1), (3,)]}, r"edges\[2\] must be a pair, got \(3,\)"),
        ({"edges": "1-0"}, r"edges must be a list of pairs"),
        ({"edges": [(1, 0), (2, 1), (3, 2.5)]}, r"edges\[2\] must be an integer, got 2\.5"),
        ({"flip_pairs": [(1, 2), (2, 3)]}, r"flip_pairs\[1\] \(2, 3\) reuses joint 2"),
        ({"flip_pairs": [(1, 1)]}, r"flip_pairs\[0\] \(1, 1\) pairs joint 1 with itself"),
        ({"flip_pairs": [(1, 7)]}, r"flip_pairs\[0\] \(1, 7\) has joint 7 out of range"),
        (
            {"bone_pairs": [(0, 0), (1, 0), (2, 1)]},
            r"bone_pairs must name every joint.*missing: \[3\]",
        ),
        ({"bone_pairs": [(0, 0), (1, 0), (1, 2), (3, 2)]}, r"repeated: \[1\].*missing: \[2\]"),
        ({"joints": ["a", "b", "a", "c"]}, r"repeated joint names \['a'\]"),
        ({"joints": ["a", "b", "", "c"]}, r"joints\[2\] must be a non-empty string"),
        ({"joints": []}, r"joints must be a non-empty list"),
        ({"num_joints": 5}, r"num_joints is 5 but joints lists 4"),
        ({"inward": [(1, 0)]}, r"unknown key\(s\) \['inward'\]"),
        ({"name": ""}, r"non-empty string name"),
    ],
)
def test_bad_dict_layouts_raise_naming_the_problem(change, message):
    spec = {**_chain(), **change}
    with pytest.raises(LayoutError, match=message) as info:
        get_layout(spec)
    if change.get("name", "chain"):
        assert "'chain'" in str(info.value)


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        ("edges", r"lacks \['edges'\]"),
        ("center", r"lacks \['center'\]"),
        ("joints", r"needs 'joints' or 'num_joints'"),
    ],
)
def test_dict_layout_missing_keys(drop, message):
    spec = _chain()
    del spec[drop]
    with pytest.raises(LayoutError, match=message):
        get_layout(spec)


def test_layout_error_is_a_value_error():
    with pytest.raises(ValueError):
        get_layout({**_chain(), "center": 9})


@pytest.mark.usefixtures("registry")
def test_register_and_look_up_a_user_layout():
    chain = register_layout(_chain())
    assert get_layout("chain") is chain
    assert get_layout("CHAIN") is chain
    assert "chain" in list_layouts()
    assert register_layout(Layout(**_chain())) == chain  # an equal layout: accepted
    assert get_layout("chain") == chain


@pytest.mark.usefixtures("registry")
def test_register_conflicts():
    register_layout(_chain())
    longer = _chain(5)
    with pytest.raises(LayoutError, match="already registered as 'chain'.*overwrite=True"):
        register_layout(longer)
    assert register_layout(longer, overwrite=True).num_joints == 5
    with pytest.raises(LayoutError, match="'coco' is built in"):
        register_layout({**_chain(), "name": "coco"}, overwrite=True)
    with pytest.raises(LayoutError, match="'ntu' is built in"):
        register_layout({**_chain(), "name": "ntu"})
    with pytest.raises(LayoutError, match="lower case"):
        register_layout({**_chain(), "name": "Chain"})
    with pytest.raises(LayoutError, match="expects a Layout or dict"):
        register_layout("chain")
    register_layout(get_layout("coco"))  # re-registering a built-in as is: allowed, no-op


@pytest.mark.shared_data
def test_kinect_v1_names_fit_real_nw_ucla_skeletons(shared_data):
    layout = get_layout("kinect_v1")
    j = {name: v for v, name in enumerate(layout.joints)}
    files = sorted((shared_data / "nw_ucla" / "all_sqe").glob("*.json"))[::100]
    assert len(files) >= 10
    clips = [np.asarray(json.loads(f.read_text())["skeletons"]) for f in files]
    for f, xyz in zip(files, clips, strict=True):
        height = xyz[..., 1].mean(axis=0)  # Kinect camera space: y points up
        chain = ["head", "shoulder_center", "spine", "hip_center"]
        assert all(height[j[a]] > height[j[b]] for a, b in pairwise(chain)), f.name
        for side in ("left", "right"):
            leg = [f"hip_{side}", f"knee_{side}", f"ankle_{side}"]
            assert all(height[j[a]] > height[j[b]] for a, b in pairwise(leg)), f.name
    lengths = np.concatenate([np.linalg.norm(x - x[:, layout.bone_parent], axis=-1) for x in clips])
    ratio = np.median(lengths[:, layout.left], axis=0) / np.median(lengths[:, layout.right], axis=0)
    np.testing.assert_array_less(np.abs(np.log(ratio)), np.log(1.2))


@pytest.mark.shared_data
def test_ntu_names_fit_a_real_ntu_skeleton(shared_data):
    lines = (shared_data / "ntu_raw" / "S001C001P001R001A001.skeleton").read_text().split("\n")
    assert int(lines[1]) == 1 and int(lines[3]) == 25  # first frame: one body, 25 joints
    xyz = np.array([[float(v) for v in line.split()[:3]] for line in lines[4:29]])
    layout = get_layout("nturgb+d")
    j = {name: v for v, name in enumerate(layout.joints)}
    chain = ["head", "neck", "spine_shoulder", "spine_mid", "spine_base"]
    assert all(xyz[j[a], 1] > xyz[j[b], 1] for a, b in pairwise(chain))
    for side in ("left", "right"):
        assert xyz[j[f"knee_{side}"], 1] > xyz[j[f"ankle_{side}"], 1]
        for part in ("hand_tip", "thumb", "wrist"):
            gap = np.linalg.norm(xyz[j[f"{part}_{side}"]] - xyz[j[f"hand_{side}"]])
            assert gap < 0.15, (part, side, gap)

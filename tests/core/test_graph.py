"""Graph partitions against matrices built from first principles inside this file.

The references below never call skel_core.graph: hop distances come from a breadth-first
search over the undirected edges, the inward/outward direction of an edge from which end is
nearer the centre, and column normalisation from explicit loops. The only convention taken
from PYSKL is the orientation: ``A[receiver, sender]``, so column ``i`` holds what joint ``i``
sends and normalisation makes each non-empty column sum to 1.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from skel_core.errors import GraphError, LayoutError
from skel_core.graph import Graph, edge_to_matrix, hop_distance, k_adjacency, normalize_digraph
from skel_core.layouts import get_layout, list_layouts

INF = float("inf")
LAYOUTS = list_layouts()
HOPS = (1, 2, 3)


def bfs_distances(num: int, edges) -> np.ndarray:
    """All-pairs hop distances over the undirected edges (inf when unreachable)."""
    neighbours = {v: set() for v in range(num)}
    for a, b in edges:
        neighbours[a].add(b)
        neighbours[b].add(a)
    dist = np.full((num, num), INF)
    for source in range(num):
        dist[source, source] = 0
        queue = deque([source])
        while queue:
            v = queue.popleft()
            for w in neighbours[v]:
                if dist[source, w] == INF:
                    dist[source, w] = dist[source, v] + 1
                    queue.append(w)
    return dist


def truncated(dist: np.ndarray, max_hop: int) -> np.ndarray:
    return np.where(dist <= max_hop, dist, INF)


def column_normalised(M: np.ndarray) -> np.ndarray:
    out = np.zeros(M.shape)
    for col in range(M.shape[1]):
        total = 0.0
        for row in range(M.shape[0]):
            total += M[row, col]
        if total > 0:
            for row in range(M.shape[0]):
                out[row, col] = M[row, col] / total
    return out


def directed(name: str) -> tuple[np.ndarray, np.ndarray]:
    """0/1 inward and outward matrices, each edge directed by distance to the centre."""
    layout = get_layout(name)
    to_center = bfs_distances(layout.num_joints, layout.edges)[layout.center]
    inward = np.zeros((layout.num_joints, layout.num_joints))
    outward = np.zeros_like(inward)
    for a, b in layout.edges:
        near, far = (a, b) if to_center[a] < to_center[b] else (b, a)
        inward[near, far] = 1  # the far joint sends toward the centre
        outward[far, near] = 1
    return inward, outward


def hop_adjacency(name: str, max_hop: int) -> np.ndarray:
    """Normalised adjacency of joint pairs at most max_hop apart (self included)."""
    layout = get_layout(name)
    dist = bfs_distances(layout.num_joints, layout.edges)
    return column_normalised((dist <= max_hop).astype(float))


def reference_spatial(name: str) -> np.ndarray:
    inward, outward = directed(name)
    return np.stack((np.eye(len(inward)), column_normalised(inward), column_normalised(outward)))


def reference_stgcn_spatial(name: str, max_hop: int) -> np.ndarray:
    """ST-GCN's spatial partition. As in ST-GCN and PYSKL, the distances to the centre are the
    truncated ones (inf beyond max_hop), so two joints both out of reach of the centre compare
    as equal and their pair counts as "close"."""
    layout = get_layout(name)
    num, center = layout.num_joints, layout.center
    dist = truncated(bfs_distances(num, layout.edges), max_hop)
    norm = hop_adjacency(name, max_hop)
    subsets = []
    for hop in range(max_hop + 1):
        close, further = np.zeros((num, num)), np.zeros((num, num))
        for receiver in range(num):
            for sender in range(num):
                if dist[receiver, sender] != hop:
                    continue
                if dist[receiver, center] >= dist[sender, center]:
                    close[receiver, sender] = norm[receiver, sender]
                else:
                    further[receiver, sender] = norm[receiver, sender]
        subsets.append(close)
        if hop > 0:
            subsets.append(further)
    return np.stack(subsets)


def reference_distance(name: str, max_hop: int) -> np.ndarray:
    layout = get_layout(name)
    dist = bfs_distances(layout.num_joints, layout.edges)
    norm = hop_adjacency(name, max_hop)
    return np.stack([np.where(dist == hop, norm, 0.0) for hop in range(max_hop + 1)])


def reference_binary(name: str) -> np.ndarray:
    inward, outward = directed(name)
    return (inward + outward)[None]


@pytest.mark.parametrize("name", LAYOUTS)
def test_spatial(name):
    graph = Graph(layout=name, mode="spatial")
    np.testing.assert_array_equal(graph.A, reference_spatial(name))
    assert graph.A.dtype == np.float64


@pytest.mark.parametrize("name", LAYOUTS)
def test_binary_adj(name):
    np.testing.assert_array_equal(Graph(name, "binary_adj").A, reference_binary(name))


@pytest.mark.parametrize("max_hop", HOPS)
@pytest.mark.parametrize("name", LAYOUTS)
def test_stgcn_spatial(name, max_hop):
    graph = Graph(name, "stgcn_spatial", max_hop=max_hop)
    assert graph.A.shape[0] == 2 * max_hop + 1
    np.testing.assert_array_equal(graph.A, reference_stgcn_spatial(name, max_hop))
    np.testing.assert_array_equal(graph.A.sum(0), hop_adjacency(name, max_hop))


@pytest.mark.parametrize("max_hop", HOPS)
@pytest.mark.parametrize("name", LAYOUTS)
def test_uniform(name, max_hop):
    graph = Graph(name, "uniform", max_hop=max_hop)
    np.testing.assert_array_equal(graph.A, hop_adjacency(name, max_hop)[None])
    np.testing.assert_allclose(graph.A[0].sum(0), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("max_hop", HOPS)
@pytest.mark.parametrize("name", LAYOUTS)
def test_distance(name, max_hop):
    graph = Graph(name, "distance", max_hop=max_hop)
    np.testing.assert_array_equal(graph.A, reference_distance(name, max_hop))
    np.testing.assert_array_equal(graph.A.sum(0), Graph(name, "uniform", max_hop=max_hop).A[0])


@pytest.mark.parametrize("max_hop", (0, *HOPS, 40))
@pytest.mark.parametrize("name", LAYOUTS)
def test_hop_dis(name, max_hop):
    layout = get_layout(name)
    graph = Graph(name, "spatial", max_hop=max_hop)
    expected = truncated(bfs_distances(layout.num_joints, layout.edges), max_hop)
    np.testing.assert_array_equal(graph.hop_dis, expected)
    np.testing.assert_array_equal(hop_distance(layout.num_joints, layout.edges, max_hop), expected)


def test_pinned_values_coco_and_ntu():
    coco = Graph(layout="coco", mode="spatial")
    assert coco.A.shape == (3, 17, 17)
    np.testing.assert_array_equal(coco.A[0], np.eye(17))
    # every joint but the nose (the centre) sends along exactly one inward edge
    np.testing.assert_array_equal(coco.A[1].sum(0), [0.0] + [1.0] * 16)
    assert coco.A[1][5, 7] == 1.0  # left_elbow -> left_shoulder: A[receiver, sender]
    assert coco.A[1][7, 5] == 0.0
    # the nose sends outward to both eyes and both shoulders
    np.testing.assert_array_equal(np.flatnonzero(coco.A[2][:, 0]), [1, 2, 5, 6])
    np.testing.assert_array_equal(coco.A[2][[1, 2, 5, 6], 0], 0.25)

    ntu = Graph(layout="nturgb+d", mode="spatial")
    assert ntu.A.shape == (3, 25, 25)
    np.testing.assert_array_equal(np.flatnonzero(ntu.A[2][:, 20]), [1, 2, 4, 8])
    assert ntu.A[1][7, 21] == 1.0  # hand_tip_left -> hand_left
    assert Graph("openpose").A.shape == (3, 18, 18)
    assert Graph("handmp").A.shape == (3, 21, 21)


def test_pinned_values_stgcn_spatial():
    assert Graph("coco", "stgcn_spatial", max_hop=1).A.shape == (3, 17, 17)
    assert Graph("coco", "stgcn_spatial", max_hop=2).A.shape == (5, 17, 17)
    assert Graph("nturgb+d", "stgcn_spatial", max_hop=2).A.shape == (5, 25, 25)
    A = Graph("coco", "stgcn_spatial", max_hop=1).A
    np.testing.assert_array_equal(A[0], np.diag(np.diag(A[0])))
    # nose (receiver) <- left_shoulder: the receiver is nearer the centre -> "further" subset;
    # column 5 of the hop<=1 adjacency: the shoulder itself, nose, elbow and hip, 1/4 each
    assert A[2][0, 5] == 0.25 and A[1][0, 5] == 0.0
    # left_shoulder <- nose: receiver farther -> "close"; column 0 has the nose and its 4
    # neighbours, 1/5 each
    assert A[1][5, 0] == 0.2 and A[2][5, 0] == 0.0
    # left_hip <- left_knee: both beyond max_hop of the nose, distances both inf -> "close"
    assert A[1][11, 13] > 0 and A[2][11, 13] == 0
    # with max_hop=3 the hip is within reach (2 hops), so the same pair becomes "further"
    A3 = Graph("coco", "stgcn_spatial", max_hop=3).A
    assert A3[1][11, 13] == 0 and A3[2][11, 13] > 0


def test_graph_attributes_follow_pyskl():
    graph = Graph(**dict(layout="coco", mode="spatial"))
    layout = get_layout("coco")
    assert graph.num_node == 17
    assert graph.center == 0
    assert graph.inward == list(layout.edges)
    assert graph.outward == [(j, i) for i, j in layout.edges]
    assert graph.neighbor == graph.inward + graph.outward
    assert graph.self_link == [(i, i) for i in range(17)]
    assert graph.layout is layout and graph.layout.name == "coco"
    assert (graph.mode, graph.max_hop, graph.nx_node) == ("spatial", 1, 1)
    assert (graph.num_filter, graph.init_std, graph.init_off) == (3, 0.02, 0.04)
    assert repr(graph) == "Graph(layout='coco', mode='spatial', max_hop=1, A.shape=(3, 17, 17))"


def test_graph_from_dict_and_layout_values():
    spec = {"name": "tri", "num_joints": 3, "edges": [(1, 0), (2, 0)], "center": 0}
    graph = Graph(layout=spec, mode="spatial")
    np.testing.assert_array_equal(graph.A[1], [[0, 1, 1], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(graph.A[2], [[0, 0, 0], [0.5, 0, 0], [0.5, 0, 0]])
    assert Graph(get_layout("penn")).num_node == 13


def test_random_mode_uses_its_own_generator():
    state = np.random.get_state()
    a = Graph("coco", "random", num_filter=8, init_std=0.02, init_off=0.04, rng=1).A
    assert a.shape == (8, 17, 17)
    np.testing.assert_array_equal(a, Graph("coco", "random", num_filter=8, rng=1).A)
    np.testing.assert_array_equal(
        a, Graph("coco", "random", num_filter=8, rng=np.random.default_rng(1)).A
    )
    assert not np.array_equal(a, Graph("coco", "random", num_filter=8, rng=2).A)
    np.testing.assert_array_equal(Graph("coco", "random").A, Graph("coco", "random").A)
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG untouched
    wide = Graph("nturgb+d", "random", num_filter=64, init_std=0.5, init_off=2.0, rng=3).A
    assert abs(wide.mean() - 2.0) < 0.01 and abs(wide.std() - 0.5) < 0.01
    assert Graph("coco", "random", nx_node=2, num_filter=4).A.shape == (4, 34, 34)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            dict(mode="spatail"),
            GraphError,
            "unknown graph mode 'spatail'; available modes: spatial, stgcn_spatial, uniform, "
            "distance, binary_adj, random",
        ),
        (dict(mode="__init__"), GraphError, "unknown graph mode '__init__'"),
        (dict(mode="spatial", nx_node=2), GraphError, "nx_node=2 needs mode='random'"),
        (dict(max_hop=-1), GraphError, "max_hop must be an integer >= 0, got -1"),
        (dict(max_hop=1.5), GraphError, "max_hop must be an integer >= 0, got 1.5"),
        (dict(mode="random", num_filter=0), GraphError, "num_filter must be an integer >= 1"),
        (dict(layout="cocoo"), LayoutError, "did you mean 'coco'"),
    ],
)
def test_graph_errors(kwargs, error, message):
    with pytest.raises(error) as info:
        Graph(**kwargs)
    assert message in str(info.value)


def test_edge_to_matrix_direction_and_range():
    np.testing.assert_array_equal(edge_to_matrix([(0, 1)], 2), [[0, 0], [1, 0]])
    np.testing.assert_array_equal(
        edge_to_matrix([(0, 0), (2, 0)], 3), [[1, 0, 1], [0, 0, 0], [0, 0, 0]]
    )
    with pytest.raises(GraphError, match=r"edge #1 \(3, 0\) is out of range for 3 nodes"):
        edge_to_matrix([(1, 0), (3, 0)], 3)


def test_normalize_digraph_against_loops(rng):
    M = (rng.random((9, 9)) < 0.3).astype(float) * rng.integers(1, 4, (9, 9))
    M[:, 4] = 0
    out = normalize_digraph(M)
    np.testing.assert_allclose(out, column_normalised(M), rtol=1e-15, atol=0)
    assert not out[:, 4].any()
    # dim=1 divides column c by the sum of row c (PYSKL's behaviour, kept as is)
    rows = M.sum(1)
    expected = np.zeros_like(M)
    for c in range(9):
        if rows[c] > 0:
            expected[:, c] = M[:, c] / rows[c]
    np.testing.assert_allclose(normalize_digraph(M, dim=1), expected, rtol=1e-15, atol=0)
    with pytest.raises(GraphError, match=r"square 2D matrix, got shape \(2, 3\)"):
        normalize_digraph(np.zeros((2, 3)))
    with pytest.raises(GraphError, match="dim must be 0 or 1"):
        normalize_digraph(M, dim=2)


def test_hop_distance_of_a_disconnected_graph():
    dist = hop_distance(3, [(0, 1)], max_hop=5)
    np.testing.assert_array_equal(dist, [[0, 1, INF], [1, 0, INF], [INF, INF, 0]])


@pytest.mark.parametrize("name", ["coco", "nturgb+d"])
def test_k_adjacency_against_bfs(name):
    layout = get_layout(name)
    dist = bfs_distances(layout.num_joints, layout.edges)
    binary = Graph(name, "binary_adj").A[0]
    for k in range(5):
        np.testing.assert_array_equal(k_adjacency(binary, k), (dist == k).astype(float))
        with_self = k_adjacency(binary, k, with_self=True, self_factor=2)
        expected = (dist == k).astype(float) + (2 * np.eye(len(dist)) if k else 0)
        np.testing.assert_array_equal(with_self, expected)
    # self loops in the input change nothing (MS-G3D passes A + I)
    np.testing.assert_array_equal(
        k_adjacency(binary + np.eye(len(binary)), 2), (dist == 2).astype(float)
    )
    with pytest.raises(GraphError, match="k must be an integer >= 0"):
        k_adjacency(binary, -1)

"""Graph partitions of a skeleton: the adjacency matrices ``A`` (K, V, V) a GCN convolves with.

:class:`Graph` takes the same arguments and exposes the same attributes as PYSKL's
``pyskl.utils.graph.Graph``, so a PYSKL ``graph_cfg`` such as ``dict(layout='coco',
mode='spatial')`` works unchanged and gives the same matrices, value for value. The layout may
also be a :class:`~skel_core.layouts.Layout` or a layout dict.

Conventions (PYSKL's, inherited from ST-GCN): an edge ``(i, j)`` sets ``A[j, i] = 1``, so
column ``i`` holds what joint ``i`` sends, and normalisation divides each column by its sum.
The building blocks are public: :func:`edge_to_matrix`, :func:`normalize_digraph`,
:func:`hop_distance` and :func:`k_adjacency` (MS-G3D's multi-scale adjacency).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from skel_core.errors import GraphError
from skel_core.layouts import Layout, Pair, get_layout


def _check_count(value: Any, what: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise GraphError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_square(A: Any, what: str) -> np.ndarray:
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise GraphError(f"{what} must be a square 2D matrix, got shape {A.shape}")
    return A


def edge_to_matrix(edges: Iterable[Pair], num_node: int) -> np.ndarray:
    """Float64 (V, V) matrix with ``A[j, i] = 1`` for every edge ``(i, j)`` (PYSKL's edge2mat)."""
    num_node = _check_count(num_node, "num_node", 1)
    A = np.zeros((num_node, num_node))
    for k, (i, j) in enumerate(edges):
        if not (0 <= i < num_node and 0 <= j < num_node):
            raise GraphError(f"edge #{k} {(i, j)} is out of range for {num_node} nodes")
        A[j, i] = 1
    return A


def normalize_digraph(A: np.ndarray, dim: int = 0) -> np.ndarray:
    """Scale column ``c`` of ``A`` by ``1 / A.sum(dim)[c]``; columns with a zero sum stay zero.

    With ``dim=0`` (the default, and all PYSKL uses) this is ``A @ D^-1`` with ``D`` the column
    sums, so every non-empty column sums to 1. ``dim=1`` divides column ``c`` by the sum of
    *row* ``c``, exactly as PYSKL's function does.
    """
    A = _check_square(A, "normalize_digraph's input")
    if dim not in (0, 1):
        raise GraphError(f"normalize_digraph: dim must be 0 or 1, got {dim!r}")
    sums = A.sum(dim)
    inverse = np.zeros(sums.shape)
    np.divide(1.0, sums, out=inverse, where=sums > 0)
    return A * inverse[None, :]


def _reach(adjacency: np.ndarray, max_hop: int) -> np.ndarray:
    """(max_hop + 1, V, V) bools: ``[d, i, j]`` when j is within d hops of i.

    Boolean products, so large hop counts neither overflow nor lose precision.
    """
    step = adjacency.astype(bool) | np.eye(len(adjacency), dtype=bool)
    reach = [np.eye(len(adjacency), dtype=bool)]
    for _ in range(max_hop):
        reach.append((reach[-1].astype(np.int64) @ step.astype(np.int64)) > 0)
    return np.stack(reach)


def hop_distance(num_node: int, edges: Iterable[Pair], max_hop: int = 1) -> np.ndarray:
    """(V, V) hop counts between joints over the undirected edges; ``inf`` beyond ``max_hop``.

    Same result as PYSKL's ``get_hop_distance``.
    """
    max_hop = _check_count(max_hop, "max_hop", 0)
    A = edge_to_matrix(edges, num_node)
    reach = _reach(A + A.T, max_hop)
    dist = np.full((len(A), len(A)), np.inf)
    for d in range(max_hop, -1, -1):
        dist[reach[d]] = d
    return dist


def k_adjacency(A: np.ndarray, k: int, with_self: bool = False,
                self_factor: float = 1) -> np.ndarray:
    """Joints exactly ``k`` hops apart in adjacency ``A`` (nonzero = edge), as 0/1 (PYSKL's).

    ``k == 0`` gives the identity. With ``with_self``, ``self_factor`` is added on the
    diagonal (for ``k >= 1``). The result has ``A``'s dtype.
    """
    A = _check_square(A, "k_adjacency's input")
    k = _check_count(k, "k", 0)
    identity = np.eye(len(A), dtype=A.dtype)
    if k == 0:
        return identity
    reach = _reach(A != 0, k)
    Ak = (reach[k] & ~reach[k - 1]).astype(A.dtype)
    if with_self:
        Ak += self_factor * identity
    return Ak


class Graph:
    """The adjacency matrices of a skeleton layout, PYSKL-compatible.

    Args:
        layout: a layout name (``'coco'``, ``'nturgb+d'``, ...), a ``Layout`` or a layout dict.
        mode: the partition; one of :attr:`MODES`:

            - ``'spatial'``: (3, V, V) identity, normalised inward, normalised outward edges
              (PYSKL's default; ``max_hop`` unused).
            - ``'stgcn_spatial'``: ST-GCN's spatial partition, ``2 * max_hop + 1`` subsets of
              the normalised ``hop <= max_hop`` adjacency: per hop, the entries whose receiving
              joint is at least as far from the centre as the sender, then (hop >= 1) the rest.
              The distances to the centre are the truncated ones (``inf`` beyond ``max_hop``),
              as in PYSKL and ST-GCN, so pairs both beyond ``max_hop`` from the centre count as
              "close".
            - ``'uniform'``: ST-GCN's uniform strategy, (1, V, V) normalised ``hop <= max_hop``
              adjacency.
            - ``'distance'``: ST-GCN's distance strategy, (max_hop + 1, V, V): the entries of
              that same normalised adjacency split by hop distance.
            - ``'binary_adj'``: (1, V, V) 0/1 adjacency, both edge directions, no self links.
            - ``'random'``: (num_filter, V * nx_node, V * nx_node) Gaussian values with mean
              ``init_off`` and deviation ``init_std`` (DG-STGCN).
        max_hop: the largest hop distance the hop-based modes connect.
        nx_node: repeats of the joint set in ``'random'`` mode (1 in every other mode).
        num_filter, init_std, init_off: ``'random'`` mode's shape and distribution.
        rng: ``'random'`` mode's generator or seed; the global NumPy RNG is never used. Left
            out, seed 0 is used, so the same arguments always give the same matrix.

    Attributes (PYSKL's names): ``A`` (float64), ``num_node``, ``inward``, ``outward``,
    ``neighbor``, ``self_link``, ``center``, ``hop_dis``, ``max_hop``, ``mode``, ``nx_node``,
    ``num_filter``, ``init_std``, ``init_off``; ``layout`` is the resolved ``Layout`` (PYSKL
    keeps the name string; it is ``layout.name`` here).
    """

    MODES = ("spatial", "stgcn_spatial", "uniform", "distance", "binary_adj", "random")

    def __init__(self, layout: str | Layout | Mapping[str, Any] = "coco", mode: str = "spatial",
                 max_hop: int = 1, nx_node: int = 1, num_filter: int = 3,
                 init_std: float = 0.02, init_off: float = 0.04,
                 rng: np.random.Generator | int | None = None):
        if mode not in _PARTITIONS:
            raise GraphError(f"unknown graph mode {mode!r}; available modes: "
                             f"{', '.join(self.MODES)}")
        self.max_hop = _check_count(max_hop, "max_hop", 0)
        self.nx_node = _check_count(nx_node, "nx_node", 1)
        if self.nx_node != 1 and mode != "random":
            raise GraphError(f"nx_node={nx_node} needs mode='random', got mode={mode!r}")
        self.num_filter = _check_count(num_filter, "num_filter", 1)
        self.init_std = init_std
        self.init_off = init_off
        self.mode = mode
        self.layout = get_layout(layout)
        self.num_node = self.layout.num_joints
        self.center = self.layout.center
        self.inward = list(self.layout.inward)
        self.outward = list(self.layout.outward)
        self.neighbor = self.inward + self.outward
        self.self_link = [(i, i) for i in range(self.num_node)]
        self.hop_dis = hop_distance(self.num_node, self.inward, self.max_hop)
        self._rng = np.random.default_rng(0 if rng is None else rng)
        self.A = _PARTITIONS[mode](self)

    def __repr__(self) -> str:
        return (f"Graph(layout={self.layout.name!r}, mode={self.mode!r}, "
                f"max_hop={self.max_hop}, A.shape={self.A.shape})")

    def _hop_adjacency(self) -> np.ndarray:
        """The normalised adjacency of joint pairs at most ``max_hop`` apart, self included."""
        return normalize_digraph((self.hop_dis <= self.max_hop).astype(np.float64))

    def _spatial(self) -> np.ndarray:
        return np.stack((edge_to_matrix(self.self_link, self.num_node),
                         normalize_digraph(edge_to_matrix(self.inward, self.num_node)),
                         normalize_digraph(edge_to_matrix(self.outward, self.num_node))))

    def _stgcn_spatial(self) -> np.ndarray:
        adjacency = self._hop_adjacency()
        to_center = self.hop_dis[:, self.center]
        # close[j, i]: receiver j is at least as far from the centre as sender i
        close = to_center[:, None] >= to_center[None, :]
        subsets = []
        for hop in range(self.max_hop + 1):
            at_hop = self.hop_dis == hop
            subsets.append(np.where(at_hop & close, adjacency, 0.0))
            if hop > 0:
                subsets.append(np.where(at_hop & ~close, adjacency, 0.0))
        return np.stack(subsets)

    def _uniform(self) -> np.ndarray:
        return self._hop_adjacency()[None]

    def _distance(self) -> np.ndarray:
        adjacency = self._hop_adjacency()
        return np.stack([np.where(self.hop_dis == hop, adjacency, 0.0)
                         for hop in range(self.max_hop + 1)])

    def _binary_adj(self) -> np.ndarray:
        return edge_to_matrix(self.neighbor, self.num_node)[None]

    def _random(self) -> np.ndarray:
        size = self.num_node * self.nx_node
        noise = self._rng.standard_normal((self.num_filter, size, size))
        return noise * self.init_std + self.init_off


_PARTITIONS: dict[str, Callable[[Graph], np.ndarray]] = {
    mode: getattr(Graph, f"_{mode}") for mode in Graph.MODES
}

"""The transform registry and :class:`Compose`, which chains transforms into a pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from skel_core.registry import Registry

TRANSFORMS = Registry("transform")


class Compose:
    """Apply transforms in order. Items are callables or PYSKL-style ``dict(type=...)`` configs."""

    def __init__(self, transforms: Iterable[Callable | Mapping]):
        self.transforms = [TRANSFORMS.build(t) if isinstance(t, Mapping) else t for t in transforms]
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"pipeline item {t!r} is neither a callable nor a dict(type=...)")

    def __call__(self, results: dict) -> dict:
        for t in self.transforms:
            results = t(results)
        return results

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"

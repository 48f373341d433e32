"""Transforms with PYSKL's names and arguments, so a PYSKL pipeline config runs unchanged.

A transform is a callable taking the results dict of one sample and returning it. Transforms
never modify the arrays they are given (they build new ones), and take their randomness from
the ``numpy.random.Generator`` the dataset puts in ``results['rng']``.
"""

from .compose import TRANSFORMS, Compose
from .features import GenSkeFeat
from .formatting import Collect, FormatGCNInput, ToTensor
from .normalize import PreNormalize2D
from .sampling import PoseDecode, UniformSampleFrames

__all__ = [
    "TRANSFORMS",
    "Collect",
    "Compose",
    "FormatGCNInput",
    "GenSkeFeat",
    "PoseDecode",
    "PreNormalize2D",
    "ToTensor",
    "UniformSampleFrames",
]

for _cls in (
    Collect,
    FormatGCNInput,
    GenSkeFeat,
    PoseDecode,
    PreNormalize2D,
    ToTensor,
    UniformSampleFrames,
):
    TRANSFORMS.register(obj=_cls)

"""Transforms with PYSKL's names and arguments, so a PYSKL pipeline config runs unchanged.

A transform is a callable taking the results dict of one sample and returning it. Transforms
never modify the arrays they are given (they build new ones), and take their randomness from
the ``numpy.random.Generator`` the dataset puts in ``results['rng']``.
"""

from .augment import RandomGaussianNoise, RandomRot, RandomScale
from .compose import TRANSFORMS, Compose
from .cropping import CenterCrop, PoseCompact, RandomResizedCrop
from .decompress import DecompressPose
from .features import GenSkeFeat
from .flip import Flip
from .formatting import Collect, FormatGCNInput, FormatShape, ToTensor
from .heatmap import GeneratePoseTarget
from .normalize import PreNormalize2D, PreNormalize3D
from .resize import Resize
from .sampling import PoseDecode, UniformSample, UniformSampleFrames

__all__ = [
    "TRANSFORMS",
    "CenterCrop",
    "Collect",
    "Compose",
    "DecompressPose",
    "Flip",
    "FormatGCNInput",
    "FormatShape",
    "GenSkeFeat",
    "GeneratePoseTarget",
    "PoseCompact",
    "PoseDecode",
    "PreNormalize2D",
    "PreNormalize3D",
    "RandomGaussianNoise",
    "RandomResizedCrop",
    "RandomRot",
    "RandomScale",
    "Resize",
    "ToTensor",
    "UniformSample",
    "UniformSampleFrames",
]

for _cls in (
    CenterCrop,
    DecompressPose,
    Flip,
    FormatShape,
    GeneratePoseTarget,
    PoseCompact,
    RandomResizedCrop,
    Resize,
    Collect,
    FormatGCNInput,
    GenSkeFeat,
    PoseDecode,
    PreNormalize2D,
    ToTensor,
    UniformSampleFrames,
    PreNormalize3D,
    RandomGaussianNoise,
    RandomRot,
    RandomScale,
    UniformSample,
):
    TRANSFORMS.register(obj=_cls)

"""Random geometric augmentations of skeletons: rotation, scaling and joint jitter.

PYSKL's ``RandomRot``, ``RandomScale`` and ``RandomGaussianNoise`` with their arguments and
results, except that randomness comes from the sample's ``results['rng']`` (never numpy's
global state), the caller's arrays are never modified, and output is float32 (float64 input
stays float64). The random draws each transform makes are listed in its docstring, so a test
(or a user) holding a copy of the generator can recompute the result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .gcn_checks import float_dtype, keypoint_array
from .pose_checks import generator, sample_error


def axis_rotation(axis: int, angle: float) -> np.ndarray:
    """The right-handed 3 x 3 matrix rotating column vectors by ``angle`` about ``axis``."""
    c, s = np.cos(angle), np.sin(angle)
    i, j = (axis + 1) % 3, (axis + 2) % 3  # the rotated plane, in cyclic (right-handed) order
    rot = np.eye(3)
    rot[i, i], rot[i, j], rot[j, i], rot[j, j] = c, -s, s, c
    return rot


class RandomRot:
    """Rotate every joint about the origin by a random angle (PYSKL's ``RandomRot``).

    3D (C = 3): three angles ``a = rng.uniform(-theta, theta, size=3)`` are drawn and the
    skeleton is rotated by ``Rz(-a[2]) @ Ry(-a[1]) @ Rx(-a[0])`` (right-handed axis rotations;
    exactly PYSKL's matrices). 2D (C = 2): one angle ``a = rng.uniform(-theta, theta)`` and the
    counter-clockwise matrix ``[[cos a, -sin a], [sin a, cos a]]``.

    Difference from PYSKL: PYSKL's 2D branch calls ``np.random.uniform(-theta)``, whose upper
    bound defaults to 1, so its angles lie in [-theta, 1) (for the default theta = 0.3, mostly
    positive and up to 57 degrees). Here they lie in [-theta, theta) as intended.

    A skeleton that is all zeros (no person) is returned as it is, without a draw, as in PYSKL.
    """

    def __init__(self, theta: float = 0.3):
        if not isinstance(theta, (int, float)) or theta < 0:
            raise ValueError(f"RandomRot: theta must be a non-negative angle in radians, "
                             f"got {theta!r}")
        self.theta = float(theta)

    def __call__(self, results: dict) -> dict:
        kp = keypoint_array(results, "RandomRot")
        if np.allclose(kp, 0):
            return results
        rng = generator(results, "RandomRot")
        if kp.shape[-1] == 3:
            a = rng.uniform(-self.theta, self.theta, size=3)
            rot = axis_rotation(2, -a[2]) @ axis_rotation(1, -a[1]) @ axis_rotation(0, -a[0])
        else:
            a = rng.uniform(-self.theta, self.theta)
            rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        dtype = float_dtype(kp)
        results = dict(results)
        results["keypoint"] = (kp.astype(dtype) @ rot.T.astype(dtype)).astype(dtype, copy=False)
        return results

    def __repr__(self) -> str:
        return f"RandomRot(theta={self.theta})"


class RandomScale:
    """Scale each coordinate axis by its own random factor (PYSKL's ``RandomScale``).

    ``scale`` is one number for every axis or one per axis (its length must equal C). The
    factors are ``1 + rng.uniform(-1, 1, size=C) * scale``.
    """

    def __init__(self, scale: float | Sequence[float] = 0.2):
        values = [scale] if isinstance(scale, (int, float)) else list(scale)
        if not values or not all(isinstance(v, (int, float)) and v >= 0 for v in values):
            raise ValueError(f"RandomScale: scale must be a non-negative number or a sequence "
                             f"of them (one per coordinate), got {scale!r}")
        self.scale = float(scale) if isinstance(scale, (int, float)) else tuple(map(float, values))

    def __call__(self, results: dict) -> dict:
        kp = keypoint_array(results, "RandomScale")
        channels = kp.shape[-1]
        scale = np.full(channels, self.scale) if isinstance(self.scale, float) \
            else np.asarray(self.scale)
        if scale.size != channels:
            raise sample_error(results, "RandomScale",
                               f"{scale.size} scale values for C = {channels} coordinates")
        factor = 1 + generator(results, "RandomScale").uniform(-1, 1, size=channels) * scale
        dtype = float_dtype(kp)
        results = dict(results)
        results["keypoint"] = kp.astype(dtype) * factor.astype(dtype)
        return results

    def __repr__(self) -> str:
        return f"RandomScale(scale={self.scale})"


_PRESENT_EPS = 1e-4  # PYSKL's threshold on a frame's squared min corner


class RandomGaussianNoise:
    """Move each joint by a random offset proportional to the skeleton's size (PYSKL's).

    For each person-frame, its box is the per-axis min and max over the joints; a frame counts
    as present when the squared norm of its min corner exceeds 1e-4 (PYSKL's test; absent
    frames get no noise). The size ``norm`` is the diagonal of that frame's box
    (``base='frame'``) or of the box around all present frames (``base='video'``). Each joint
    moves by ``sigma * norm * n`` along a direction ``u / |u|``, with draws, in this order:

    - ``shared=False``: ``n = rng.standard_normal((M*T, V))``,
      ``u = rng.uniform(-1, 1, size=(M*T, V, C))``;
    - ``shared=True`` (only with ``base='video'``): ``n = rng.standard_normal(V)`` and
      ``u = rng.uniform(-1, 1, size=(V, C))``, the same for every frame.

    A sample with no present frame is returned as it is (PYSKL fails an assertion with
    ``base='video'``).
    """

    def __init__(self, sigma: float = 0.01, base: str = "frame", shared: bool = False):
        if not isinstance(sigma, (int, float)) or sigma < 0:
            raise ValueError(f"RandomGaussianNoise: sigma must be a non-negative number, "
                             f"got {sigma!r}")
        if base not in ("frame", "video"):
            raise ValueError(f"RandomGaussianNoise: base must be 'frame' or 'video', "
                             f"got {base!r}")
        if shared and base == "frame":
            raise ValueError("RandomGaussianNoise: shared=True needs base='video' (a shared "
                             "offset scaled per frame would change with the frame's size)")
        self.sigma = float(sigma)
        self.base = base
        self.shared = bool(shared)

    def __call__(self, results: dict) -> dict:
        kp = keypoint_array(results, "RandomGaussianNoise")
        m, t, v, c = kp.shape
        dtype = float_dtype(kp)
        frames = kp.reshape(m * t, v, c).astype(dtype)
        low, high = frames.min(axis=1), frames.max(axis=1)
        present = (low**2).sum(axis=1) > _PRESENT_EPS
        if not present.any():
            return results
        if self.base == "frame":
            norm = np.linalg.norm(high - low, axis=1) * present
        else:
            extent = high[present].max(axis=0) - low[present].min(axis=0)
            norm = np.linalg.norm(extent) * present
        rng = generator(results, "RandomGaussianNoise")
        if self.shared:
            n = np.broadcast_to(rng.standard_normal(v), (m * t, v))
            u = np.broadcast_to(rng.uniform(-1, 1, size=(v, c)), (m * t, v, c))
        else:
            n = rng.standard_normal((m * t, v))
            u = rng.uniform(-1, 1, size=(m * t, v, c))
        offset = u / np.linalg.norm(u, axis=-1, keepdims=True) * (self.sigma * n
                                                                  * norm[:, None])[..., None]
        results = dict(results)
        results["keypoint"] = (frames + offset.astype(dtype)).reshape(m, t, v, c)
        return results

    def __repr__(self) -> str:
        return (f"RandomGaussianNoise(sigma={self.sigma}, base={self.base!r}, "
                f"shared={self.shared})")

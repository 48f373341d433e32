"""GeneratePoseTarget: PYSKL's heatmaps in one render call, mirrored clips for double=True."""

import copy

import numpy as np
import pytest

from skel_core.errors import AnnotationError
from skel_data.transforms import Flip, GeneratePoseTarget, PoseCompact, Resize
from skel_data.transforms.heatmap import COCO_LEFT_KP, COCO_RIGHT_KP

EPS = 1e-3


def window(low, high, sigma, size):
    """PYSKL's pixel range of a Gaussian spanning [low, high]: int() truncates toward zero."""
    return max(int(low - 3 * sigma), 0), min(int(high + 3 * sigma) + 1, size)


def keypoint_map(out, x, y, score, sigma):
    """Max a keypoint's Gaussian into ``out`` (H, W), pixel by pixel."""
    h, w = out.shape
    x0, x1 = window(x, x, sigma, w)
    y0, y1 = window(y, y, sigma, h)
    for row in range(y0, y1):
        for col in range(x0, x1):
            value = score * np.exp(-((col - x) ** 2 + (row - y) ** 2) / (2 * sigma**2))
            out[row, col] = max(out[row, col], value)


def limb_map(out, a, b, score_a, score_b, sigma):
    """Max the Gaussian of the segment a-b into ``out``; a limb under 1 px is keypoint a."""
    if (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 < 1:
        keypoint_map(out, a[0], a[1], score_a, sigma)
        return
    h, w = out.shape
    x0, x1 = window(min(a[0], b[0]), max(a[0], b[0]), sigma, w)
    y0, y1 = window(min(a[1], b[1]), max(a[1], b[1]), sigma, h)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    for row in range(y0, y1):
        for col in range(x0, x1):
            p = np.array([col, row], np.float64)
            along = np.clip(np.dot(p - a, b - a) / np.dot(b - a, b - a), 0, 1)
            d2 = np.sum((p - (a + along * (b - a))) ** 2)
            value = min(score_a, score_b) * np.exp(-d2 / (2 * sigma**2))
            out[row, col] = max(out[row, col], value)


def reference(keypoint, scores, height, width, sigma=0.6, limbs=(), with_kp=True):
    """(T, C, H, W) maps of keypoint (M, T, V, 2) with scores (M, T, V), one Gaussian at a time."""
    m, t, v, _ = keypoint.shape
    channels = (v if with_kp else 0) + len(limbs)
    out = np.zeros((t, channels, height, width))
    for frame in range(t):
        for person in range(m):
            # float32 coordinates, as PYSKL's windows are computed in the keypoints' float32
            kp, sc = keypoint[person, frame].astype(np.float32), scores[person, frame]
            if with_kp:
                for joint in range(v):
                    if sc[joint] >= EPS:
                        keypoint_map(out[frame, joint], *kp[joint], sc[joint], sigma)
            for index, (i, j) in enumerate(limbs):
                if min(sc[i], sc[j]) >= EPS:
                    channel = out[frame, (v if with_kp else 0) + index]
                    limb_map(channel, kp[i], kp[j], sc[i], sc[j], sigma)
    return out


def sample(rng, m=2, t=3, v=5, height=14, width=18):
    keypoint = rng.uniform(-2, [width + 2, height + 2], (m, t, v, 2)).astype(np.float32)
    scores = rng.uniform(0, 1, (m, t, v)).astype(np.float32)
    scores[0, 0, 0] = EPS / 2  # below eps: draws nothing
    return {
        "frame_dir": "small",
        "keypoint": keypoint,
        "keypoint_score": scores,
        "img_shape": (height, width),
    }


LIMBS = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 4))


@pytest.mark.parametrize("with_kp, with_limb", [(True, False), (False, True), (True, True)])
def test_maps_match_a_per_keypoint_numpy_computation(rng, with_kp, with_limb):
    results = sample(rng)
    out = GeneratePoseTarget(sigma=0.8, with_kp=with_kp, with_limb=with_limb, skeletons=LIMBS)(
        results
    )
    expected = reference(
        results["keypoint"], results["keypoint_score"], 14, 18, 0.8,
        LIMBS if with_limb else (), with_kp,
    )
    assert out["imgs"].shape == expected.shape and out["imgs"].dtype == np.float32
    np.testing.assert_allclose(out["imgs"], expected, atol=1e-6)


def test_use_score_false_draws_every_keypoint_at_full_height(rng):
    results = sample(rng)
    out = GeneratePoseTarget(use_score=False)(results)["imgs"]
    ones = np.ones_like(results["keypoint_score"])
    np.testing.assert_allclose(out, reference(results["keypoint"], ones, 14, 18), atol=1e-6)


def test_real_keypoints_with_scaling_match_numpy_and_leave_the_input_alone(shared_data):
    from skel_core.safe_pickle import safe_load

    record = safe_load(shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl")["annotations"][3]
    results = {key: record[key] for key in ("frame_dir", "img_shape")}
    results["keypoint"] = record["keypoint"][:, :6].astype(np.float32)  # 6 frames
    results["keypoint_score"] = record["keypoint_score"][:, :6].astype(np.float32)
    before = copy.deepcopy(results)
    scaling = 0.05
    out = GeneratePoseTarget(scaling=scaling)(results)

    height, width = (int(side * scaling + 0.5) for side in record["img_shape"])
    expected = reference(results["keypoint"] * scaling, results["keypoint_score"], height, width)
    assert out["imgs"].shape == (6, 17, height, width)
    assert expected.max() > 0.5  # the clip really draws something
    np.testing.assert_allclose(out["imgs"], expected, atol=1e-5)
    for key in ("keypoint", "keypoint_score"):  # PYSKL rescales the keypoints in place
        np.testing.assert_array_equal(results[key], before[key])


def coco_clip(rng, t=4, size=24, integer=False):
    keypoint = rng.uniform(3, size - 4, (2, t, 17, 2))
    keypoint = np.round(keypoint) if integer else keypoint
    return {
        "frame_dir": "coco",
        "keypoint": keypoint.astype(np.float32),
        "keypoint_score": rng.uniform(0.2, 1, (2, t, 17)).astype(np.float32),
        "img_shape": (size, size),
    }


def swapped(values, left=COCO_LEFT_KP, right=COCO_RIGHT_KP, axis=2):
    order = np.arange(values.shape[axis])
    order[list(left)], order[list(right)] = list(right), list(left)
    return np.take(values, order, axis=axis)


def test_double_appends_the_clip_of_mirrored_keypoints_with_left_right_swapped(rng):
    results = coco_clip(rng)
    single = GeneratePoseTarget()(results)["imgs"]
    double = GeneratePoseTarget(double=True)(results)["imgs"]
    assert double.shape == (8, 17, 24, 24)
    np.testing.assert_array_equal(double[:4], single)

    mirrored = results["keypoint"].copy()
    mirrored[..., 0] = 24 - 1 - mirrored[..., 0]
    expected = reference(swapped(mirrored), swapped(results["keypoint_score"]), 24, 24)
    np.testing.assert_allclose(double[4:], expected, atol=1e-6)


def test_flipped_half_is_the_mirror_image_where_windows_are_symmetric(rng):
    # A window int(x - 3 sigma) <= col <= int(x + 3 sigma) mirrors exactly when x +- 3 sigma are
    # integers: here, integer keypoints and sigma = 1.
    double = GeneratePoseTarget(sigma=1.0, double=True)(coco_clip(rng, integer=True))["imgs"]
    mirror = swapped(double[:4, :, :, ::-1], axis=1)  # PYSKL's test-time flip of the heatmap
    np.testing.assert_allclose(double[4:], mirror, atol=1e-6)


def test_flipped_half_differs_from_the_mirror_image_only_at_window_edges(rng):
    double = GeneratePoseTarget(double=True)(coco_clip(rng))["imgs"]
    mirror = swapped(double[:4, :, :, ::-1], axis=1)
    # A pixel in one window but not in the mirrored one is outside a window, so more than
    # 3 sigma from the keypoint in x: it carries less than exp(-9 / 2) of the peak.
    assert np.abs(double[4:] - mirror).max() < np.exp(-4.5)
    assert np.abs(double[4:] - mirror).max() > 0  # non-integer keypoints: windows do differ


def test_double_with_limbs_swaps_limb_channels(rng):
    results = coco_clip(rng, integer=True)
    kwargs = dict(sigma=1.0, with_kp=False, with_limb=True, double=True)
    double = GeneratePoseTarget(**kwargs)(results)["imgs"]
    left, right = (0, 2, 4, 5, 6, 10, 11, 12), (1, 3, 7, 8, 9, 13, 14, 15)
    mirror = swapped(double[:4, :, :, ::-1], left, right, axis=1)
    assert double.shape == (8, 17, 24, 24)
    np.testing.assert_allclose(double[4:], mirror, atol=1e-6)


def test_flip_then_render_equals_the_mirrored_render(rng):
    """Flip maps x to W - 1 - x, as the double=True test-time flip does (PYSKL: W - x)."""
    results = coco_clip(rng, integer=True)
    results["rng"] = np.random.default_rng(0)
    render = GeneratePoseTarget(sigma=1.0)  # symmetric windows, as above
    flipped = render(Flip(flip_ratio=1.0, left_kp=COCO_LEFT_KP, right_kp=COCO_RIGHT_KP)(results))
    mirror = swapped(render(results)["imgs"][:, :, :, ::-1], axis=1)
    np.testing.assert_allclose(flipped["imgs"], mirror, atol=1e-6)


def test_renders_after_the_geometric_transforms(rng):
    results = coco_clip(rng, size=200)
    results = Resize((32, 32), keep_ratio=False)(PoseCompact()(results))
    out = GeneratePoseTarget()(results)["imgs"]
    assert out.shape == (4, 17, 32, 32) and out.max() > 0.2


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r.update(keypoint=np.full((1, 2, 17, 2), np.nan, np.float32)), "non-finite"),
        (lambda r: r.update(keypoint_score=np.ones((1, 2, 16), np.float32)), "keypoint_score"),
        (lambda r: r.pop("img_shape"), "img_shape"),
        (lambda r: r.update(keypoint=np.zeros((1, 0, 17, 2), np.float32)), "empty clip"),
    ],
)
def test_bad_samples_raise_errors_naming_the_sample(change, message):
    results = {
        "frame_dir": "broken_clip",
        "keypoint": np.ones((1, 2, 17, 2), np.float32),
        "keypoint_score": np.ones((1, 2, 17), np.float32),
        "img_shape": (8, 8),
    }
    change(results)
    with pytest.raises(AnnotationError, match=message) as info:
        GeneratePoseTarget()(results)
    assert "broken_clip" in str(info.value)


def test_flip_and_limb_indices_are_checked_against_the_sample():
    results = {"frame_dir": "five_joints", "keypoint": np.ones((1, 2, 5, 2), np.float32),
               "img_shape": (8, 8)}
    with pytest.raises(AnnotationError, match=r"five_joints.*\n.*keypoint indices"):
        GeneratePoseTarget(double=True)(results)
    with pytest.raises(AnnotationError, match="join keypoints outside"):
        GeneratePoseTarget(with_kp=False, with_limb=True)(results)
    assert GeneratePoseTarget()(results)["imgs"].shape == (2, 5, 8, 8)


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="with_kp and with_limb"):
        GeneratePoseTarget(with_kp=False)
    with pytest.raises(ValueError, match="sigma"):
        GeneratePoseTarget(sigma=0)
    with pytest.raises(ValueError, match="differ in length"):
        GeneratePoseTarget(left_kp=(1, 3), right_kp=(2,))

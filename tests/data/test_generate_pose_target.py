"""GeneratePoseTarget: PYSKL's heatmaps in one render call, mirrored clips for double=True."""

import copy

import numpy as np
import pytest

from skel_apps.benchmark.pyskl_heatmap import generate_pose_target
from skel_core.errors import AnnotationError
from skel_data.transforms import Flip, GeneratePoseTarget, PoseCompact, Resize
from skel_data.transforms.heatmap import COCO_LEFT_KP, COCO_RIGHT_KP

EPS = 1e-3


def reference(keypoint, scores, height, width, sigma=0.6, limbs=(), with_kp=True):
    """(T, C, H, W) maps of keypoint (M, T, V, 2) with scores (M, T, V), by the numpy port of
    PYSKL's per-keypoint loop that skel-bench measures against."""
    return generate_pose_target(
        keypoint, scores, (height, width), sigma=sigma, with_kp=with_kp, limbs=limbs
    )


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


def frames(results: dict) -> np.ndarray:
    """GeneratePoseTarget's maps in PYSKL's (frames, C, H, W) layout."""
    imgs = results["imgs"]
    return imgs.reshape((-1,) + imgs.shape[-3:])


@pytest.mark.parametrize("with_kp, with_limb", [(True, False), (False, True), (True, True)])
def test_maps_match_a_per_keypoint_numpy_computation(rng, with_kp, with_limb):
    results = sample(rng)
    out = GeneratePoseTarget(sigma=0.8, with_kp=with_kp, with_limb=with_limb, skeletons=LIMBS)(
        results
    )
    expected = reference(
        results["keypoint"],
        results["keypoint_score"],
        14,
        18,
        0.8,
        LIMBS if with_limb else (),
        with_kp,
    )
    assert frames(out).shape == expected.shape and frames(out).dtype == np.float32
    np.testing.assert_allclose(frames(out), expected, atol=1e-6)


def test_use_score_false_draws_every_keypoint_at_full_height(rng):
    results = sample(rng)
    out = frames(GeneratePoseTarget(use_score=False)(results))
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
    assert frames(out).shape == (6, 17, height, width)
    assert expected.max() > 0.5  # the clip really draws something
    np.testing.assert_allclose(frames(out), expected, atol=1e-5)
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
    single = frames(GeneratePoseTarget()(results))
    double = frames(GeneratePoseTarget(double=True)(results))
    assert double.shape == (8, 17, 24, 24)
    np.testing.assert_array_equal(double[:4], single)

    mirrored = results["keypoint"].copy()
    mirrored[..., 0] = 24 - 1 - mirrored[..., 0]
    expected = reference(swapped(mirrored), swapped(results["keypoint_score"]), 24, 24)
    np.testing.assert_allclose(double[4:], expected, atol=1e-6)


def test_flipped_half_is_the_mirror_image_where_windows_are_symmetric(rng):
    # A window int(x - 3 sigma) <= col <= int(x + 3 sigma) mirrors exactly when x +- 3 sigma are
    # integers: here, integer keypoints and sigma = 1.
    double = frames(GeneratePoseTarget(sigma=1.0, double=True)(coco_clip(rng, integer=True)))
    mirror = swapped(double[:4, :, :, ::-1], axis=1)  # PYSKL's test-time flip of the heatmap
    np.testing.assert_allclose(double[4:], mirror, atol=1e-6)


def test_flipped_half_differs_from_the_mirror_image_only_at_window_edges(rng):
    double = frames(GeneratePoseTarget(double=True)(coco_clip(rng)))
    mirror = swapped(double[:4, :, :, ::-1], axis=1)
    # A pixel in one window but not in the mirrored one is outside a window, so more than
    # 3 sigma from the keypoint in x: it carries less than exp(-9 / 2) of the peak.
    assert np.abs(double[4:] - mirror).max() < np.exp(-4.5)
    assert np.abs(double[4:] - mirror).max() > 0  # non-integer keypoints: windows do differ


def test_double_with_limbs_swaps_limb_channels(rng):
    results = coco_clip(rng, integer=True)
    kwargs = dict(sigma=1.0, with_kp=False, with_limb=True, double=True)
    double = frames(GeneratePoseTarget(**kwargs)(results))
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
    mirror = swapped(frames(render(results))[:, :, :, ::-1], axis=1)
    np.testing.assert_allclose(frames(flipped), mirror, atol=1e-6)


def test_renders_after_the_geometric_transforms(rng):
    results = coco_clip(rng, size=200)
    results = Resize((32, 32), keep_ratio=False)(PoseCompact()(results))
    out = frames(GeneratePoseTarget()(results))
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
    results = {
        "frame_dir": "five_joints",
        "keypoint": np.ones((1, 2, 5, 2), np.float32),
        "img_shape": (8, 8),
    }
    with pytest.raises(AnnotationError, match=r"five_joints.*\n.*keypoint indices"):
        GeneratePoseTarget(double=True)(results)
    with pytest.raises(AnnotationError, match="join keypoints outside"):
        GeneratePoseTarget(with_kp=False, with_limb=True)(results)
    assert frames(GeneratePoseTarget()(results)).shape == (2, 5, 8, 8)


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="with_kp and with_limb"):
        GeneratePoseTarget(with_kp=False)
    with pytest.raises(ValueError, match="sigma"):
        GeneratePoseTarget(sigma=0)
    with pytest.raises(ValueError, match="differ in length"):
        GeneratePoseTarget(left_kp=(1, 3), right_kp=(2,))

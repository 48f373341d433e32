"""skel_kernels.render_heatmaps: the C++ CPU kernel equals the PyTorch reference, both equal an
independent numpy port of PYSKL's per-keypoint loop (skel_apps.benchmark.pyskl_heatmap, window
edges included), on random and real keypoints; the op passes opcheck and compiles; bad
arguments raise errors that name them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from skel_apps.benchmark.pyskl_heatmap import COCO_LIMBS, pyskl_heatmaps
from skel_core.annotations import load_annotations
from skel_kernels import render_heatmaps

OP = torch.ops.skel.render_heatmaps.default
SIZE = 64


def random_inputs(rng, shape, size=16, dtype=torch.float32, margin=6.0):
    """Keypoints over the image and up to ``margin`` pixels beyond it, a fifth of the scores 0."""
    keypoints = rng.uniform(-margin, size + margin, size=(*shape, 2))
    scores = rng.uniform(0, 1, size=shape) * (rng.uniform(size=shape) > 0.2)
    return torch.tensor(keypoints, dtype=dtype), torch.tensor(scores, dtype=dtype)


def assert_all_agree(keypoints, scores, height, width, **options):
    """CPU kernel == reference (1e-5) == PYSKL port (1e-5); returns the kernel's output."""
    cpu = render_heatmaps(keypoints, scores, height=height, width=width, impl="cpu", **options)
    reference = render_heatmaps(keypoints, scores, height=height, width=width,
                                impl="reference", **options)
    port = pyskl_heatmaps(keypoints, scores, height, width, **options)
    assert cpu.dtype == torch.float32 and cpu.shape == port.shape
    torch.testing.assert_close(cpu, reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(cpu, torch.from_numpy(port), atol=1e-5, rtol=0)
    return cpu


@pytest.mark.parametrize("sigma", [0.3, 0.6, 3.0])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_random_keypoints_and_limbs_agree_with_reference_and_pyskl(rng, sigma, dtype):
    keypoints, scores = random_inputs(rng, (2, 3, 2, 5), dtype=dtype)
    keypoints[0, 0, 0, 3] = keypoints[0, 0, 0, 2] + 0.4  # a limb shorter than one pixel
    limbs = [(0, 1), (1, 2), (2, 3), (4, 4)]  # (4, 4) has zero length
    out = assert_all_agree(keypoints, scores, 16, 12, sigma=sigma, limbs=limbs)
    assert out.shape == (2, 5 + 4, 2, 16, 12)
    assert out.amax() > 0.1


@pytest.mark.parametrize("options", [
    {"limbs": None},
    {"limbs": [(0, 1), (2, 0)], "with_keypoints": False},
    {"limbs": [(0, 1)], "eps": 0.5},
])
def test_single_frame_and_channel_options_agree(rng, options):
    keypoints, scores = random_inputs(rng, (3, 2, 1, 3), size=10)
    out = assert_all_agree(keypoints, scores, 10, 10, **options)
    channels = 3 * options.get("with_keypoints", True) + len(options["limbs"] or [])
    assert out.shape == (3, channels, 1, 10, 10)


def test_window_edges_truncate_towards_zero_like_pyskl():
    sigma = 0.6
    # x = -2.3: int(-2.3 + 1.8) = int(-0.5) = 0, so column 0 is drawn (floor would skip it);
    # x = 2.5: int(0.7) = 0, so column 0 is drawn though 2.5 > 3 sigma away;
    # x = 2.9: int(1.1) = 1, so column 0 is not drawn.
    xs = [-2.3, 2.5, 2.9]
    keypoints = torch.tensor([[x, 2.0] for x in xs]).reshape(1, 1, 1, 3, 2)
    scores = torch.full((1, 1, 1, 3), 0.8)
    out = assert_all_agree(keypoints, scores, 5, 5, sigma=sigma)
    column0 = out[0, :, 0, 2, 0]
    expected = [0.8 * math.exp(-(x**2) / (2 * sigma**2)) for x in (2.3, 2.5)] + [0.0]
    torch.testing.assert_close(column0, torch.tensor(expected), atol=1e-7, rtol=1e-5)
    # rows: int(2 - 1.8) = 0 to int(2 + 1.8) = 3, so row 4 stays empty though the Gaussian is not
    assert out[0, 2, 0, :, 0].sum() == 0 and out[0, 0, 0, 4].sum() == 0


def test_persons_combine_by_max_not_sum():
    keypoints = torch.tensor([4.0, 3.0]).expand(1, 2, 1, 1, 2).contiguous()
    scores = torch.tensor([0.5, 0.8]).reshape(1, 2, 1, 1)
    for impl in ("cpu", "reference"):
        out = render_heatmaps(keypoints, scores, height=6, width=8, impl=impl)
        assert out[0, 0, 0, 3, 4] == pytest.approx(0.8)


def test_short_limb_is_drawn_as_its_start_keypoint_with_the_start_score():
    keypoints = torch.tensor([[5.0, 5.0], [5.5, 5.5]]).reshape(1, 1, 1, 2, 2)
    scores = torch.tensor([0.9, 0.2]).reshape(1, 1, 1, 2)
    for impl in ("cpu", "reference"):
        limb = render_heatmaps(keypoints, scores, height=10, width=10, limbs=[(0, 1)],
                               with_keypoints=False, impl=impl)
        start = render_heatmaps(keypoints[..., :1, :], scores[..., :1], height=10, width=10,
                                impl=impl)
        torch.testing.assert_close(limb, start, atol=0, rtol=0)
        assert limb.amax() == pytest.approx(0.9)


def test_keypoint_channels_come_before_limb_channels(rng):
    keypoints, scores = random_inputs(rng, (1, 2, 3, 4))
    limbs = torch.tensor([[0, 1], [3, 2]])
    both = render_heatmaps(keypoints, scores, height=16, width=16, limbs=limbs)
    points = render_heatmaps(keypoints, scores, height=16, width=16)
    segments = render_heatmaps(keypoints, scores, height=16, width=16, limbs=limbs,
                               with_keypoints=False)
    torch.testing.assert_close(both, torch.cat([points, segments], dim=1), atol=0, rtol=0)


@pytest.mark.parametrize("impl", ["cpu", "reference"])
def test_no_persons_renders_zeros(impl):
    keypoints, scores = torch.zeros(2, 0, 3, 4, 2), torch.zeros(2, 0, 3, 4)
    out = render_heatmaps(keypoints, scores, height=5, width=7, limbs=[(0, 1)], impl=impl)
    assert out.shape == (2, 5, 3, 5, 7) and out.dtype == torch.float32
    assert not out.any()


def test_keypoints_far_outside_and_non_finite_draw_nothing():
    keypoints = torch.tensor([[-1e30, 3.0], [3.0, 1e9], [math.nan, 2.0], [2.0, math.inf],
                              [3.0, 3.0], [2.0, 2.0]]).reshape(1, 1, 1, 6, 2)
    scores = torch.tensor([1.0, 1.0, 1.0, 1.0, math.nan, math.inf]).reshape(1, 1, 1, 6)
    # limb (0, 1) crosses the image's bounding box, but its length overflows float32 and it
    # passes 1e9 pixels below the image
    limbs = [(0, 1), (2, 3), (4, 5), (2, 5)]
    for impl in ("cpu", "reference"):
        out = render_heatmaps(keypoints, scores, height=6, width=6, limbs=limbs, impl=impl)
        assert out.shape == (1, 10, 1, 6, 6)
        assert not out.any()


@pytest.mark.parametrize("impl", ["cpu", "reference"])
def test_limb_to_an_infinite_end_draws_nothing(impl):
    keypoints = torch.tensor([[2.0, 2.0], [math.inf, 2.0]]).reshape(1, 1, 1, 2, 2)
    out = render_heatmaps(keypoints, torch.ones(1, 1, 1, 2), height=5, width=5, limbs=[(0, 1)],
                          with_keypoints=False, impl=impl)
    assert not out.any()


def test_half_precision_is_computed_in_float32(rng):
    keypoints, scores = random_inputs(rng, (1, 2, 2, 3))
    half_kp, half_scores = keypoints.half(), scores.half()
    out = render_heatmaps(half_kp, half_scores, height=16, width=16, limbs=[(0, 2)])
    expected = render_heatmaps(half_kp.float(), half_scores.float(), height=16, width=16,
                               limbs=[(0, 2)])
    torch.testing.assert_close(out, expected, atol=0, rtol=0)


def test_output_never_requires_grad(rng):
    keypoints, scores = random_inputs(rng, (1, 1, 2, 3))
    keypoints.requires_grad_()
    for impl in ("cpu", "reference"):
        out = render_heatmaps(keypoints, scores, height=8, width=8, impl=impl)
        assert not out.requires_grad


def test_thread_count_does_not_change_the_result(rng):
    keypoints, scores = random_inputs(rng, (2, 2, 4, 5), size=32)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = render_heatmaps(keypoints, scores, height=32, width=32, limbs=[(0, 1)])
    finally:
        torch.set_num_threads(threads)
    multi = render_heatmaps(keypoints, scores, height=32, width=32, limbs=[(0, 1)])
    torch.testing.assert_close(single, multi, atol=0, rtol=0)


@pytest.fixture(scope="module")
def real_clips(shared_data):
    """Two clips of two real persons (four records of custom_hrnet.pkl, 6 frames each), scaled to
    a 64 x 64 map; clip 1 zoomed 2x about the centre so that limbs leave the image."""
    records = load_annotations(shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl",
                               layout=17).annotations[:4]
    keypoints, scores = [], []
    for record in records:
        img_h, img_w = record["img_shape"]
        xy = record["keypoint"][0, :6].astype(np.float32) * [SIZE / img_w, SIZE / img_h]
        keypoints.append(xy)
        scores.append(record["keypoint_score"][0, :6].astype(np.float32))
    keypoints = torch.tensor(np.stack(keypoints)).reshape(2, 2, 6, 17, 2)
    scores = torch.tensor(np.stack(scores)).reshape(2, 2, 6, 17)
    keypoints[1] = (keypoints[1] - SIZE / 2) * 2 + SIZE / 2
    scores[0, 1, ::2, ::3] = 0  # missing joints
    return keypoints, scores


@pytest.mark.shared_data
@pytest.mark.parametrize("sigma", [0.6, 3.0])
def test_real_keypoints_with_limbs_agree_with_reference_and_pyskl(real_clips, sigma):
    keypoints, scores = real_clips
    assert ((keypoints < 0) | (keypoints >= SIZE)).any()  # some joints leave the image
    out = assert_all_agree(keypoints, scores, SIZE, SIZE, sigma=sigma, limbs=COCO_LIMBS)
    assert out.shape == (2, 17 + len(COCO_LIMBS), 6, SIZE, SIZE)
    # every drawn keypoint peaks near its score: the map holds the real skeleton
    assert out[:, :17].amax() > 0.8


@pytest.mark.shared_data
def test_real_keypoints_at_small_sigma_single_frame(real_clips):
    keypoints, scores = real_clips
    assert_all_agree(keypoints[:, :, :1], scores[:, :, :1], SIZE, SIZE, sigma=0.3,
                     limbs=COCO_LIMBS, with_keypoints=False)


@pytest.mark.shared_data
def test_real_penn_action_keypoints_agree_with_reference_and_pyskl(shared_data, tmp_path):
    """Two Penn Action clips converted to COCO (invisible joints and the missing eyes/ears have
    score 0), 8 frames each, scaled to the map."""
    pytest.importorskip("scipy")
    from skel_data.converters import convert_penn

    labels = tmp_path / "labels"
    labels.mkdir()
    for name in ("0001.mat", "0002.mat"):
        (labels / name).symlink_to(shared_data / "penn_action" / "labels" / name)
    convert_penn(labels, tmp_path / "penn.pkl")
    records = load_annotations(tmp_path / "penn.pkl", layout="coco").annotations
    keypoints, scores = [], []
    for record in records:
        img_h, img_w = record["img_shape"]
        keypoints.append(record["keypoint"][:, :8] * np.float32([SIZE / img_w, SIZE / img_h]))
        scores.append(record["keypoint_score"][:, :8])
    keypoints = torch.tensor(np.stack(keypoints), dtype=torch.float32)  # (2, 1, 8, 17, 2)
    scores = torch.tensor(np.stack(scores), dtype=torch.float32)
    assert (scores == 0).any() and (scores > 0).any()
    out = assert_all_agree(keypoints, scores, SIZE, SIZE, sigma=0.6, limbs=COCO_LIMBS)
    assert out.shape == (2, 17 + len(COCO_LIMBS), 8, SIZE, SIZE) and out.amax() > 0.8


@pytest.mark.parametrize("limbs", [None, torch.tensor([[0, 1], [2, 2]])])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_opcheck(rng, limbs, dtype):
    keypoints, scores = random_inputs(rng, (2, 2, 3, 3), size=8, dtype=dtype)
    torch.library.opcheck(OP, (keypoints, scores, 8, 6, 0.6, limbs, True, 1e-3))


@pytest.mark.compile
def test_compiles_with_fullgraph(rng):
    keypoints, scores = random_inputs(rng, (1, 2, 2, 3), size=8)

    def render(kp, sc):
        return render_heatmaps(kp, sc, height=8, width=8, limbs=[(0, 1)]) * 2

    compiled = torch.compile(render, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(keypoints, scores), render(keypoints, scores))


@pytest.mark.parametrize(("change", "error", "message"), [
    ({"keypoints": torch.zeros(1, 1, 1, 3, 3)}, ValueError, r"keypoints must have shape"),
    ({"keypoints": [[0.0, 1.0]]}, TypeError, r"keypoints must be a torch.Tensor"),
    ({"keypoints": torch.zeros(1, 1, 1, 3, 2, dtype=torch.int64)}, ValueError, r"floating"),
    ({"scores": torch.zeros(1, 1, 2, 3)}, ValueError, r"scores must have shape .*\(1, 1, 1, 3\)"),
    ({"limbs": [(0, 3)]}, ValueError, r"limb 0 \(0, 3\) joins a keypoint outside \[0, 3\)"),
    ({"limbs": [(0, 1), (-1, 2)]}, ValueError, r"limb 1 \(-1, 2\)"),
    ({"limbs": [(0, 1, 2)]}, ValueError, r"limbs must have shape \(L, 2\).*limb 0 is \(0, 1, 2\)"),
    ({"limbs": [(0, 1), (0.5, 1)]}, ValueError, r"limb 1 is \(0.5, 1\)"),
    ({"limbs": [0, 1]}, ValueError, r"limbs must be \(L, 2\) keypoint index pairs, got \[0, 1\]"),
    ({"limbs": torch.tensor([0, 1])}, ValueError, r"limbs must have shape \(L, 2\), got \(2,\)"),
    ({"limbs": torch.tensor([[0, 1], [1, 7]])}, ValueError, r"limb 1 \(1, 7\) joins"),
    ({"limbs": torch.tensor([[0.0, 1.0]])}, ValueError, r"limbs must hold integers"),
    ({"height": 0}, ValueError, r"height must be a positive int"),
    ({"width": 2.5}, ValueError, r"width must be a positive int"),
    ({"sigma": 0.0}, ValueError, r"sigma must be a positive number"),
    ({"eps": -1e-3}, ValueError, r"eps must be a positive number"),
    ({"with_keypoints": False}, ValueError, r"nothing to render"),
    ({"impl": "gpu"}, ValueError, r"impl must be one of"),
    ({"impl": "cuda"}, ValueError, r"impl='cuda' needs CUDA tensors"),
])
def test_wrapper_rejects_bad_arguments(change, error, message):
    arguments = {"keypoints": torch.zeros(1, 1, 1, 3, 2), "scores": torch.zeros(1, 1, 1, 3),
                 "height": 4, "width": 4, **change}
    with pytest.raises(error, match=message):
        render_heatmaps(arguments.pop("keypoints"), arguments.pop("scores"), **arguments)


@pytest.mark.parametrize(("arguments", "message"), [
    ((torch.zeros(1, 1, 1, 3), torch.zeros(1, 1, 1)), r"keypoints must have shape \(N, M, T"),
    ((torch.zeros(1, 1, 1, 3, 2), torch.zeros(1, 1, 3)), r"scores must have shape"),
    ((torch.zeros(1, 1, 1, 3, 2), torch.zeros(1, 1, 1, 3, dtype=torch.float64)), r"dtype"),
])
def test_kernel_rejects_bad_shapes(arguments, message):
    with pytest.raises(RuntimeError, match=message):
        OP(*arguments, 4, 4, 0.6, None, True, 1e-3)


@pytest.mark.parametrize(("limbs", "message"), [
    (torch.tensor([[0, 5]]), r"limb 0 joins keypoint 5, outside \[0, 3\)"),
    (torch.tensor([0, 1]), r"limbs must have shape \(L, 2\)"),
    (torch.tensor([[0, 1]], dtype=torch.int32), r"limbs must be int64"),
])
def test_kernel_rejects_bad_limbs(limbs, message):
    with pytest.raises(RuntimeError, match=message):
        OP(torch.zeros(1, 1, 1, 3, 2), torch.zeros(1, 1, 1, 3), 4, 4, 0.6, limbs, True, 1e-3)

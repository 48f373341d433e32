"""PoseC3D keypoint transforms: PYSKL's boxes and coordinate maps, kp-file decoding, shapes."""

import copy
import pickle

import numpy as np
import pytest

from skel_core.errors import AnnotationError
from skel_core.safe_pickle import safe_load
from skel_data import PoseDataset
from skel_data.transforms import (
    CenterCrop,
    DecompressPose,
    Flip,
    FormatShape,
    GeneratePoseTarget,
    PoseCompact,
    RandomResizedCrop,
    Resize,
)


def clip(keypoint, img_shape=(100, 200), seed=0):
    keypoint = np.asarray(keypoint, np.float32)
    return {
        "frame_dir": "hand_made",
        "img_shape": img_shape,
        "keypoint": keypoint,
        "keypoint_score": np.linspace(0.1, 1, keypoint[..., 0].size, dtype=np.float32).reshape(
            keypoint.shape[:3]
        ),
        "rng": np.random.default_rng(seed),
    }


# One person, two frames, three joints; (0, 0) is a missing joint, x = 0 a missing x only.
HAND_MADE = [[[[20, 30], [60, 50], [0, 0]], [[40, 40], [0, 35], [0, 0]]]]


def test_pose_compact_box_with_padding():
    out = PoseCompact(padding=0.25, threshold=10)(clip(HAND_MADE))
    # Tight box x 20..60, y 30..50; centre (40, 40); half sizes 25 and 12.5 after padding.
    assert out["img_shape"] == (25, 50)  # int(52.5) - int(27.5), int(65) - int(15)
    expected = np.array([[[[5, 3], [45, 23], [0, 0]], [[25, 13], [0, 8], [0, 0]]]], np.float32)
    np.testing.assert_array_equal(out["keypoint"], expected)
    np.testing.assert_allclose(out["crop_quadruple"], [15 / 200, 27 / 100, 50 / 200, 25 / 100])


def test_pose_compact_hw_ratio_and_image_padding():
    out = PoseCompact(hw_ratio=1.0, allow_imgpad=True)(clip(HAND_MADE, img_shape=(40, 200)))
    assert out["img_shape"] == (50, 50)  # y 15..65 reaches below the 40-pixel frame
    np.testing.assert_array_equal(out["keypoint"][0, 0, 0], [5, 15])

    out = PoseCompact(hw_ratio=1.0, allow_imgpad=False)(clip(HAND_MADE, img_shape=(40, 200)))
    assert out["img_shape"] == (25, 50)  # y clipped to 15..40
    # A box starting left of the frame: int() truncates -4.5 to -4, as in PYSKL.
    out = PoseCompact(padding=0.0, threshold=0)(clip([[[[-4.5, 10], [30, 40]]]]))
    assert out["img_shape"] == (30, 34)
    np.testing.assert_allclose(out["keypoint"][0, 0], [[-0.5, 0], [34, 30]])


def test_pose_compact_leaves_small_or_empty_clips_and_zeroes_nan():
    small = clip([[[[20, 20], [25, 50]]]])
    out = PoseCompact(threshold=10)(small)
    assert out["img_shape"] == (100, 200) and "crop_quadruple" not in out
    np.testing.assert_array_equal(out["keypoint"], small["keypoint"])

    with_nan = clip(HAND_MADE)
    with_nan["keypoint"][0, 1, 2, 1] = np.nan
    before = with_nan["keypoint"].copy()
    out = PoseCompact()(with_nan)
    assert out["keypoint"][0, 1, 2, 1] == 0 and out["img_shape"] == (25, 50)
    np.testing.assert_array_equal(with_nan["keypoint"], before)  # NaN still there: not modified


@pytest.mark.parametrize(
    "scale, keep_ratio, img_shape, new_shape",
    [
        ((-1, 64), True, (100, 200), (64, 128)),  # short side to 64
        ((64, -1), True, (300, 100), (192, 64)),
        (0.5, True, (101, 200), (51, 100)),  # sides rounded half up
        ((128, 64), True, (100, 300), (43, 128)),  # long side <= 128, short side <= 64
        ((56, 56), False, (100, 200), (56, 56)),  # exactly (w, h)
        ((30, 20), False, (100, 200), (20, 30)),
    ],
)
def test_resize_sizes_and_keypoints(scale, keep_ratio, img_shape, new_shape):
    results = clip(HAND_MADE, img_shape=img_shape)
    out = Resize(scale, keep_ratio=keep_ratio)(results)
    assert out["img_shape"] == new_shape
    factor = np.array([new_shape[1] / img_shape[1], new_shape[0] / img_shape[0]], np.float32)
    np.testing.assert_allclose(out["keypoint"], results["keypoint"] * factor, rtol=1e-6)
    np.testing.assert_allclose(out["scale_factor"], factor)


def test_resize_accumulates_scale_factor_and_rejects_bad_scales():
    out = Resize((20, 10), keep_ratio=False)(Resize(0.5)(clip(HAND_MADE)))
    np.testing.assert_allclose(out["scale_factor"], [0.1, 0.1])
    with pytest.raises(ValueError, match="keep_ratio=False"):
        Resize((-1, 64), keep_ratio=False)
    with pytest.raises(ValueError, match="positive"):
        Resize((0, 64))
    with pytest.raises(TypeError, match="number or a pair"):
        Resize("64")


def test_random_resized_crop_moves_keypoints_into_a_box_within_the_ranges():
    crop = RandomResizedCrop(area_range=(0.3, 0.6), aspect_ratio_range=(0.5, 2.0))
    for seed in range(20):
        results = clip(HAND_MADE, img_shape=(120, 160), seed=seed)
        out = crop(results)
        left, top, right, bottom = out["crop_bbox"]
        assert 0 <= left < right <= 160 and 0 <= top < bottom <= 120
        assert out["img_shape"] == (bottom - top, right - left)
        area = (right - left) * (bottom - top) / (120 * 160)
        assert 0.3 - 0.02 <= area <= 0.6 + 0.02  # sides are rounded to pixels
        assert 0.5 * 0.97 <= (right - left) / (bottom - top) <= 2.0 * 1.03
        np.testing.assert_allclose(out["keypoint"], results["keypoint"] - [left, top])
        np.testing.assert_allclose(
            out["crop_quadruple"], [left / 160, top / 120, (right - left) / 160, area * 160 /
                                    (right - left)], rtol=1e-6)


def test_random_resized_crop_follows_the_sample_rng_only():
    crop = RandomResizedCrop()
    boxes = [crop(clip(HAND_MADE, seed=s))["crop_bbox"] for s in (1, 1, 2)]
    np.testing.assert_array_equal(boxes[0], boxes[1])
    assert not np.array_equal(boxes[0], boxes[2])


def test_random_resized_crop_falls_back_to_the_centre_square():
    out = RandomResizedCrop(aspect_ratio_range=(99.0, 99.0))(clip(HAND_MADE, img_shape=(60, 100)))
    np.testing.assert_array_equal(out["crop_bbox"], [20, 0, 80, 60])


def test_crop_quadruples_combine_across_crops():
    out = CenterCrop(20)(PoseCompact()(clip(HAND_MADE)))
    # PoseCompact: (15, 27, 50, 25) of (200, 100); CenterCrop 20 of that 50 x 25 frame at (15, 2).
    expected = [15 / 200 + 15 / 200, 27 / 100 + 2 / 100, 20 / 200, 20 / 100]
    np.testing.assert_allclose(out["crop_quadruple"], expected, rtol=1e-6)


def test_center_crop_offsets_and_crops_larger_than_the_frame():
    results = clip(HAND_MADE, img_shape=(64, 128))
    out = CenterCrop(64)(results)
    np.testing.assert_array_equal(out["crop_bbox"], [32, 0, 96, 64])
    np.testing.assert_array_equal(out["keypoint"], results["keypoint"] - [32, 0])
    out = CenterCrop((80, 70))(results)  # (w, h); reaches outside the 64-pixel height
    np.testing.assert_array_equal(out["crop_bbox"], [24, -3, 104, 67])
    assert out["img_shape"] == (70, 80)


def test_flip_mirrors_x_to_pixel_centres_and_swaps_left_and_right():
    results = clip(HAND_MADE)
    out = Flip(flip_ratio=1.0, left_kp=[0], right_kp=[1], flip_label_map={3: 4})(
        results | {"label": 3}
    )
    assert out["flip"] and out["flip_direction"] == "horizontal" and out["label"] == 4
    # Joints 0 and 1 swap; x -> 199 - x, except a missing x of 0, which stays 0.
    expected = [[[[139, 50], [179, 30], [0, 0]], [[0, 35], [159, 40], [0, 0]]]]
    np.testing.assert_array_equal(out["keypoint"], expected)
    np.testing.assert_array_equal(out["keypoint_score"], results["keypoint_score"][:, :, [1, 0, 2]])


def test_flip_draws_from_the_sample_rng():
    flip = Flip(flip_ratio=0.5)
    flips = [flip(clip(HAND_MADE, seed=s))["flip"] for s in range(200)]
    assert 70 < sum(flips) < 130
    assert flips == [flip(clip(HAND_MADE, seed=s))["flip"] for s in range(200)]
    out = Flip(flip_ratio=0.0)(clip(HAND_MADE))
    assert not out["flip"]
    np.testing.assert_array_equal(out["keypoint"], HAND_MADE)
    with pytest.raises(ValueError, match="horizontal"):
        Flip(direction="vertical")


def test_format_shape_heatmap_clips_and_crops():
    crops, clips, length, channels, h, w = 2, 3, 4, 5, 6, 7
    imgs = np.arange(crops * clips * length * channels * h * w, dtype=np.float32)
    imgs = imgs.reshape(crops * clips * length, channels, h, w)
    out = FormatShape("NCTHW_Heatmap")({"imgs": imgs, "num_clips": clips, "clip_len": length})
    assert out["imgs"].shape == out["input_shape"] == (crops * clips, channels, length, h, w)
    for crop in range(crops):
        for c in range(clips):
            for t in range(length):
                frame = (crop * clips + c) * length + t
                np.testing.assert_array_equal(out["imgs"][crop * clips + c, :, t], imgs[frame])


def test_format_shape_images_and_collapse():
    imgs = np.random.default_rng(0).random((4, 6, 7, 3)).astype(np.float32)  # (T, H, W, C)
    out = FormatShape("NCTHW", collapse=True)({"imgs": imgs, "num_clips": 1, "clip_len": 4})
    assert out["imgs"].shape == (3, 4, 6, 7)
    np.testing.assert_array_equal(out["imgs"], imgs.transpose(3, 0, 1, 2))
    with pytest.raises(AnnotationError, match="multiple of num_clips"):
        FormatShape("NCTHW_Heatmap")({"imgs": imgs, "num_clips": 3, "clip_len": 1})
    with pytest.raises(AnnotationError, match="single clip"):
        FormatShape("NCTHW", collapse=True)({"imgs": imgs, "num_clips": 1, "clip_len": 2})
    with pytest.raises(ValueError, match="input_format"):
        FormatShape("NTCHW")


TRANSFORMS = [
    PoseCompact(),
    Resize((-1, 64)),
    RandomResizedCrop(),
    CenterCrop(32),
    Flip(flip_ratio=1.0, left_kp=[0], right_kp=[1]),
    GeneratePoseTarget(left_kp=[0], right_kp=[1], double=True),
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_transforms_leave_the_input_arrays_alone(transform):
    results = clip(HAND_MADE)
    before = copy.deepcopy({k: v for k, v in results.items() if k != "rng"})
    out = transform(results)
    assert out is not results
    for key, value in before.items():
        np.testing.assert_array_equal(results[key], value)


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r.pop("keypoint"), "needs \\['keypoint'\\]"),
        (lambda r: r.pop("img_shape"), "needs \\['img_shape'\\]"),
        (lambda r: r.update(img_shape=(0, 10)), "img_shape must be"),
        (lambda r: r.update(keypoint=np.zeros((1, 2, 3), np.float32)), "shape \\(M, T, V, 2\\)"),
        (lambda r: r.update(keypoint=np.zeros((1, 0, 3, 2), np.float32)), "empty clip"),
        (lambda r: r["keypoint"].__setitem__((0, 0, 0, 0), np.inf), "infinite"),
    ],
)
def test_bad_samples_raise_errors_naming_the_sample(transform, change, message):
    results = clip(HAND_MADE)
    change(results)
    with pytest.raises(AnnotationError, match=message) as info:
        transform(results)
    assert "'hand_made'" in str(info.value)


@pytest.mark.parametrize("transform", TRANSFORMS[1:], ids=lambda t: type(t).__name__)
def test_nan_keypoints_are_refused_after_pose_compact(transform):
    results = clip(HAND_MADE)
    results["keypoint"][0, 0, 0, 0] = np.nan
    with pytest.raises(AnnotationError, match="hand_made.*\n.*NaN"):
        transform(results)


@pytest.mark.parametrize("transform", [RandomResizedCrop(), Flip()], ids=lambda t: type(t).__name__)
def test_random_transforms_need_the_sample_rng(transform):
    results = clip(HAND_MADE)
    del results["rng"]
    with pytest.raises(AnnotationError, match="numpy.random.Generator"):
        transform(results)


# --- DecompressPose on the real Kinetics kp-file sample -------------------------------------


def loop_decode(frame_inds, skeletons, max_person):
    """An independent decode: one skeleton at a time, as PYSKL describes it."""
    frames = {f: i for i, f in enumerate(sorted(set(frame_inds.tolist())))}
    persons = {}
    for f, skeleton in zip(frame_inds.tolist(), skeletons, strict=True):
        persons.setdefault(frames[f], []).append(skeleton)
    num_person = max(len(p) for p in persons.values())
    if num_person > max_person:
        for f, group in persons.items():  # highest summed score first, ties in record order
            persons[f] = sorted(group, key=lambda s: -s[:, 2].astype(np.float32).sum())
    keep = min(num_person, max_person)
    keypoint = np.zeros((keep, len(frames), skeletons.shape[1], 3), np.float32)
    for f, group in persons.items():
        for m, skeleton in enumerate(group[:keep]):
            keypoint[m, f] = skeleton
    return keypoint[..., :2], keypoint[..., 2]


@pytest.fixture(scope="module")
def kinetics_records(shared_data):
    return safe_load(shared_data / "k400_kpfile_sample" / "sample.pkl")["annotations"]


@pytest.mark.parametrize("max_person", [2, 10])
def test_decompress_pose_reads_a_kp_file(kinetics_records, tmp_path, max_person):
    rng = np.random.default_rng(0)
    records = kinetics_records[:4]
    kpfile = {
        r["frame_dir"]: {"keypoint": rng.uniform(0, 1, (len(r["frame_inds"]), 17, 3)).astype(
            np.float16)}
        for r in records
    }
    path = tmp_path / "kpfile.pkl"
    path.write_bytes(pickle.dumps(kpfile))
    for record in records:
        results = dict(record, raw_file=str(path))
        out = DecompressPose(squeeze=True, max_person=max_person)(results)
        keypoint, scores = loop_decode(
            record["frame_inds"], kpfile[record["frame_dir"]]["keypoint"], max_person
        )
        np.testing.assert_array_equal(out["keypoint"], keypoint)
        np.testing.assert_array_equal(out["keypoint_score"], scores)
        assert out["total_frames"] == len(np.unique(record["frame_inds"]))
        assert out["num_person"] == keypoint.shape[0] <= max_person
        assert "frame_inds" not in out and "box_score" not in out
        assert "frame_inds" in record  # the record itself is untouched


def test_decompress_pose_box_threshold_leaves_the_valid_frame_counts(kinetics_records):
    """``valid[thr]`` counts the frames with a box scoring >= thr: what anno_inds keeps."""
    for record in kinetics_records:
        skeletons = np.zeros((len(record["frame_inds"]), 17, 3), np.float32)
        for threshold, frames in record["valid"].items():
            # compared in float64, as PYSKL's (numpy 1) dataset compares float16 scores
            anno_inds = np.flatnonzero(record["box_score"].astype(np.float64) >= threshold)
            results = dict(record, keypoint=skeletons, anno_inds=anno_inds)
            if frames == 0:  # no box that good: the dataset's valid_ratio drops such clips
                with pytest.raises(AnnotationError, match="empty clip"):
                    DecompressPose()(results)
            else:
                assert DecompressPose()(results)["total_frames"] == frames, record["frame_dir"]


def test_decompress_pose_without_squeeze_keeps_the_timeline():
    skeletons = np.arange(4 * 2 * 3, dtype=np.float32).reshape(4, 2, 3)
    results = {"frame_dir": "k", "total_frames": 6, "frame_inds": np.array([2, 2, 5, 6]),
               "keypoint": skeletons}
    out = DecompressPose(squeeze=False)(results)
    assert out["keypoint"].shape == (2, 7, 2, 2)  # 1-based index 6 extends the 6 frames
    np.testing.assert_array_equal(out["keypoint"][:, 2], skeletons[:2, :, :2])
    np.testing.assert_array_equal(out["keypoint_score"][0, [5, 6]], skeletons[2:, :, 2])
    assert not out["keypoint"][:, [0, 1, 3, 4]].any() and not out["keypoint"][1, 5:].any()


def test_decompress_pose_errors_name_the_sample(tmp_path):
    base = {"frame_dir": "vid", "total_frames": 3, "frame_inds": np.array([1, 2])}
    with pytest.raises(AnnotationError, match="vid.*\n.*shape \\(N, V, 3\\) with N = 2"):
        DecompressPose()(base | {"keypoint": np.zeros((3, 17, 3))})
    with pytest.raises(AnnotationError, match="empty clip"):
        DecompressPose()(base | {"keypoint": np.zeros((2, 17, 3)), "anno_inds": np.array([], int)})
    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"another_video": {"keypoint": np.zeros((2, 17, 3))}}))
    with pytest.raises(AnnotationError, match="no keypoint array for frame_dir 'vid'"):
        DecompressPose()(base | {"raw_file": str(path)})
    with pytest.raises(AnnotationError, match="needs \\['raw_file'\\]"):
        DecompressPose()(base)


# --- PYSKL's PoseC3D pipelines end to end on real keypoints ----------------------------------

LEFT_KP, RIGHT_KP = [1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]
TRAIN_PIPELINE = [
    dict(type="UniformSampleFrames", clip_len=48),
    dict(type="PoseDecode"),
    dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
    dict(type="Resize", scale=(-1, 64)),
    dict(type="RandomResizedCrop", area_range=(0.56, 1.0)),
    dict(type="Resize", scale=(56, 56), keep_ratio=False),
    dict(type="Flip", flip_ratio=0.5, left_kp=LEFT_KP, right_kp=RIGHT_KP),
    dict(type="GeneratePoseTarget", sigma=0.6, use_score=True, with_kp=True, with_limb=False),
    dict(type="FormatShape", input_format="NCTHW_Heatmap"),
    dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["imgs", "label"]),
]
TEST_PIPELINE = [
    dict(type="UniformSampleFrames", clip_len=48, num_clips=10, test_mode=True),
    dict(type="PoseDecode"),
    dict(type="PoseCompact", hw_ratio=1.0, allow_imgpad=True),
    dict(type="Resize", scale=(-1, 64)),
    dict(type="CenterCrop", crop_size=64),
    dict(type="GeneratePoseTarget", with_kp=True, with_limb=False, double=True,
         left_kp=LEFT_KP, right_kp=RIGHT_KP),
    dict(type="FormatShape", input_format="NCTHW_Heatmap"),
    dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
    dict(type="ToTensor", keys=["imgs"]),
]


def test_pyskl_posec3d_pipelines_give_pyskl_shapes(shared_data):
    ann_file = str(shared_data / "pyskl_custom_hrnet" / "custom_hrnet.pkl")
    train = PoseDataset(ann_file, TRAIN_PIPELINE, split="xsub_train")[0]
    assert set(train) == {"imgs", "label"}
    assert tuple(train["imgs"].shape) == (1, 17, 48, 56, 56)
    assert train["imgs"].max() > 0.5  # the person is inside the crop
    assert int(train["label"]) == train_label(ann_file)

    test = PoseDataset(ann_file, TEST_PIPELINE, split="xsub_test", test_mode=True)[0]
    imgs = test["imgs"].numpy()
    assert imgs.shape == (20, 17, 48, 64, 64)
    # Clips 10..19 are clips 0..9 mirrored (x -> 63 - x) with left and right swapped.
    order = np.arange(17)
    order[LEFT_KP], order[RIGHT_KP] = RIGHT_KP, LEFT_KP
    mirrored = imgs[:10, order, :, :, ::-1]
    assert np.abs(imgs[10:] - mirrored).max() < np.exp(-4.5)  # window truncation only


def train_label(ann_file):
    ann = safe_load(ann_file)
    # PoseDataset keeps the file's order (as PYSKL does), not the split list's.
    train = set(ann["split"]["xsub_train"])
    return next(r["label"] for r in ann["annotations"] if r["frame_dir"] in train)

"""GCN-path transforms: PYSKL's semantics, reproducible randomness, inputs never modified."""

import numpy as np
import pytest

from skel_core.errors import AnnotationError
from skel_core.layouts import get_layout
from skel_data.transforms import (
    Collect,
    Compose,
    FormatGCNInput,
    GenSkeFeat,
    PoseDecode,
    PreNormalize2D,
    PreNormalize3D,
    RandomGaussianNoise,
    RandomRot,
    RandomScale,
    ToTensor,
    UniformSample,
    UniformSampleFrames,
)


def record(m=1, t=30, v=17, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "frame_dir": "clip0",
        "label": 3,
        "total_frames": t,
        "img_shape": (100, 200),
        "keypoint": rng.uniform(0, 100, (m, t, v, 2)).astype(np.float32),
        "keypoint_score": rng.uniform(0, 1, (m, t, v)).astype(np.float32),
        "rng": np.random.default_rng(seed),
    }


@pytest.mark.parametrize("num_frames", [300, 101, 100, 64, 50, 49, 7, 1])
def test_uniform_sample_frames_draws_valid_indices(num_frames):
    clip_len = 50
    out = UniformSampleFrames(clip_len)(
        {"total_frames": num_frames, "rng": np.random.default_rng(1)}
    )
    inds = out["frame_inds"]
    assert inds.shape == (clip_len,) and inds.min() >= 0 and inds.max() < num_frames
    if num_frames >= 2 * clip_len:  # exactly one frame from each of clip_len equal segments
        bounds = np.arange(clip_len + 1) * num_frames // clip_len
        assert np.all((inds >= bounds[:-1]) & (inds < bounds[1:]))
    elif num_frames >= clip_len:  # in order, no repeats
        assert np.all(np.diff(inds) > 0)
    else:  # consecutive frames, wrapping around
        assert np.all(np.diff(inds) % num_frames == 1 % num_frames)
    assert out["clip_len"] == clip_len and out["num_clips"] == 1


def test_uniform_sample_frames_test_mode_is_reproducible_without_touching_global_rng():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    sampler = UniformSampleFrames(20, num_clips=3, test_mode=True)
    a = sampler({"total_frames": 77, "rng": np.random.default_rng(1)})["frame_inds"]
    b = sampler({"total_frames": 77, "rng": np.random.default_rng(2)})["frame_inds"]
    np.testing.assert_array_equal(a, b)
    assert a.shape == (60,)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_uniform_sample_frames_train_mode_follows_the_sample_rng():
    sampler = UniformSampleFrames(20)
    draw = lambda s: sampler({"total_frames": 200, "rng": np.random.default_rng(s)})["frame_inds"]  # noqa: E731
    np.testing.assert_array_equal(draw(5), draw(5))
    assert not np.array_equal(draw(5), draw(6))


def test_uniform_sample_frames_rejects_empty_clip():
    with pytest.raises(ValueError, match="total_frames is 0"):
        UniformSampleFrames(10)(
            {"frame_dir": "x", "total_frames": 0, "rng": np.random.default_rng()}
        )


def test_pose_decode_gathers_frames():
    r = record(m=2, t=10)
    r["frame_inds"] = np.array([9, 0, 3])
    out = PoseDecode()(r)
    np.testing.assert_array_equal(out["keypoint"], r["keypoint"][:, [9, 0, 3]])
    np.testing.assert_array_equal(out["keypoint_score"], r["keypoint_score"][:, [9, 0, 3]])


def test_prenormalize2d_maps_the_image_to_unit_square():
    r = record()
    r["keypoint"][0, 0, 0] = [0, 0]
    r["keypoint"][0, 0, 1] = [200, 100]
    r["keypoint"][0, 0, 2] = [100, 50]
    original = r["keypoint"].copy()
    out = PreNormalize2D()(r)
    np.testing.assert_allclose(out["keypoint"][0, 0, :3], [[-1, -1], [1, 1], [0, 0]])
    np.testing.assert_array_equal(r["keypoint"], original)


def test_gen_ske_feat_builds_joint_bone_and_motion_streams():
    r = record(t=4)
    out = GenSkeFeat(dataset="coco", feats=["j", "b", "jm", "bm"])(r)
    kp = np.concatenate([r["keypoint"], r["keypoint_score"][..., None]], -1)
    assert out["keypoint"].shape == (1, 4, 17, 12) and "keypoint_score" not in out
    j, b, jm, bm = np.split(out["keypoint"], 4, axis=-1)
    np.testing.assert_array_equal(j, kp)
    names = get_layout("coco").joints
    elbow, shoulder = names.index("left_elbow"), names.index("left_shoulder")
    np.testing.assert_allclose(b[..., elbow, :2], kp[..., elbow, :2] - kp[..., shoulder, :2])
    np.testing.assert_allclose(b[..., elbow, 2], (kp[..., elbow, 2] + kp[..., shoulder, 2]) / 2)
    np.testing.assert_allclose(jm[:, :3, :, :2], kp[:, 1:, :, :2] - kp[:, :3, :, :2])
    np.testing.assert_array_equal(jm[:, 3], 0)
    np.testing.assert_allclose(bm[:, :3, :, :2], b[:, 1:, :, :2] - b[:, :3, :, :2], atol=1e-6)


def test_gen_ske_feat_rejects_wrong_joint_count():
    with pytest.raises(ValueError, match="25 joints but layout 'coco' has 17"):
        GenSkeFeat(dataset="coco")(record(v=25))


@pytest.mark.parametrize("mode", ["zero", "loop"])
def test_format_gcn_input_pads_persons_and_splits_clips(mode):
    r = record(m=1, t=12)
    r["num_clips"] = 3
    out = FormatGCNInput(num_person=2, mode=mode)(r)
    assert out["keypoint"].shape == (3, 2, 4, 17, 3)
    full = np.concatenate([r["keypoint"], r["keypoint_score"][..., None]], -1)
    np.testing.assert_array_equal(out["keypoint"][1, 0], full[0, 4:8])
    expected_second = full[0, 4:8] if mode == "loop" else 0
    np.testing.assert_array_equal(out["keypoint"][1, 1], expected_second)


def test_format_gcn_input_truncates_and_checks_clip_split():
    out = FormatGCNInput(num_person=2)(record(m=3, t=6))
    assert out["keypoint"].shape == (1, 2, 6, 17, 3)
    r = record(t=10)
    r["num_clips"] = 3
    with pytest.raises(ValueError, match="10 frames do not split into 3 clips"):
        FormatGCNInput()(r)


def test_collect_names_missing_keys():
    with pytest.raises(KeyError, match="clip0.*'label_x'"):
        Collect(keys=["keypoint", "label_x"])(record())


def test_pipeline_from_pyskl_dicts_leaves_the_record_untouched():
    r = record(m=2, t=40)
    before = {k: v.copy() for k, v in r.items() if isinstance(v, np.ndarray)}
    pipeline = Compose(
        [
            dict(type="PreNormalize2D"),
            dict(type="GenSkeFeat", dataset="coco", feats=["j"]),
            dict(type="UniformSampleFrames", clip_len=16, num_clips=2, test_mode=True),
            dict(type="PoseDecode"),
            dict(type="FormatGCNInput", num_person=2),
            dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
            dict(type="ToTensor", keys=["keypoint"]),
        ]
    )
    out = pipeline(r)
    assert tuple(out["keypoint"].shape) == (2, 2, 16, 17, 3) and out["label"] == 3
    for k, v in before.items():
        np.testing.assert_array_equal(r[k], v)
    assert isinstance(ToTensor(["label"])(out)["label"].item(), int)


# --- UniformSample / UniformSampleFrames: PYSKL's train/test semantics -------------------------


def pyskl_test_indices(num_frames, clip_len, num_clips, seed=255, p_interval=(1, 1)):
    """PYSKL's test-mode sampling, transcribed: global numpy RNG reseeded for the sample."""
    saved = np.random.get_state()
    np.random.seed(seed)
    clips = []
    for i in range(num_clips):
        ratio = np.random.rand() * (p_interval[1] - p_interval[0]) + p_interval[0]
        n = int(ratio * num_frames)
        off = np.random.randint(num_frames - n + 1)
        if n < clip_len:
            start = i if n < num_clips else i * n // num_clips
            inds = np.arange(start, start + clip_len)
        elif n < 2 * clip_len:
            chosen = np.random.choice(clip_len + 1, n - clip_len, replace=False)
            offset = np.zeros(clip_len + 1, dtype=np.int64)
            offset[chosen] = 1
            inds = np.arange(clip_len) + np.cumsum(offset)[:-1]
        else:
            bids = np.array([j * n // clip_len for j in range(clip_len + 1)])
            inds = bids[:clip_len] + np.random.randint(np.diff(bids))
        clips.append(inds + off)
    np.random.set_state(saved)
    return np.mod(np.concatenate(clips), num_frames)


@pytest.mark.parametrize("num_frames", [7, 30, 45, 100, 301])
@pytest.mark.parametrize("p_interval", [(1, 1), (0.5, 1)])
def test_uniform_sample_test_mode_matches_pyskl_exactly(num_frames, p_interval):
    sampler = UniformSample(clip_len=20, num_clips=10, p_interval=p_interval)
    out = sampler({"total_frames": num_frames, "test_mode": True})
    expected = pyskl_test_indices(num_frames, 20, 10, p_interval=p_interval)
    np.testing.assert_array_equal(out["frame_inds"], expected)
    assert out["num_clips"] == 10 and out["clip_len"] == 20


def test_uniform_sample_mode_follows_the_dataset_unless_given():
    train_draw = {"total_frames": 300, "rng": np.random.default_rng(3), "test_mode": False}
    test_draw = dict(train_draw, test_mode=True)
    follows = UniformSample(clip_len=16, num_clips=2)
    np.testing.assert_array_equal(follows(test_draw)["frame_inds"], pyskl_test_indices(300, 16, 2))
    assert not np.array_equal(follows(train_draw)["frame_inds"], pyskl_test_indices(300, 16, 2))
    forced = UniformSample(clip_len=16, num_clips=2, test_mode=True)  # PYSKL's 3D configs
    np.testing.assert_array_equal(forced(train_draw)["frame_inds"], pyskl_test_indices(300, 16, 2))


def test_uniform_sample_p_interval_draws_from_a_window():
    sampler = UniformSample(clip_len=10, p_interval=(0.5, 0.5))
    for seed in range(20):
        inds = sampler({"total_frames": 100, "rng": np.random.default_rng(seed)})["frame_inds"]
        assert inds.max() - inds.min() < 50 and np.all(np.diff(inds) > 0)


def test_uniform_sample_is_registered_and_warns_about_ignored_arguments():
    with pytest.warns(UserWarning, match=r"ignoring unsupported arguments \['mode'\]"):
        sampler = Compose([dict(type="UniformSample", clip_len=8, mode="zero")]).transforms[0]
    assert isinstance(sampler, UniformSampleFrames)
    with pytest.raises(ValueError, match="p_interval"):
        UniformSample(clip_len=8, p_interval=(0.9, 0.5))
    with pytest.raises(AnnotationError, match="(?s)'clipX'.*total_frames is 2.5"):
        UniformSample(clip_len=8)({"frame_dir": "clipX", "total_frames": 2.5})


# --- RandomRot, RandomScale, RandomGaussianNoise -------------------------------------------


def rodrigues(axis, angle):
    """Rotation about a unit axis, built independently of skel's code."""
    k = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    cross = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross


def sample3d(m=2, t=5, v=25, seed=0, frame_dir="clip3d"):
    rng = np.random.default_rng(seed)
    return {"frame_dir": frame_dir, "total_frames": t,
            "keypoint": rng.normal(0, 1, (m, t, v, 3)).astype(np.float32),
            "rng": np.random.default_rng(seed + 100)}


def test_random_rot_3d_uses_pyskl_matrices():
    r = sample3d()
    original = r["keypoint"].copy()
    out = RandomRot(theta=0.3)(r)
    a = np.random.default_rng(100).uniform(-0.3, 0.3, size=3)
    c, s = np.cos(a), np.sin(a)  # PYSKL's matrices, literally
    rx = np.array([[1, 0, 0], [0, c[0], s[0]], [0, -s[0], c[0]]])
    ry = np.array([[c[1], 0, -s[1]], [0, 1, 0], [s[1], 0, c[1]]])
    rz = np.array([[c[2], s[2], 0], [-s[2], c[2], 0], [0, 0, 1]])
    expected = np.einsum("ab,mtvb->mtva", rz @ ry @ rx, original)
    np.testing.assert_allclose(out["keypoint"], expected, atol=1e-5)
    independent = rodrigues([0, 0, 1], -a[2]) @ rodrigues([0, 1, 0], -a[1]) \
        @ rodrigues([1, 0, 0], -a[0])
    np.testing.assert_allclose(rz @ ry @ rx, independent, atol=1e-12)
    assert out["keypoint"].dtype == np.float32
    np.testing.assert_array_equal(r["keypoint"], original)


def test_random_rot_2d_angles_lie_in_plus_minus_theta():
    """PYSKL draws uniform(-theta) = [-theta, 1); the fixed version draws [-theta, theta)."""
    angles = []
    for seed in range(400):
        point = {"keypoint": np.array([[[[1.0, 0.0]]]], dtype=np.float32),
                 "rng": np.random.default_rng(seed)}
        x, y = RandomRot(theta=0.3)(point)["keypoint"][0, 0, 0]
        angles.append(np.arctan2(y, x))
        np.testing.assert_allclose(np.hypot(x, y), 1, rtol=1e-6)  # a rotation: length kept
    angles = np.array(angles)
    assert angles.min() >= -0.3 - 1e-6 and angles.max() <= 0.3 + 1e-6
    assert angles.min() < -0.25 and angles.max() > 0.25 and abs(angles.mean()) < 0.05
    expected = np.random.default_rng(7).uniform(-0.3, 0.3)
    point = {"keypoint": np.array([[[[1.0, 0.0]]]]), "rng": np.random.default_rng(7)}
    np.testing.assert_allclose(RandomRot(0.3)(point)["keypoint"][0, 0, 0],
                               [np.cos(expected), np.sin(expected)])


def test_random_rot_leaves_an_empty_skeleton_and_rejects_bad_input():
    empty = {"keypoint": np.zeros((1, 4, 25, 3), np.float32), "rng": np.random.default_rng(0)}
    assert RandomRot()(empty) is empty
    bad = sample3d(frame_dir="broken")
    bad["keypoint"][0, 1, 2, 0] = np.nan
    with pytest.raises(AnnotationError, match="RandomRot: keypoint holds 1 NaN/inf"):
        RandomRot()(bad)
    with pytest.raises(AnnotationError, match="'broken'"):
        RandomRot()(bad)
    four = {"frame_dir": "c4", "keypoint": np.ones((1, 2, 3, 4))}
    with pytest.raises(AnnotationError, match="C = 4 channels"):
        RandomRot()(four)


def test_random_scale_scales_each_axis():
    r = sample3d()
    out = RandomScale(scale=(0.1, 0.2, 0.3))(r)
    factor = 1 + np.random.default_rng(100).uniform(-1, 1, size=3) * np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(out["keypoint"], r["keypoint"] * factor, rtol=1e-6)
    assert np.all(np.abs(factor - 1) <= [0.1, 0.2, 0.3])
    with pytest.raises(AnnotationError, match="(?s)clip0.*2 scale values for C = 3"):
        RandomScale(scale=(0.1, 0.2))(dict(sample3d(), frame_dir="clip0"))
    with pytest.raises(ValueError, match="non-negative"):
        RandomScale(scale=-0.1)


def box_diagonal(frames):
    """Per person-frame diagonal of the joints' bounding box, (M*T,)."""
    return np.linalg.norm(np.ptp(frames, axis=1), axis=1)


def test_random_gaussian_noise_moves_joints_by_sigma_times_frame_size():
    r = sample3d(m=2, t=6)
    r["keypoint"][1, 4:] = 0  # the second person leaves: no noise there
    out = RandomGaussianNoise(sigma=0.05)(r)
    frames = r["keypoint"].reshape(12, 25, 3).astype(np.float64)
    present = (frames.min(axis=1) ** 2).sum(axis=1) > 1e-4
    n = np.random.default_rng(100).standard_normal((12, 25))
    moved = np.linalg.norm(out["keypoint"].reshape(12, 25, 3) - frames, axis=-1)
    expected = np.abs(n) * 0.05 * box_diagonal(frames)[:, None] * present[:, None]
    np.testing.assert_allclose(moved, expected, rtol=1e-4, atol=1e-6)
    assert not present[10:].any() and np.all(moved[10:] == 0)


def test_random_gaussian_noise_shared_video_offsets_are_the_same_every_frame():
    r = sample3d(m=1, t=5)
    out = RandomGaussianNoise(sigma=0.05, base="video", shared=True)(r)
    offset = out["keypoint"] - r["keypoint"]
    np.testing.assert_allclose(offset, np.broadcast_to(offset[:, :1], offset.shape), atol=1e-6)
    frames = r["keypoint"][0].astype(np.float64)
    whole = np.linalg.norm(frames.max(axis=(0, 1)) - frames.min(axis=(0, 1)))
    n = np.random.default_rng(100).standard_normal(25)
    np.testing.assert_allclose(np.linalg.norm(offset[0, 0], axis=-1),
                               np.abs(n) * 0.05 * whole, rtol=1e-4)
    with pytest.raises(ValueError, match="shared=True needs base='video'"):
        RandomGaussianNoise(shared=True)


def test_random_gaussian_noise_without_present_frames_changes_nothing():
    r = {"keypoint": np.zeros((1, 3, 25, 3), np.float32), "rng": np.random.default_rng(0)}
    assert RandomGaussianNoise(base="video")(r) is r


# --- PreNormalize3D ------------------------------------------------------------------------


def canonical_body(t=4, seed=0):
    """(T, 25, 3) NTU-like joints whose first frame already is in PreNormalize3D's pose:
    spine_mid (joint 1) at the origin, spine_base -> spine_mid along +z, left -> right
    shoulder along +x."""
    rng = np.random.default_rng(seed)
    body = rng.normal(0, 0.3, (t, 25, 3))
    body[0, 0] = [0, 0, -0.3]
    body[0, 1] = [0, 0, 0]
    body[0, 4] = [-0.2, 0.05, 0.25]
    body[0, 8] = [0.2, 0.05, 0.25]
    return body


def test_prenormalize3d_undoes_a_rigid_motion():
    body = canonical_body()
    rotation = rodrigues([0.3, -1.0, 0.5], 2.1)
    shift = np.array([0.4, -0.2, 3.5])
    moved = body @ rotation.T + shift
    r = {"frame_dir": "ntu", "total_frames": 4, "keypoint": moved[None].astype(np.float32)}
    out = PreNormalize3D()(r)
    np.testing.assert_allclose(out["keypoint"][0], body, atol=2e-5)
    np.testing.assert_allclose(out["body_center"], shift, atol=1e-6)
    assert out["keypoint"].dtype == np.float32 and out["total_frames"] == 4


def test_prenormalize3d_keeps_the_main_persons_frames_and_puts_them_first():
    main = canonical_body(t=6, seed=1)
    other = canonical_body(t=6, seed=2) + [1.0, 0, 0]
    kp = np.zeros((2, 6, 25, 3))
    kp[0, :2] = other[:2]  # person 0 appears in 2 frames
    kp[1, 1:] = main[1:]  # person 1 in 5 frames: the main person
    kp[1, 1, 7] = 0  # a missing joint stays missing
    r = {"frame_dir": "two", "total_frames": 6, "keypoint": kp.astype(np.float32)}
    out = PreNormalize3D(align_spine=False)(r)
    assert out["keypoint"].shape == (2, 5, 25, 3) and out["total_frames"] == 5
    center = main[1, 1]
    np.testing.assert_allclose(out["keypoint"][0, 1:], main[2:] - center, atol=1e-6)
    np.testing.assert_allclose(out["keypoint"][1, 0], other[1] - center, atol=1e-6)
    np.testing.assert_array_equal(out["keypoint"][0, 0, 7], 0)
    np.testing.assert_array_equal(out["keypoint"][1, 1:], 0)


def test_prenormalize3d_handles_one_frame_and_empty_clips_and_rejects_2d():
    one = {"frame_dir": "one", "total_frames": 1,
           "keypoint": canonical_body(t=1)[None].astype(np.float32)}
    assert PreNormalize3D()(one)["keypoint"].shape == (1, 1, 25, 3)
    empty = {"frame_dir": "none", "total_frames": 3, "keypoint": np.zeros((1, 3, 25, 3))}
    assert PreNormalize3D()(empty) is empty
    with pytest.raises(AnnotationError, match="PreNormalize3D.*C = 2 channels"):
        PreNormalize3D()(record())
    with pytest.raises(AnnotationError, match="(?s)'one'.*T = 1 frames but total_frames = 5"):
        PreNormalize3D()(dict(one, total_frames=5))
    with pytest.raises(AnnotationError, match="V = 5 joints"):
        PreNormalize3D()({"frame_dir": "few", "keypoint": np.ones((1, 2, 5, 3))})


def test_augmentation_pipeline_from_a_pyskl_3d_config():
    pipeline = Compose([
        dict(type="PreNormalize3D"),
        dict(type="RandomScale", scale=0.1),
        dict(type="RandomRot"),
        dict(type="RandomGaussianNoise", sigma=0.01),
        dict(type="GenSkeFeat", dataset="nturgb+d", feats=["j"]),
        dict(type="UniformSample", clip_len=8),
        dict(type="PoseDecode"),
        dict(type="FormatGCNInput", num_person=2),
        dict(type="Collect", keys=["keypoint", "label"], meta_keys=[]),
        dict(type="ToTensor", keys=["keypoint"]),
    ])
    r = dict(sample3d(m=1, t=12), label=1)
    before = r["keypoint"].copy()
    out = pipeline(r)
    assert tuple(out["keypoint"].shape) == (1, 2, 8, 25, 3)
    np.testing.assert_array_equal(r["keypoint"], before)


def test_prenormalize2d_zeroes_low_score_joints_of_scored_keypoints():
    kp = np.array([[[[150.0, 75.0, 0.9], [150.0, 75.0, 0.005], [0.0, 0.0, 0.5]]]])
    out = Compose([dict(type="PreNormalize2D", img_shape=(100, 200), threshold=0.01)])(
        {"keypoint": kp})
    np.testing.assert_allclose(out["keypoint"][0, 0], [[0.5, 0.5, 0.9], [0, 0, 0.005],
                                                       [-1, -1, 0.5]])
    with pytest.raises(ValueError, match="mode must be 'fix'"):
        PreNormalize2D(mode="auto")

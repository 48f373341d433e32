"""GCN-path transforms: PYSKL's semantics, reproducible randomness, inputs never modified."""

import numpy as np
import pytest

from skel_core.layouts import get_layout
from skel_data.transforms import (
    Collect,
    Compose,
    FormatGCNInput,
    GenSkeFeat,
    PoseDecode,
    PreNormalize2D,
    ToTensor,
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

"""The built-in synthetic dataset: valid records, deterministic, and classes that differ."""

import numpy as np
import pytest

from skel_core.annotations import validate_annotations
from skel_core.layouts import get_layout
from skel_data.synthetic import (
    ACTIONS,
    IMG_SHAPE,
    SyntheticConfig,
    generate_annotations,
    generate_clips,
)


@pytest.fixture(scope="module")
def annotations():
    return generate_annotations(SyntheticConfig(num_clips=320, seed=3))


def test_records_follow_the_pyskl_schema(annotations):
    records = annotations["annotations"]
    validate_annotations(records, layout="coco", num_classes=len(ACTIONS), source="synthetic")
    for r in records:
        m, t, v, c = r["keypoint"].shape
        assert (v, c) == (17, 2) and m in (1, 2) and 40 <= t <= 120
        assert r["keypoint"].dtype == np.float32 and r["keypoint_score"].shape == (m, t, v)
        assert r["total_frames"] == t and r["img_shape"] == IMG_SHAPE
    assert len(ACTIONS) >= 8
    assert {r["label"] for r in records} == set(range(len(ACTIONS)))
    assert sum(r["keypoint"].shape[0] == 2 for r in records) > 30  # some clips have 2 persons
    missing = np.concatenate([r["keypoint_score"].ravel() == 0 for r in records])
    assert 0.01 < missing.mean() < 0.06  # joints drop out like a pose estimator's


def test_splits_are_disjoint_and_cover_every_class(annotations):
    split = annotations["split"]
    assert set(split["train"]).isdisjoint(split["test"])
    assert len(split["train"]) + len(split["test"]) == 320
    label = {r["frame_dir"]: r["label"] for r in annotations["annotations"]}
    for name in ("train", "test"):
        assert {label[f] for f in split[name]} == set(range(len(ACTIONS)))


def test_generation_is_a_function_of_the_seed():
    a = generate_clips(SyntheticConfig(num_clips=5, seed=1))
    b = generate_clips(SyntheticConfig(num_clips=5, seed=1))
    c = generate_clips(SyntheticConfig(num_clips=5, seed=2))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["keypoint"], y["keypoint"])
    assert any(
        x["keypoint"].shape != z["keypoint"].shape
        or not np.array_equal(x["keypoint"], z["keypoint"])
        for x, z in zip(a, c, strict=True)
    )


def test_most_joints_lie_inside_the_image(annotations):
    kp = np.concatenate([r["keypoint"][0].reshape(-1, 2) for r in annotations["annotations"]])
    h, w = IMG_SHAPE
    inside = (kp[:, 0] >= 0) & (kp[:, 0] < w) & (kp[:, 1] >= 0) & (kp[:, 1] < h)
    assert inside.mean() > 0.95


def _motion_features(record):
    """Per-joint spread over time of the main person, scaled by body height; missing joints out."""
    kp = np.where(record["keypoint_score"][0, ..., None] > 0, record["keypoint"][0], np.nan)
    height = np.ptp(np.nanmedian(kp[..., 1], axis=0)) + 1e-6
    spread = np.nanmax(kp, axis=0) - np.nanmin(kp, axis=0)
    return np.nan_to_num(np.concatenate([np.nanstd(kp, axis=0).ravel(), spread.ravel()]) / height)


def test_actions_are_distinguishable_by_a_nearest_centroid_classifier(annotations):
    by_dir = {r["frame_dir"]: r for r in annotations["annotations"]}

    def xy(name):
        rs = [by_dir[f] for f in annotations["split"][name]]
        return np.stack([_motion_features(r) for r in rs]), np.array([r["label"] for r in rs])

    x_train, y_train = xy("train")
    x_test, y_test = xy("test")
    centroids = np.stack([x_train[y_train == k].mean(0) for k in range(len(ACTIONS))])
    pred = np.argmin(((x_test[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (pred == y_test).mean() > 0.6  # chance is 1/8


def test_repeat_dataset_repeats_with_fresh_random_draws():
    from skel_data import RepeatDataset, SyntheticPoseDataset

    pipeline = [dict(type="UniformSampleFrames", clip_len=8), dict(type="PoseDecode")]
    base = SyntheticPoseDataset(pipeline, split="train", num_samples=16)
    repeated = RepeatDataset(base, times=3)
    assert len(base) == 8 and len(repeated) == 24  # 16 clips: every 4th group of 8 tests
    first, again = repeated[0], repeated[len(base)]
    assert first["frame_dir"] == again["frame_dir"]  # the same clip ...
    assert not np.array_equal(first["frame_inds"], again["frame_inds"])  # ... drawn afresh
    np.testing.assert_array_equal(repeated[0]["frame_inds"], first["frame_inds"])
    with pytest.raises(IndexError, match="out of range"):
        repeated[24]


def test_coco_is_the_default_layout_and_unchanged_by_it():
    default = generate_clips(SyntheticConfig(num_clips=4, seed=9))
    explicit = generate_clips(SyntheticConfig(num_clips=4, seed=9, layout="coco"))
    for x, y in zip(default, explicit, strict=True):
        np.testing.assert_array_equal(x["keypoint"], y["keypoint"])
        np.testing.assert_array_equal(x["keypoint_score"], y["keypoint_score"])


@pytest.fixture(scope="module")
def ntu_annotations():
    return generate_annotations(SyntheticConfig(num_clips=48, seed=4, layout="ntu"))


def test_ntu_records_follow_pyskls_3d_schema(ntu_annotations):
    records = ntu_annotations["annotations"]
    validate_annotations(records, layout="nturgb+d", num_classes=len(ACTIONS), source="synthetic")
    for r in records:
        m, t, v, c = r["keypoint"].shape
        assert (v, c) == (25, 3) and m in (1, 2) and r["total_frames"] == t
        assert r["keypoint"].dtype == np.float32 and "keypoint_score" not in r
    assert {r["label"] for r in records} == set(range(len(ACTIONS)))
    assert {r["keypoint"].shape[0] for r in records} == {1, 2}


def test_ntu_bodies_are_metric_and_kinect_oriented(ntu_annotations):
    names = get_layout("nturgb+d").joints
    joint = {name: i for i, name in enumerate(names)}
    for r in ntu_annotations["annotations"]:
        kp = r["keypoint"][0].astype(np.float64)
        assert np.all((kp[..., 2] > 2.5) & (kp[..., 2] < 6.5))  # metres in front of the sensor
        head, base = kp[:, joint["head"]], kp[:, joint["spine_base"]]
        assert np.all(head[:, 1] > base[:, 1])  # y up
        # facing the sensor, a person's left side is on the sensor's right: smaller x
        left, right = kp[0, joint["shoulder_left"]], kp[0, joint["shoulder_right"]]
        assert left[0] < right[0]
        arm = kp[:, joint["elbow_left"]] - kp[:, joint["shoulder_left"]]
        upper_arm = np.linalg.norm(arm, axis=-1)
        assert 0.2 < np.median(upper_arm) < 0.4  # a human-sized body, not pixels


def test_ntu_generation_is_a_function_of_the_seed():
    a = generate_clips(SyntheticConfig(num_clips=3, seed=1, layout="nturgb+d"))
    b = generate_clips(SyntheticConfig(num_clips=3, seed=1, layout="nturgb+d"))
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["keypoint"], y["keypoint"])
    with pytest.raises(ValueError, match="layouts"):
        SyntheticConfig(layout="openpose")


def test_synthetic_ntu_dataset_runs_a_pyskl_3d_pipeline():
    from skel_data import SyntheticPoseDataset

    pipeline = [
        dict(type="PreNormalize3D"),
        dict(type="RandomRot"),
        dict(type="GenSkeFeat", dataset="nturgb+d", feats=["j", "b"]),
        dict(type="UniformSample", clip_len=12),
        dict(type="PoseDecode"),
        dict(type="FormatGCNInput", num_person=2),
    ]
    dataset = SyntheticPoseDataset(pipeline, split="test", num_samples=16, layout="nturgb+d")
    sample = dataset[0]
    assert sample["keypoint"].shape == (1, 2, 12, 25, 6)
    assert dataset.num_classes == len(ACTIONS)

"""A procedural skeleton-action dataset that skel generates itself.

It is the default data of the README's main command, so that training and evaluation work on
a fresh machine with nothing downloaded. Each clip is a person (sometimes with an idle
bystander) performing one of eight actions, animated by forward kinematics of a simple 3D body.
Two layouts, each in exactly the record format of the PYSKL pickles for it:

- ``'coco'`` (the default): projected by a pinhole camera to COCO-17 pixel coordinates, like a
  PYSKL 2D HRNet pickle (``keypoint`` (M, T, 17, 2) float32, ``keypoint_score`` (M, T, 17),
  ``img_shape``, ``label``, ...), with pose-estimator-like confidence scores and joints that
  drop out (score 0, coordinates 0).
- ``'nturgb+d'``: the 25 Kinect v2 joints in metres in the camera's space (x toward the
  sensor's left, y up, z away from it), like PYSKL's NTU RGB+D 3D pickle (``keypoint``
  (M, T, 25, 3) float32, no scores), with Gaussian noise of ``noise_m`` metres.

What varies from clip to clip: length (40-120 frames), speed, amplitude and phase of the motion,
body size, where the person stands, the camera's yaw and the noise. Everything is a pure
function of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skel_core.layouts import NTU, get_layout

ACTIONS: tuple[str, ...] = (
    "wave",
    "clap",
    "squat",
    "jump",
    "kick",
    "bow",
    "walk_in_place",
    "raise_both_arms",
)

IMG_SHAPE = (1080, 1920)  # (height, width) as in PYSKL's NTU HRNet pickles
CAMERA_HEIGHT = 0.9  # metres above the pelvis of a standing person
LAYOUTS = ("coco", "nturgb+d")

# Joints of the kinematic body, in the order of the COCO-17 layout.
_COCO_JOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)


@dataclass(frozen=True)
class SyntheticConfig:
    """What :func:`generate_clips` produces. ``noise_px`` and ``dropout_prob`` apply to the
    2D ``'coco'`` layout, ``noise_m`` to the 3D ``'nturgb+d'`` one."""

    num_clips: int = 800
    seed: int = 0
    min_frames: int = 40
    max_frames: int = 120
    second_person_prob: float = 0.3
    noise_px: float = 4.0
    dropout_prob: float = 0.03
    layout: str = "coco"
    noise_m: float = 0.01

    def __post_init__(self) -> None:
        name = get_layout(self.layout).name
        if name not in LAYOUTS:
            raise ValueError(f"synthetic data comes in layouts {LAYOUTS}, not {self.layout!r}")
        object.__setattr__(self, "layout", name)


def _rot_x(angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about the x axis (pitch: +angle swings -y toward +z)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    return np.stack(
        [np.stack([one, zero, zero], -1), np.stack([zero, c, -s], -1), np.stack([zero, s, c], -1)],
        -2,
    )


def _rot_z(angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (T, 3, 3) about the z axis (roll: +angle swings -y toward +x)."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    return np.stack(
        [np.stack([c, -s, zero], -1), np.stack([s, c, zero], -1), np.stack([zero, zero, one], -1)],
        -2,
    )


def _rot_y(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _apply(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """Rotate a (3,) or (T, 3) vector by (T, 3, 3) matrices."""
    return np.einsum("tij,tj->ti", rot, np.broadcast_to(vec, (rot.shape[0], 3)))


def _limb(root, pitch, roll, bend, upper, lower, bend_sign=1.0):
    """Two-segment limb hanging down from ``root``: returns (middle joint, end joint), (T, 3)."""
    down = np.array([0.0, -1.0, 0.0])
    base = _rot_z(roll) @ _rot_x(pitch)
    mid = root + _apply(base, down * upper)
    end = mid + _apply(base @ _rot_x(bend_sign * bend), down * lower)
    return mid, end


def _body(angles: dict[str, np.ndarray], size: float) -> dict[str, np.ndarray]:
    """Forward kinematics: joint angles over time -> named joints, (T, 3) each, in metres.

    The names are COCO's plus the extra Kinect joints (``spine_mid``, ``left_hand_tip``...).

    Body frame: x to the person's left, y up, z forward; the pelvis is at the origin before the
    vertical offset ``lift`` is applied.
    """
    t = angles["lift"].shape[0]
    trunk = _rot_x(angles["bow"])  # bending forward about the hips
    pelvis = np.zeros((t, 3)) + angles["lift"][:, None] * np.array([0.0, 1.0, 0.0])
    neck = pelvis + _apply(trunk, np.array([0.0, 0.5, 0.0]) * size)
    head = neck + _apply(trunk, np.array([0.0, 0.2, 0.05]) * size)
    joints = {
        "nose": head + _apply(trunk, np.array([0.0, 0.0, 0.1]) * size),
        "head": head,
        "neck": neck + _apply(trunk, np.array([0.0, 0.08, 0.0]) * size),
        "spine_shoulder": neck,
        "spine_mid": pelvis + _apply(trunk, np.array([0.0, 0.25, 0.0]) * size),
        "spine_base": pelvis,
    }
    for side, sign in (("left", 1.0), ("right", -1.0)):
        joints[f"{side}_eye"] = head + _apply(trunk, np.array([0.035 * sign, 0.03, 0.09]) * size)
        joints[f"{side}_ear"] = head + _apply(trunk, np.array([0.075 * sign, 0.0, 0.0]) * size)
        shoulder = neck + _apply(trunk, np.array([0.18 * sign, -0.02, 0.0]) * size)
        hip = pelvis + np.array([0.1 * sign, 0.0, 0.0]) * size
        elbow, wrist = _limb(
            shoulder,
            angles[f"{side}_arm_pitch"] + angles["bow"],
            sign * angles[f"{side}_arm_roll"],
            angles[f"{side}_elbow"],
            0.3 * size,
            0.27 * size,
        )
        knee, ankle = _limb(
            hip,
            angles[f"{side}_leg_pitch"],
            np.zeros(t),
            angles[f"{side}_knee"],
            0.45 * size,
            0.45 * size,
            bend_sign=-1.0,
        )
        forearm = wrist - elbow
        joints |= {
            f"{side}_shoulder": shoulder,
            f"{side}_elbow": elbow,
            f"{side}_wrist": wrist,
            f"{side}_hand": wrist + 0.3 * forearm,
            f"{side}_hand_tip": wrist + 0.6 * forearm,
            f"{side}_thumb": wrist + 0.3 * forearm + _apply(trunk, np.array([0, 0, 0.04]) * size),
            f"{side}_hip": hip,
            f"{side}_knee": knee,
            f"{side}_ankle": ankle,
            f"{side}_foot": ankle + np.array([0.0, -0.03, 0.12]) * size,
        }
    return joints


def _body_name(ntu_joint: str) -> str:
    """The :func:`_body` name of an NTU joint: ``'hand_tip_left'`` -> ``'left_hand_tip'``."""
    part, _, side = ntu_joint.rpartition("_")
    return f"{side}_{part}" if side in ("left", "right") else ntu_joint


_ANGLE_NAMES = (
    "lift",
    "bow",
    "left_arm_pitch",
    "right_arm_pitch",
    "left_arm_roll",
    "right_arm_roll",
    "left_elbow",
    "right_elbow",
    "left_leg_pitch",
    "right_leg_pitch",
    "left_knee",
    "right_knee",
)


def _action_angles(action: str, phase: np.ndarray, amp: float) -> dict[str, np.ndarray]:
    """Joint angles (radians; ``lift`` in metres) over time for one action.

    ``phase`` runs over the clip in radians (speed and start phase already applied); ``amp``
    scales how pronounced the motion is.
    """
    a = {name: np.zeros_like(phase) for name in _ANGLE_NAMES}
    a["left_arm_roll"] += 0.1
    a["right_arm_roll"] += 0.1
    osc = np.sin(phase)
    pos = 0.5 * (1.0 - np.cos(phase))  # 0..1, starts at rest
    if action == "wave":
        a["right_arm_roll"] = 2.3 * amp + 0.45 * amp * osc  # swings in the image plane
        a["right_elbow"] += 0.5
    elif action == "clap":
        for side in ("left", "right"):
            a[f"{side}_arm_pitch"] += 1.3 * amp
            a[f"{side}_arm_roll"] = 0.9 * amp * pos - 0.35 * amp * (1 - pos)
            a[f"{side}_elbow"] += 0.4
    elif action == "squat":
        a["lift"] = -0.35 * amp * pos
        for side in ("left", "right"):
            a[f"{side}_leg_pitch"] = 1.2 * amp * pos
            a[f"{side}_knee"] = 2.0 * amp * pos
            a[f"{side}_arm_pitch"] = 1.2 * amp * pos
    elif action == "jump":
        a["lift"] = 0.3 * amp * np.clip(osc, 0, None)
        for side in ("left", "right"):
            a[f"{side}_knee"] = 0.6 * amp * np.clip(-osc, 0, None)
            a[f"{side}_leg_pitch"] = 0.3 * amp * np.clip(-osc, 0, None)
            a[f"{side}_arm_roll"] = 0.4 + 0.5 * amp * np.clip(osc, 0, None)
    elif action == "kick":
        a["right_leg_pitch"] = 1.3 * amp * pos
        a["right_knee"] = 0.8 * amp * (1 - pos) * pos * 4
        a["left_arm_roll"] += 0.4 * amp
        a["right_arm_roll"] += 0.4 * amp
    elif action == "bow":
        a["bow"] = 1.0 * amp * pos
    elif action == "walk_in_place":
        a["left_leg_pitch"] = 0.8 * amp * np.clip(osc, 0, None)
        a["left_knee"] = 1.4 * amp * np.clip(osc, 0, None)
        a["right_leg_pitch"] = 0.8 * amp * np.clip(-osc, 0, None)
        a["right_knee"] = 1.4 * amp * np.clip(-osc, 0, None)
        a["left_arm_pitch"] = -0.5 * amp * osc
        a["right_arm_pitch"] = 0.5 * amp * osc
    elif action == "raise_both_arms":
        for side in ("left", "right"):
            a[f"{side}_arm_roll"] = 0.1 + 2.8 * amp * np.minimum(1.0, 2 * pos)
    else:
        raise ValueError(f"unknown synthetic action {action!r}; known: {', '.join(ACTIONS)}")
    return a


def _idle_angles(phase: np.ndarray) -> dict[str, np.ndarray]:
    a = {name: np.zeros_like(phase) for name in _ANGLE_NAMES}
    a["left_arm_roll"] += 0.1 + 0.05 * np.sin(phase)
    a["right_arm_roll"] += 0.1 + 0.05 * np.sin(phase + 1.0)
    return a


def _to_camera(points: np.ndarray, yaw: float, position: np.ndarray) -> np.ndarray:
    """Body-frame points (..., 3) of one person -> the camera's space (x left, y up, z depth)."""
    return points @ _rot_y(yaw).T + position - np.array([0.0, CAMERA_HEIGHT, 0.0])


def _project(camera: np.ndarray, focal: float) -> np.ndarray:
    """Points in the camera's space (..., 3) -> pixel coordinates (..., 2) (x right, y down)."""
    h, w = IMG_SHAPE
    depth = camera[..., 2]
    x = w / 2 - focal * camera[..., 0] / depth
    y = h / 2 - focal * camera[..., 1] / depth
    return np.stack([x, y], axis=-1)


def _person(rng: np.random.Generator, angles: dict[str, np.ndarray], layout: str) -> np.ndarray:
    """Joints of one person at a random spot in front of the camera: (T, 17, 2) pixels for
    ``'coco'``, (T, 25, 3) metres in the camera's space for ``'nturgb+d'``."""
    size = rng.uniform(0.85, 1.15)
    yaw = np.pi + rng.uniform(-0.6, 0.6)  # facing the camera, give or take 35 degrees
    position = np.array([rng.uniform(-1.0, 1.0), 0.0, rng.uniform(3.5, 5.0)])
    joints = _body(angles, size)
    if layout == "nturgb+d":
        body = np.stack([joints[_body_name(name)] for name in NTU.joints], axis=1)
        return _to_camera(body, yaw, position)
    body = np.stack([joints[name] for name in _COCO_JOINTS], axis=1)
    return _project(_to_camera(body, yaw, position), focal=rng.uniform(900, 1100))


def make_clip(rng: np.random.Generator, label: int, cfg: SyntheticConfig, index: int) -> dict:
    """One annotation record of class ``label``, drawn from ``rng``."""
    num_frames = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
    cycles = rng.uniform(1.0, 3.0)
    phase = rng.uniform(0, 0.5) + np.linspace(0, 2 * np.pi * cycles, num_frames)
    angles = _action_angles(ACTIONS[label], phase, rng.uniform(0.7, 1.1))
    people = [_person(rng, angles, cfg.layout)]
    if rng.random() < cfg.second_person_prob:
        people.append(_person(rng, _idle_angles(phase * rng.uniform(0.3, 0.8)), cfg.layout))
    keypoint = np.stack(people).astype(np.float32)
    record = {
        "frame_dir": f"synthetic_{index:05d}_{ACTIONS[label]}",
        "label": label,
        "total_frames": num_frames,
    }
    if cfg.layout == "nturgb+d":
        keypoint += rng.normal(0, cfg.noise_m, keypoint.shape).astype(np.float32)
        return record | {"keypoint": keypoint}
    keypoint += rng.normal(0, cfg.noise_px, keypoint.shape).astype(np.float32)
    score = rng.uniform(0.6, 1.0, keypoint.shape[:-1]).astype(np.float32)
    missing = rng.random(score.shape) < cfg.dropout_prob
    score[missing] = 0.0
    keypoint[missing] = 0.0
    return record | {
        "img_shape": IMG_SHAPE,
        "original_shape": IMG_SHAPE,
        "keypoint": keypoint,
        "keypoint_score": score,
    }


def generate_clips(cfg: SyntheticConfig = SyntheticConfig()) -> list[dict]:
    """``cfg.num_clips`` records with labels cycling over :data:`ACTIONS`."""
    root = np.random.SeedSequence(cfg.seed)
    return [
        make_clip(np.random.default_rng(child), i % len(ACTIONS), cfg, i)
        for i, child in enumerate(root.spawn(cfg.num_clips))
    ]


def generate_annotations(cfg: SyntheticConfig = SyntheticConfig(), test_fraction: float = 0.25):
    """The PYSKL pickle structure: ``{'split': {'train': [...], 'test': [...]}, 'annotations'}``.

    Every fourth clip (by default) goes to the test split, so both splits hold every class.
    """
    records = generate_clips(cfg)
    every = max(2, round(1 / test_fraction))
    test = [r["frame_dir"] for i, r in enumerate(records) if i // len(ACTIONS) % every == 0]
    test_set = set(test)
    train = [r["frame_dir"] for r in records if r["frame_dir"] not in test_set]
    return {"split": {"train": train, "test": test}, "annotations": records}

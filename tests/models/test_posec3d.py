"""PoseC3D: ResNet3dSlowOnly + I3DHead + Recognizer3D, built from PYSKL's config; shapes, PYSKL's
parameter names, the published size, multi-clip averaging, training, and the zoo leaf's data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from skel_core.config import Config
from skel_data.registry import DATASETS
from skel_models import I3DHead, Recognizer3D, ResNet3dSlowOnly
from skel_models.params import count_parameters
from skel_models.registry import build_model

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ZOO = CONFIGS / "posec3d" / "slowonly_r50_ntu60_xsub" / "joint.py"
TINY = CONFIGS / "demo" / "posec3d_synthetic_tiny.py"


@pytest.fixture(scope="module")
def posec3d() -> Recognizer3D:
    return build_model(Config.fromfile(ZOO).model).eval()


def test_forward_averages_clips_to_class_probabilities(posec3d):
    imgs = torch.rand(1, 2, 17, 8, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        probabilities = posec3d(imgs)
        per_clip = posec3d(imgs[0]).softmax(-1)  # the two clips as a batch of (C, T, H, W)
    assert probabilities.shape == (1, 60)
    torch.testing.assert_close(probabilities[0], per_clip.mean(0))


def test_features_have_the_strides_of_the_config(posec3d):
    with torch.no_grad():
        features = posec3d.backbone(torch.rand(2, 17, 8, 32, 32))
    # spatial strides 2, 2, 2 and temporal 1, 1, 2 over stages; the stem does not stride
    assert features.shape == (2, 512, 4, 4, 4)


def _expected_parameter_count() -> int:
    """PYSKL's SlowOnly-R50 (base 32, stages (4, 6, 3), inflate (0, 1, 1)) + I3DHead(512 -> 60),
    counted from the architecture: each conv (bias-free) + BatchNorm (2 per channel)."""

    def conv(c_in: int, c_out: int, kernel: int) -> int:
        return c_in * c_out * kernel + 2 * c_out

    total = conv(17, 32, 1 * 7 * 7)
    inplanes = 32
    for stage, (blocks, inflated) in enumerate(zip((4, 6, 3), (False, True, True), strict=True)):
        planes = 32 * 2**stage
        total += conv(inplanes, planes * 4, 1)  # downsample of the first block
        for block in range(blocks):
            total += conv(inplanes if block == 0 else planes * 4, planes, 3 if inflated else 1)
            total += conv(planes, planes, 9) + conv(planes, planes * 4, 1)
        inplanes = planes * 4
    return total + 512 * 60 + 60


def test_parameter_count_is_the_published_one(posec3d):
    # PoseC3D paper (Duan et al., CVPR 2022, "Revisiting Skeleton-based Action Recognition",
    # Table of backbones): SlowOnly-R50 on keypoint heatmaps has 2.0M parameters.
    params = count_parameters(posec3d)
    assert params == _expected_parameter_count() == 2_024_860
    assert abs(params - 2.0e6) / 2.0e6 < 0.02


@pytest.mark.parametrize(("key", "shape"), [
    ("backbone.conv1.conv.weight", (32, 17, 1, 7, 7)),
    ("backbone.conv1.bn.running_mean", (32,)),
    ("backbone.layer1.0.conv1.conv.weight", (32, 32, 1, 1, 1)),  # stage 1 not inflated
    ("backbone.layer1.0.conv2.conv.weight", (32, 32, 1, 3, 3)),
    ("backbone.layer1.0.downsample.conv.weight", (128, 32, 1, 1, 1)),
    ("backbone.layer1.0.downsample.bn.weight", (128,)),
    ("backbone.layer2.5.conv1.conv.weight", (64, 256, 3, 1, 1)),  # '3x1x1' inflation
    ("backbone.layer3.2.conv3.bn.num_batches_tracked", ()),
    ("cls_head.fc_cls.weight", (60, 512)),
])
def test_state_dict_uses_pyskls_names(posec3d, key, shape):
    assert tuple(posec3d.state_dict()[key].shape) == shape


def test_state_dict_has_no_other_keys(posec3d):
    keys = posec3d.state_dict().keys()
    assert "backbone.layer2.0.downsample.conv.weight" in keys
    assert "backbone.layer2.1.downsample.conv.weight" not in keys  # only the first block's
    assert sum(k.endswith(".conv.weight") for k in keys) == 1 + 3 * 13 + 3


def test_mmaction2_stride_spelling_builds_the_same_model():
    pyskl = ResNet3dSlowOnly(in_channels=17, base_channels=8, num_stages=3, out_indices=(2,),
                             stage_blocks=(1, 1, 1), conv1_stride=(1, 1), pool1_stride=(1, 1),
                             inflate=(0, 1, 1), spatial_strides=(2, 2, 2),
                             temporal_strides=(1, 1, 2))
    mmaction = ResNet3dSlowOnly(in_channels=17, base_channels=8, num_stages=3, out_indices=(2,),
                                stage_blocks=(1, 1, 1), conv1_stride_s=1, pool1_stride_s=1,
                                inflate=(0, 1, 1), spatial_strides=(2, 2, 2),
                                temporal_strides=(1, 1, 2), dilations=(1, 1, 1))
    mmaction.load_state_dict(pyskl.state_dict())
    x = torch.rand(1, 17, 4, 16, 16)
    torch.testing.assert_close(mmaction.eval()(x), pyskl.eval()(x))


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(depth=18), "depth must be one of"),
    (dict(num_stages=3), "one value per stage"),
    (dict(dilations=(1, 2, 1, 1)), "dilations"),
    (dict(out_indices=(4,)), "out_indices"),
])
def test_bad_arguments_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ResNet3dSlowOnly(**kwargs)


def test_wrong_heatmap_channels_are_refused(posec3d):
    with pytest.raises(ValueError, match=r"ResNet3dSlowOnly expects heatmaps \(N, 17, T, H, W\)"):
        posec3d.backbone(torch.rand(1, 18, 4, 16, 16))
    with pytest.raises(ValueError, match="I3DHead has in_channels=8"):
        I3DHead(4, 8)(torch.rand(1, 16, 2, 2, 2))


def test_one_sgd_step_lowers_the_loss():
    torch.manual_seed(0)
    model = build_model(Config.fromfile(TINY).model).train()
    imgs = torch.rand(8, 17, 8, 32, 32)
    labels = torch.arange(8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def loss() -> torch.Tensor:
        return torch.nn.functional.cross_entropy(model(imgs), labels)

    model.cls_head.dropout.p = 0.0  # a deterministic loss before and after the step
    before = loss()
    optimizer.zero_grad()
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = loss()
    assert after < before


def test_zoo_leaf_renders_heatmaps_of_its_models_channels():
    cfg = Config.fromfile(ZOO)
    assert cfg.work_dir == "./work_dirs/posec3d/slowonly_r50_ntu60_xsub/joint"
    for split, dataset in (("train", cfg.data.train.dataset), ("val", cfg.data.val),
                           ("test", cfg.data.test)):
        assert dataset.ann_file == cfg.ann_file, split
        steps = {step["type"]: step for step in dataset.pipeline}
        assert steps["FormatShape"]["input_format"] == "NCTHW_Heatmap", split
        assert steps["GeneratePoseTarget"]["with_kp"] and not steps["GeneratePoseTarget"][
            "with_limb"], split  # one channel per COCO keypoint: in_channels 17
        assert steps["UniformSampleFrames"].get("num_clips", 1) == (10 if split == "test" else 1)
    assert cfg.model.backbone.in_channels == 17


def test_tiny_config_classifies_its_synthetic_test_sample():
    cfg = Config.fromfile(TINY)
    model = build_model(cfg.model).eval()
    sample = DATASETS.build(cfg.data.test)[0]
    assert sample["imgs"].shape == (4, 17, 8, 32, 32)  # 2 clips x 2 flips
    with torch.no_grad():
        probabilities = model(sample["imgs"][None])
    assert probabilities.shape == (1, 8)
    torch.testing.assert_close(probabilities.sum(), torch.tensor(1.0))

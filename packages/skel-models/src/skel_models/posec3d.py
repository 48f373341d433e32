"""PoseC3D's backbone: PYSKL's ResNet3dSlowOnly, a 3D ResNet on heatmap volumes (N, K, T, H, W).

Module and parameter names are PYSKL's (``conv1.conv.weight``, ``conv1.bn.running_mean``,
``layer1.0.conv2.conv.weight``, ``layer1.0.downsample.conv.weight``...), so PYSKL's and
MMAction2's PoseC3D checkpoints load unchanged. The arguments are PYSKL's, and MMAction2 0.x's
spellings of the stem strides (``conv1_stride_s``/``_t``, ``pool1_stride_s``/``_t``) and
``dilations`` are accepted as well. Only the bottleneck depths (50, 101, 152) are built: PoseC3D
uses ResNet-50.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

BOTTLENECK_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
EXPANSION = 4
INFLATE_STYLES = ("3x1x1", "3x3x3")


class ConvModule(nn.Module):
    """mmcv's ConvModule as ResNet3d uses it: a bias-free Conv3d, BatchNorm3d, optional ReLU,
    under the names ``conv`` and ``bn`` that checkpoints use."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        padding: int | tuple[int, int, int] = 0,
        relu: bool = True,
    ):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, stride, padding, bias=False)
        self.bn = nn.BatchNorm3d(out_channels)
        self.activate = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activate(self.bn(self.conv(x)))


class Bottleneck3d(nn.Module):
    """1x1x1 -> 1x3x3 (strided) -> 1x1x1 bottleneck with a residual. An inflated block has a
    temporal kernel of 3 in its first convolution (``'3x1x1'``) or 3x3x3 middle one
    (``'3x3x3'``)."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: tuple[int, int] = (1, 1),
        downsample: nn.Module | None = None,
        inflate: bool = True,
        inflate_style: str = "3x1x1",
    ):
        super().__init__()
        temporal_first = inflate and inflate_style == "3x1x1"
        temporal_middle = inflate and inflate_style == "3x3x3"
        t_stride, s_stride = stride
        self.conv1 = ConvModule(inplanes, planes, (3, 1, 1) if temporal_first else 1,
                                padding=(1, 0, 0) if temporal_first else 0)
        self.conv2 = ConvModule(planes, planes, 3 if temporal_middle else (1, 3, 3),
                                stride=(t_stride, s_stride, s_stride),
                                padding=1 if temporal_middle else (0, 1, 1))
        self.conv3 = ConvModule(planes, planes * EXPANSION, 1, relu=False)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv3(self.conv2(self.conv1(x))) + identity)


class ResNet3dSlowOnly(nn.Module):
    """PYSKL's ResNet3dSlowOnly: a (1, 7, 7) stem convolution, a (1, 3, 3) max-pool, and
    ``num_stages`` stages ``layer1``... of bottlenecks with ``base_channels * 2**i`` planes.

    ``forward(x)`` takes (N, in_channels, T, H, W) and returns the features of the stage in
    ``out_indices`` (a tuple of them when several are asked for). Stage ``i`` strides by
    ``temporal_strides[i]`` in time and ``spatial_strides[i]`` in space in its first block;
    ``inflate[i]`` (or a per-block tuple) gives its blocks temporal kernels. Weights start as
    PYSKL's: Kaiming-normal (fan_out) convolutions, unit BatchNorms, and with
    ``zero_init_residual`` each block's last BatchNorm at zero.
    """

    def __init__(
        self,
        depth: int = 50,
        pretrained: str | None = None,
        stage_blocks: Sequence[int] | None = None,
        in_channels: int = 3,
        num_stages: int = 4,
        base_channels: int = 64,
        out_indices: Sequence[int] = (3,),
        spatial_strides: Sequence[int] = (1, 2, 2, 2),
        temporal_strides: Sequence[int] = (1, 1, 1, 1),
        conv1_kernel: Sequence[int] = (1, 7, 7),
        conv1_stride: Sequence[int] = (1, 2),
        pool1_stride: Sequence[int] = (1, 2),
        inflate: Sequence[int | Sequence[int]] = (0, 0, 1, 1),
        inflate_style: str = "3x1x1",
        zero_init_residual: bool = True,
        conv1_stride_s: int | None = None,
        conv1_stride_t: int | None = None,
        pool1_stride_s: int | None = None,
        pool1_stride_t: int | None = None,
        dilations: Sequence[int] | None = None,
    ):
        super().__init__()
        if depth not in BOTTLENECK_DEPTHS:
            raise ValueError(f"ResNet3dSlowOnly: depth must be one of "
                             f"{sorted(BOTTLENECK_DEPTHS)}, got {depth}")
        if pretrained is not None:
            raise ValueError("ResNet3dSlowOnly: pretrained is not read by the backbone; load "
                             "weights with skel_models.load_pretrained")
        if inflate_style not in INFLATE_STYLES:
            raise ValueError(f"ResNet3dSlowOnly: inflate_style must be one of {INFLATE_STYLES}, "
                             f"got {inflate_style!r}")
        if dilations is not None and any(d != 1 for d in dilations):
            raise ValueError(f"ResNet3dSlowOnly: only dilations of 1 are supported, got "
                             f"{tuple(dilations)}")
        stage_blocks = tuple(stage_blocks or BOTTLENECK_DEPTHS[depth][:num_stages])
        per_stage = {"stage_blocks": stage_blocks, "spatial_strides": spatial_strides,
                     "temporal_strides": temporal_strides, "inflate": inflate}
        wrong = {name: tuple(v) for name, v in per_stage.items() if len(v) != num_stages}
        if wrong or not 1 <= num_stages <= 4:
            raise ValueError(f"ResNet3dSlowOnly: num_stages={num_stages} (1 to 4) needs one "
                             f"value per stage; got {wrong}")
        if not out_indices or not all(0 <= i < num_stages for i in out_indices):
            raise ValueError(f"ResNet3dSlowOnly: out_indices must be stage indices below "
                             f"num_stages={num_stages}, got {tuple(out_indices)}")
        self.out_indices = tuple(out_indices)
        conv1_t, conv1_s = conv1_stride_t or conv1_stride[0], conv1_stride_s or conv1_stride[1]
        pool1_t, pool1_s = pool1_stride_t or pool1_stride[0], pool1_stride_s or pool1_stride[1]

        self.conv1 = ConvModule(in_channels, base_channels, tuple(conv1_kernel),
                                stride=(conv1_t, conv1_s, conv1_s),
                                padding=tuple((k - 1) // 2 for k in conv1_kernel))
        self.maxpool = nn.MaxPool3d((1, 3, 3), stride=(pool1_t, pool1_s, pool1_s),
                                    padding=(0, 1, 1))
        inplanes = base_channels
        self.res_layers: list[str] = []
        for i, blocks in enumerate(stage_blocks):
            planes = base_channels * 2**i
            layer = _res_layer(inplanes, planes, blocks, (temporal_strides[i], spatial_strides[i]),
                               inflate[i], inflate_style)
            inplanes = planes * EXPANSION
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = inplanes
        self._init_weights(zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm3d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck3d):
                    nn.init.zeros_(module.conv3.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        if x.dim() != 5 or x.shape[1] != self.conv1.conv.in_channels:
            raise ValueError(f"ResNet3dSlowOnly expects heatmaps (N, "
                             f"{self.conv1.conv.in_channels}, T, H, W), got {tuple(x.shape)}")
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)


def _res_layer(
    inplanes: int,
    planes: int,
    blocks: int,
    stride: tuple[int, int],
    inflate: int | Sequence[int],
    inflate_style: str,
) -> nn.Sequential:
    """One stage: ``blocks`` bottlenecks, the first strided (with a strided 1x1x1 projection
    of the residual when the stride or the channel count changes)."""
    inflate = (inflate,) * blocks if isinstance(inflate, int) else tuple(inflate)
    if len(inflate) != blocks:
        raise ValueError(f"ResNet3dSlowOnly: a stage of {blocks} blocks got inflate {inflate}")
    downsample = None
    if stride[1] != 1 or inplanes != planes * EXPANSION:
        downsample = ConvModule(inplanes, planes * EXPANSION, 1,
                                stride=(stride[0], stride[1], stride[1]), relu=False)
    layers = [Bottleneck3d(inplanes, planes, stride, downsample, inflate[0] == 1, inflate_style)]
    layers += [Bottleneck3d(planes * EXPANSION, planes, (1, 1), None, flag == 1, inflate_style)
               for flag in inflate[1:]]
    return nn.Sequential(*layers)

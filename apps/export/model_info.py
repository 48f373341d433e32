"""What running a trained model needs besides its weights, read from its config.

:class:`ModelInfo` gathers it: what the model takes (its input kind, see below, and the fixed
sizes of one clip), the clip length T the test pipeline samples, the skeleton layout, the class
names, the test pipeline and how the recognizer averages the scores of several clips.
``skel-export`` writes it into the ONNX file as JSON under the metadata key
:data:`METADATA_KEY`, so that ``skel-infer`` can run the file with no config.

Two kinds of model input, named by the key of the test pipeline's output that holds it (which
is also the name of the exported graph's input):

* ``'keypoint'`` (GCN recognizers): skeleton clips (N, M, T, V, C), made by ``FormatGCNInput``;
* ``'imgs'`` (PoseC3D, ``Recognizer3D``): heatmap volumes (N, C, T, H, W), rendered by
  ``GeneratePoseTarget`` and shaped by ``FormatShape(input_format='NCTHW_Heatmap')``.

Where each part comes from in a PYSKL-style config:

* test pipeline: ``data.test.pipeline``, else ``test_pipeline``; T is the ``clip_len`` of its
  ``UniformSampleFrames``;
* input kind: the pipeline's formatter (above), which must agree with the recognizer's type
  (:data:`MODEL_INPUTS`); without a pipeline, the recognizer's type alone;
* multi-clip averaging: ``model.test_cfg.average_clips`` (default ``'prob'``);
* class names: a top-level ``class_names``, else ``data.test.class_names`` (a list, or a
  label-map file with one name per line), else the built-in names of the test dataset's type
  (:data:`BUILTIN_CLASS_NAMES`); else none, and class indices are shown instead.

For a GCN model: the layout is ``model.backbone.graph_cfg.layout`` (V is its joint count), C
is ``model.backbone.in_channels`` (default 3) and M the ``num_person`` of ``FormatGCNInput``
(default 2).

For a heatmap model: C (heatmap channels) is ``model.backbone.in_channels``; the keypoint count
V of the input sequences is C minus the limb channels of ``GeneratePoseTarget`` (unknown when
it draws limbs only); the layout is the registered one with V joints whose flip pairs are
``GeneratePoseTarget``'s ``left_kp``/``right_kp`` (PYSKL's defaults are COCO's), if exactly
one is; (H, W) is the frame size the pipeline fixes (see :func:`heatmap_size`); M is None, the
persons being drawn into the same maps.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from skel_core.config import Config
from skel_core.errors import ConfigError
from skel_core.layouts import Layout, get_layout, list_layouts
from skel_data.dataset import read_class_names
from skel_data.synthetic import ACTIONS
from skel_data.transforms import TRANSFORMS

if TYPE_CHECKING:
    import onnx

METADATA_KEY = "skel.model_info"
BUILTIN_CLASS_NAMES: dict[str, tuple[str, ...]] = {"SyntheticPoseDataset": ACTIONS}
"""Class names of dataset types that carry their own (keyed by the config's ``type``)."""

KEYPOINT_INPUT = "keypoint"
HEATMAP_INPUT = "imgs"
CLIP_AXES: dict[str, tuple[str, ...]] = {
    KEYPOINT_INPUT: ("M", "T", "V", "C"),
    HEATMAP_INPUT: ("C", "T", "H", "W"),
}
"""The axes of one clip of each input kind; the model input has the batch axis N before them."""
MODEL_INPUTS = {"RecognizerGCN": KEYPOINT_INPUT, "Recognizer3D": HEATMAP_INPUT}
FORMATTER_INPUTS = {"FormatGCNInput": KEYPOINT_INPUT, "FormatShape": HEATMAP_INPUT}
HEATMAP_FORMAT = "NCTHW_Heatmap"

SAMPLER_TYPES = ("UniformSampleFrames", "UniformSample")
DEFAULT_NUM_PERSON = 2


@dataclass
class ModelInfo:
    """The facts about a model that are not in its weights (see the module docstring).

    ``input_name`` is the input kind, a key of :data:`CLIP_AXES`. ``num_person`` is M of a GCN
    input (None for heatmap models); ``num_joints`` (V of the input sequences) and
    ``in_channels`` (C of the model input) are None when unknown; ``clip_len`` is None when the
    test pipeline samples no fixed number of frames; ``heatmap_size`` is a heatmap model's
    (H, W) when the pipeline fixes it; ``test_pipeline`` is None when there is none
    (``skel-infer`` then uses its default, which exists for GCN models only). The last two
    fields came later: metadata written before them reads as a GCN model's.
    """

    num_person: int | None
    num_joints: int | None
    in_channels: int | None
    clip_len: int | None = None
    layout: Layout | None = None
    class_names: list[str] | None = None
    test_pipeline: list[dict[str, Any]] | None = None
    average_clips: str | None = "prob"
    input_name: str = KEYPOINT_INPUT
    heatmap_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.input_name not in CLIP_AXES:
            raise ConfigError(f"unknown model input {self.input_name!r}; skel runs "
                              f"{' and '.join(repr(name) for name in CLIP_AXES)} models")
        if self.heatmap_size is not None:
            self.heatmap_size = tuple(int(side) for side in self.heatmap_size)

    @property
    def clip_axes(self) -> tuple[str, ...]:
        """The axes of one clip of this model's input, e.g. ``('C', 'T', 'H', 'W')``."""
        return CLIP_AXES[self.input_name]

    @classmethod
    def from_config(cls, cfg: Config) -> ModelInfo:
        """Read a model's info from its config; raises ConfigError, naming the key, for a
        config whose test pipeline makes no model input skel runs, or one that disagrees with
        the recognizer's type."""
        plain = cfg.to_dict()
        model = _mapping(plain.get("model"), "model")
        backbone = _mapping(model.get("backbone", {}), "model.backbone")
        pipeline = _test_pipeline(plain)
        input_name = _input_name(model, pipeline)
        sampler = None if pipeline is None else _step(pipeline, SAMPLER_TYPES)
        input_fields = (_skeleton_fields if input_name == KEYPOINT_INPUT else _heatmap_fields)(
            backbone, pipeline)
        return cls(
            **input_fields,
            clip_len=None if sampler is None else sampler.get("clip_len"),
            class_names=_class_names(plain),
            test_pipeline=pipeline,
            average_clips=(model.get("test_cfg") or {}).get("average_clips", "prob"),
            input_name=input_name,
        )

    def with_layout(self, layout: Layout) -> ModelInfo:
        """A copy that uses ``layout`` (and its joint count)."""
        return dataclasses.replace(self, layout=layout, num_joints=layout.num_joints)

    def to_json(self) -> str:
        """The info as JSON (the layout as :meth:`Layout.to_dict`); :meth:`from_json` reads it.

        Raises ConfigError if the test pipeline holds values JSON cannot represent."""
        fields = dataclasses.asdict(self)
        fields["layout"] = None if self.layout is None else self.layout.to_dict()
        try:
            return json.dumps(fields)
        except TypeError as error:
            raise ConfigError(f"the model info cannot be written as JSON ({error}); the test "
                              f"pipeline must hold only plain values") from error

    @classmethod
    def from_json(cls, text: str, source: str) -> ModelInfo:
        """Read :meth:`to_json`'s output, also as written before the fields with defaults
        existed; ``source`` names where it came from in errors."""
        try:
            fields = json.loads(text)
            fields["layout"] = None if fields["layout"] is None else get_layout(fields["layout"])
            return cls(**fields)
        except (ValueError, KeyError, TypeError, ConfigError) as error:
            raise ConfigError(f"{source}: unreadable {METADATA_KEY} metadata "
                              f"({type(error).__name__}: {error})") from error


def write_model_info(proto: onnx.ModelProto, info: ModelInfo) -> None:
    """Store ``info`` in the metadata of an ONNX model (replacing any stored before)."""
    kept = [prop for prop in proto.metadata_props if prop.key != METADATA_KEY]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    proto.metadata_props.add(key=METADATA_KEY, value=info.to_json())


def read_model_info(proto: onnx.ModelProto, source: str) -> ModelInfo | None:
    """The info :func:`write_model_info` stored in an ONNX model; None if it has none."""
    for prop in proto.metadata_props:
        if prop.key == METADATA_KEY:
            return ModelInfo.from_json(prop.value, source)
    return None


def heatmap_size(pipeline: list[dict]) -> tuple[int, int] | None:
    """(H, W) of the heatmaps ``pipeline``'s ``GeneratePoseTarget`` renders, when the steps
    before it fix the frame size whatever the input; else None.

    The frame size is unknown at first and after the keypoint-dependent or random crops
    (``PoseCompact``, ``RandomResizedCrop``); ``Resize(scale=(w, h), keep_ratio=False)`` and
    ``CenterCrop`` fix it, a ratio-keeping ``Resize`` scales a known one, and
    ``GeneratePoseTarget`` multiplies it by its ``scaling``.
    """
    size = None
    for index, step in enumerate(pipeline):
        kind = step.get("type")
        if kind == "Resize":
            resize = _built(step, index)
            if size is not None:
                size = resize.new_size(*size)
            elif not resize.keep_ratio:
                size = resize.new_size(1, 1)  # the scale alone gives it
        elif kind == "CenterCrop":
            width, height = _built(step, index).crop_size
            size = (height, width)
        elif kind in ("PoseCompact", "RandomResizedCrop"):
            size = None
        elif kind == "GeneratePoseTarget":
            scaling = _built(step, index).scaling
            return None if size is None else (int(size[0] * scaling + 0.5),
                                              int(size[1] * scaling + 0.5))
    return None


def _mapping(value: Any, key: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise ConfigError(f"config key {key!r} must be a dict(type=...), got {value!r}")
    return value


def _test_pipeline(plain: Mapping) -> list[dict] | None:
    test = (plain.get("data") or {}).get("test") or {}
    pipeline = test.get("pipeline", plain.get("test_pipeline"))
    if pipeline is None:
        return None
    if not isinstance(pipeline, list) or not all(isinstance(s, dict) for s in pipeline):
        raise ConfigError(f"the test pipeline must be a list of dict(type=...), got {pipeline!r}")
    return pipeline


def _step(pipeline: list[dict], types: tuple[str, ...]) -> dict | None:
    """The first step of ``pipeline`` whose type is one of ``types``."""
    return next((step for step in pipeline if step.get("type") in types), None)


def _built(step: dict, index: int) -> Any:
    """The transform of test pipeline step ``index``, built to read its arguments."""
    try:
        return TRANSFORMS.build(step)
    except (ValueError, TypeError) as error:
        raise ConfigError(f"test pipeline step {index} ({step.get('type')}): {error}") from error


def _input_name(model: Mapping, pipeline: list[dict] | None) -> str:
    """The model's input kind (a key of :data:`CLIP_AXES`), checked against the pipeline."""
    expected = MODEL_INPUTS.get(model.get("type"))
    if pipeline is None:
        return expected or KEYPOINT_INPUT
    formatter = _step(pipeline, tuple(FORMATTER_INPUTS))
    if formatter is None:
        raise ConfigError(
            "the test pipeline has neither FormatGCNInput (skeleton input 'keypoint' "
            "(N, M, T, V, C)) nor FormatShape (heatmap input 'imgs' (N, C, T, H, W)), so it "
            "makes no input that skel-export and skel-infer can give a model"
        )
    made = FORMATTER_INPUTS[formatter["type"]]
    if expected is not None and made != expected:
        raise ConfigError(
            f"model type {model['type']} takes {expected!r} input but the test pipeline's "
            f"{formatter['type']} makes {made!r}; the config's model and test pipeline do not "
            "belong together"
        )
    if made == HEATMAP_INPUT and formatter.get("input_format") != HEATMAP_FORMAT:
        raise ConfigError(
            f"the test pipeline's FormatShape has input_format="
            f"{formatter.get('input_format')!r}; skel-export and skel-infer run heatmap models "
            f"(PoseC3D), whose FormatShape has input_format={HEATMAP_FORMAT!r}"
        )
    return made


def _skeleton_fields(backbone: Mapping, pipeline: list[dict] | None) -> dict[str, Any]:
    graph_cfg = backbone.get("graph_cfg") or {}
    layout = get_layout(graph_cfg["layout"]) if "layout" in graph_cfg else None
    formatter = None if pipeline is None else _step(pipeline, ("FormatGCNInput",))
    num_person = backbone.get("num_person", DEFAULT_NUM_PERSON) if formatter is None \
        else formatter.get("num_person", DEFAULT_NUM_PERSON)
    return dict(num_person=int(num_person),
                num_joints=None if layout is None else layout.num_joints,
                in_channels=int(backbone.get("in_channels", 3)), layout=layout)


def _heatmap_fields(backbone: Mapping, pipeline: list[dict] | None) -> dict[str, Any]:
    in_channels = int(backbone.get("in_channels", 3))
    fields: dict[str, Any] = dict(num_person=None, num_joints=None, in_channels=in_channels)
    if pipeline is None:
        return fields
    index = next((i for i, step in enumerate(pipeline)
                  if step.get("type") == "GeneratePoseTarget"), None)
    if index is None:
        raise ConfigError("the test pipeline makes heatmap input (FormatShape) but has no "
                          "GeneratePoseTarget to render the heatmaps")
    target = _built(pipeline[index], index)
    num_joints = None
    if target.with_kp:
        num_joints = in_channels - (len(target.skeletons) if target.with_limb else 0)
        if num_joints < 1:
            raise ConfigError(f"model.backbone.in_channels = {in_channels} leaves no keypoint "
                              f"channels beside GeneratePoseTarget's {len(target.skeletons)} "
                              "limbs")
    layout = None if num_joints is None else _layout_by_flip_pairs(
        num_joints, target.left_kp, target.right_kp)
    return {**fields, "num_joints": num_joints, "layout": layout,
            "heatmap_size": heatmap_size(pipeline)}


def _layout_by_flip_pairs(num_joints: int, left: tuple[int, ...],
                          right: tuple[int, ...]) -> Layout | None:
    """The one registered layout of ``num_joints`` joints whose flip exchanges ``left[k]`` and
    ``right[k]``; None if there is none or more than one."""
    if any(joint >= num_joints for joint in (*left, *right)):
        return None
    flip = np.arange(num_joints)
    flip[list(left)], flip[list(right)] = list(right), list(left)
    matches = [layout for layout in map(get_layout, list_layouts())
               if layout.num_joints == num_joints and np.array_equal(layout.flip_index, flip)]
    return matches[0] if len(matches) == 1 else None


def _class_names(plain: Mapping) -> list[str] | None:
    test = (plain.get("data") or {}).get("test") or {}
    names = plain.get("class_names", test.get("class_names"))
    if names is None:
        builtin = BUILTIN_CLASS_NAMES.get(test.get("type"))
        return None if builtin is None else list(builtin)
    if isinstance(names, str):
        return read_class_names(names)
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"class_names must be a list of names or a label-map file, "
                          f"got {names!r}")
    return list(names)

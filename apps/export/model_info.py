"""What running a trained model needs besides its weights, read from its config.

:class:`ModelInfo` gathers it: the fixed sizes of the model input (persons M, joints V,
channels C, and the clip length T the test pipeline samples), the skeleton layout, the class
names, the test pipeline and how the recognizer averages the scores of several clips.
``skel-export`` writes it into the ONNX file as JSON under the metadata key
:data:`METADATA_KEY`, so that ``skel-infer`` can run the file with no config.

Where each part comes from in a PYSKL-style config:

* layout: ``model.backbone.graph_cfg.layout`` (V is its joint count);
* C: ``model.backbone.in_channels`` (default 3);
* test pipeline: ``data.test.pipeline``, else ``test_pipeline``; M is the ``num_person`` of
  its ``FormatGCNInput`` (default 2) and T the ``clip_len`` of its ``UniformSampleFrames``;
* multi-clip averaging: ``model.test_cfg.average_clips`` (default ``'prob'``);
* class names: a top-level ``class_names``, else ``data.test.class_names`` (a list, or a
  label-map file with one name per line), else the built-in names of the test dataset's type
  (:data:`BUILTIN_CLASS_NAMES`); else none, and class indices are shown instead.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skel_core.config import Config
from skel_core.errors import ConfigError
from skel_core.layouts import Layout, get_layout
from skel_data.dataset import read_class_names
from skel_data.synthetic import ACTIONS

if TYPE_CHECKING:
    import onnx

METADATA_KEY = "skel.model_info"
BUILTIN_CLASS_NAMES: dict[str, tuple[str, ...]] = {"SyntheticPoseDataset": ACTIONS}
"""Class names of dataset types that carry their own (keyed by the config's ``type``)."""

SAMPLER_TYPES = ("UniformSampleFrames", "UniformSample")
DEFAULT_NUM_PERSON = 2


@dataclass
class ModelInfo:
    """The facts about a model that are not in its weights (see the module docstring).

    ``num_joints`` and ``in_channels`` are None when unknown; ``clip_len`` is None when the
    test pipeline samples no fixed number of frames; ``test_pipeline`` is None when there is
    none (``skel-infer`` then uses its default).
    """

    num_person: int
    num_joints: int | None
    in_channels: int | None
    clip_len: int | None = None
    layout: Layout | None = None
    class_names: list[str] | None = None
    test_pipeline: list[dict[str, Any]] | None = None
    average_clips: str | None = "prob"

    @classmethod
    def from_config(cls, cfg: Config) -> ModelInfo:
        """Read a model's info from its config; raises ConfigError, naming the key, for a
        config whose test pipeline does not produce skeleton (GCN) input."""
        plain = cfg.to_dict()
        model = _mapping(plain.get("model"), "model")
        backbone = _mapping(model.get("backbone", {}), "model.backbone")
        graph_cfg = backbone.get("graph_cfg") or {}
        layout = get_layout(graph_cfg["layout"]) if "layout" in graph_cfg else None
        pipeline = _test_pipeline(plain)
        num_person = backbone.get("num_person", DEFAULT_NUM_PERSON)
        clip_len = None
        if pipeline is not None:
            formatter = _step(pipeline, ("FormatGCNInput",))
            if formatter is None:
                raise ConfigError(
                    "the test pipeline has no FormatGCNInput, so it does not make skeleton "
                    "input (keypoint (N, M, T, V, C)); skel-export and skel-infer handle GCN "
                    "recognizers only (there is no PoseC3D model in skel-models yet)"
                )
            num_person = formatter.get("num_person", DEFAULT_NUM_PERSON)
            sampler = _step(pipeline, SAMPLER_TYPES)
            clip_len = None if sampler is None else sampler.get("clip_len")
        return cls(
            num_person=int(num_person),
            num_joints=None if layout is None else layout.num_joints,
            in_channels=int(backbone.get("in_channels", 3)),
            clip_len=clip_len,
            layout=layout,
            class_names=_class_names(plain),
            test_pipeline=pipeline,
            average_clips=(model.get("test_cfg") or {}).get("average_clips", "prob"),
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
        """Read :meth:`to_json`'s output; ``source`` names where it came from in errors."""
        try:
            fields = json.loads(text)
            fields["layout"] = None if fields["layout"] is None else get_layout(fields["layout"])
            return cls(**fields)
        except (ValueError, KeyError, TypeError) as error:
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

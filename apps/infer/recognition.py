"""From annotation records to class probabilities: test pipeline, scorer, clip averaging.

Each record (a whole sequence, or a window of one) goes through the test pipeline, which makes
its clips under the key of the model's input kind: ``keypoint`` ``(S, M, T, V, C)`` for a GCN
model, ``imgs`` ``(S, C, T, H, W)`` heatmap volumes for PoseC3D (S = crops x clips there); the
scorer gives their class scores; the S rows become one probability vector as the model's
``test_cfg.average_clips`` says: ``'score'`` averages the scores and then takes their softmax;
anything else (``'prob'``, PYSKL's default) averages the clips' softmax probabilities.

The test pipeline is the config's, else the one stored in the ONNX file. A heatmap model has
no other: without one it is refused (its pipeline holds the heatmap size and rendering). A GCN
model's is else :func:`default_pipeline`: ``PreNormalize2D`` (2D sequences only), then
``UniformSampleFrames(clip_len, num_clips=1, test_mode=True)`` with the model's fixed T (else
:data:`DEFAULT_CLIP_LEN`), ``PoseDecode``, ``FormatGCNInput(num_person=M)`` (which appends a
2D sequence's keypoint score as a last channel, making the (x, y, score) joint stream of PYSKL's
``GenSkeFeat(feats=['j'])``), ``Collect`` and ``ToTensor``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from skel_core.errors import AnnotationError, ConfigError, SkelError
from skel_data.transforms import Compose

from ..export.model_info import HEATMAP_INPUT, ModelInfo
from .scoring import rows_per_pass

DEFAULT_CLIP_LEN = 100


def default_pipeline(clip_len: int, num_person: int, two_d: bool) -> list[dict[str, Any]]:
    """The test pipeline for a GCN model that comes with none (see the module docstring)."""
    normalise = [dict(type="PreNormalize2D")] if two_d else []
    return normalise + [
        dict(type="UniformSampleFrames", clip_len=clip_len, num_clips=1, test_mode=True),
        dict(type="PoseDecode"),
        dict(type="FormatGCNInput", num_person=num_person),
        dict(type="Collect", keys=["keypoint"], meta_keys=[]),
        dict(type="ToTensor", keys=["keypoint"]),
    ]


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def average_clips(scores: np.ndarray, mode: str | None) -> np.ndarray:
    """Class probabilities ``(K,)`` of one sample from its clips' scores ``(S, K)``."""
    scores = scores.astype(np.float64)
    if mode == "score":
        return softmax(scores.mean(axis=0))
    return softmax(scores).mean(axis=0)


class Recognizer:
    """Class probabilities of records, by a scorer (:mod:`.scoring`) and a model's info.

    Raises ConfigError when the info's input kind is not the scorer's, or when a heatmap
    model comes without its test pipeline."""

    def __init__(self, scorer, info: ModelInfo):
        if scorer.input_name not in (None, info.input_name):
            raise ConfigError(f"the model info describes a model that takes "
                              f"{info.input_name!r} input, but {scorer.description} takes "
                              f"{scorer.input_name!r}; give the config this model belongs to")
        if info.input_name == HEATMAP_INPUT and info.test_pipeline is None:
            raise ConfigError(f"{scorer.description} takes heatmap volumes 'imgs' (N, C, T, H, "
                              "W), and no test pipeline to render them from keypoints comes "
                              "with it: a heatmap model needs its test pipeline (give "
                              "--config CONFIG, or export it with skel-export, which stores "
                              "the pipeline in the file)")
        self.scorer = scorer
        self.info = info
        self._pipelines: dict[bool, Compose] = {}

    def class_name(self, index: int) -> str:
        """The name of class ``index``; ``class <index>`` when it has none."""
        names = self.info.class_names or ()
        return names[index] if 0 <= index < len(names) else f"class {index}"

    def probabilities(self, records: Sequence[dict], names: Sequence[str]) -> np.ndarray:
        """``(len(records), num_classes)`` class probabilities, the clips of several records
        scored together; ``names`` name the records in errors."""
        lengths, probabilities, pending = [], [], []

        def score_pending() -> None:
            scores = self.scorer(np.concatenate(pending))
            self._check_classes(scores.shape[1])
            for chunk in np.split(scores, np.cumsum(lengths)[:-1]):
                probabilities.append(average_clips(chunk, self.info.average_clips))
            lengths.clear()
            pending.clear()

        for record, name in zip(records, names, strict=True):
            clips = self.clips(record, name)
            pending.append(clips)
            lengths.append(len(clips))
            if sum(lengths) >= rows_per_pass(clips.shape[1:]):
                score_pending()
        if pending:
            score_pending()
        return np.stack(probabilities)

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` likeliest classes as (index, name, probability), likeliest first."""
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [(int(i), self.class_name(int(i)), float(probabilities[i])) for i in order]

    def _pipeline(self, two_d: bool) -> Compose:
        if two_d not in self._pipelines:
            steps = self.info.test_pipeline or default_pipeline(
                self.info.clip_len or DEFAULT_CLIP_LEN, self.info.num_person, two_d)
            self._pipelines[two_d] = Compose(steps)
        return self._pipelines[two_d]

    def clips(self, record: dict, name: str) -> np.ndarray:
        """The model-input clips (S, *clip axes) the test pipeline makes of ``record``."""
        sample = {**record, "rng": np.random.default_rng(0), "test_mode": True,
                  "start_index": 0, "modality": "Pose"}
        pipeline = self._pipeline(record["keypoint"].shape[-1] == 2)
        try:
            results = pipeline(sample)
        except SkelError:
            raise
        except (ValueError, KeyError, IndexError) as error:
            raise AnnotationError(f"the test pipeline failed: {error}", name) from error
        key = self.info.input_name
        if key not in results:
            raise ConfigError(f"the test pipeline's output has no {key!r} (it has "
                              f"{sorted(results)}); end it with Collect(keys=[{key!r}])")
        clips = np.asarray(results[key], dtype=np.float32)
        expected = self.scorer.input_shape
        if clips.ndim != 5 or any(size not in (None, got)
                                  for size, got in zip(expected, clips.shape[1:], strict=True)):
            axes = ", ".join(self.info.clip_axes)
            wanted = ", ".join("any" if size is None else str(size) for size in expected)
            raise ConfigError(f"{name}: the test pipeline makes clips of shape "
                              f"{clips.shape} (S, {axes}) but {self.scorer.description} "
                              f"takes ({axes}) = ({wanted})")
        return clips

    def _check_classes(self, num_classes: int) -> None:
        names = self.info.class_names
        if names is not None and len(names) != num_classes:
            raise ConfigError(f"{len(names)} class names are given but "
                              f"{self.scorer.description} scores {num_classes} classes")

"""Tests of skel_core.registry: registration, lookup and building from config dicts."""

from __future__ import annotations

import pytest

from skel_core.config import Config, ConfigDict
from skel_core.errors import RegistryError
from skel_core.registry import Registry


@pytest.fixture
def models():
    registry = Registry("model")

    @registry.register()
    class STGCN:
        def __init__(self, graph_cfg, in_channels=3, gcn_adaptive="importance"):
            self.graph_cfg = graph_cfg
            self.in_channels = in_channels
            self.gcn_adaptive = gcn_adaptive

    @registry.register("GCNHead")
    class Head:
        def __init__(self, num_classes, in_channels, *, dropout=0.0):
            self.num_classes = num_classes
            self.in_channels = in_channels
            self.dropout = dropout

    class Strict:
        def __init__(self, channels, gcn_adaptive="init"):
            if not isinstance(channels, int):
                raise TypeError(f"channels must be an int, got {type(channels).__name__}")
            self.channels = channels
            self.gcn_adaptive = gcn_adaptive

    registry.register(obj=Strict)

    def make_pair(a, b=2):
        return (a, b)

    registry.register("pair", obj=make_pair)
    return registry


def test_registration_forms_and_lookup(models):
    assert len(models) == 4
    assert models.names() == ["GCNHead", "STGCN", "Strict", "pair"]
    assert "STGCN" in models and "Head" not in models
    assert models.get("GCNHead").__name__ == "Head"
    assert models.get("pair")(1) == (1, 2)
    assert repr(models) == "Registry('model', 4 entries)"


def test_bare_decorator_registers_the_class():
    registry = Registry("transform")

    @registry.register
    class PoseDecode:
        pass

    assert registry.get("PoseDecode") is PoseDecode


def test_duplicate_names_need_force(models):
    class Other:
        pass

    with pytest.raises(RegistryError, match="'STGCN' is already a registered model .*force=True"):
        models.register("STGCN", obj=Other)
    assert models.get("STGCN") is not Other
    models.register("STGCN", force=True, obj=Other)
    assert models.get("STGCN") is Other

    with pytest.raises(RegistryError, match="not a class or function"):
        models.register("x", obj=3)


def test_build_from_dict_and_config_dict(models):
    head = models.build(dict(type="GCNHead", num_classes=60, in_channels=256))
    assert (head.num_classes, head.in_channels, head.dropout) == (60, 256, 0.0)

    cfg = Config.fromstring(
        "model = dict(type='STGCN', gcn_adaptive='init', graph_cfg=dict(layout='coco'))"
    )
    backbone = models.build(cfg.model)
    assert backbone.gcn_adaptive == "init" and backbone.in_channels == 3
    assert backbone.graph_cfg == {"layout": "coco"}
    assert models.build(dict(type="pair", a=5)) == (5, 2)


def test_default_args_fill_only_missing_keys(models):
    head = models.build(dict(type="GCNHead", num_classes=60), in_channels=512, num_classes=1)
    assert (head.num_classes, head.in_channels) == (60, 512)
    head = models.build(dict(num_classes=2, in_channels=4), type="GCNHead")
    assert head.num_classes == 2


def test_build_never_mutates_the_input(models):
    cfg = dict(type="GCNHead", num_classes=60, in_channels=256)
    snapshot = dict(cfg)
    models.build(cfg, dropout=0.5)
    assert cfg == snapshot

    config_dict = ConfigDict(type="STGCN", graph_cfg=dict(layout="coco"))
    models.build(config_dict)
    models.build(config_dict)  # a second build still finds 'type'
    assert config_dict.to_dict() == {"type": "STGCN", "graph_cfg": {"layout": "coco"}}


def test_type_may_be_a_class(models):
    class Local:
        def __init__(self, x):
            self.x = x

    assert models.build(dict(type=Local, x=4)).x == 4
    with pytest.raises(RegistryError, match="'type' must be a registered name or a class, got 3"):
        models.build(dict(type=3))


def test_unknown_type_suggests_close_names(models):
    with pytest.raises(RegistryError) as info:
        models.build(dict(type="STGCNN", graph_cfg={}))
    assert str(info.value) == (
        "'STGCNN' is not a registered model; did you mean 'STGCN'? "
        "(registered: GCNHead, STGCN, Strict, pair)"
    )
    assert isinstance(info.value, KeyError)
    with pytest.raises(RegistryError, match="did you mean 'STGCN'"):
        models.get("stgcn")
    with pytest.raises(RegistryError) as info:
        models.get("ResNet3dSlowOnly")
    assert "did you mean" not in str(info.value)


def test_missing_type_shows_the_dict(models):
    with pytest.raises(RegistryError, match=r"no 'type' key") as info:
        models.build(dict(num_classes=60, in_channels=256))
    assert "{'num_classes': 60, 'in_channels': 256}" in str(info.value)
    with pytest.raises(RegistryError, match="expected a dict with a 'type' key"):
        models.build(["STGCN"])


def test_wrong_keyword_names_type_and_keyword(models):
    with pytest.raises(RegistryError) as info:
        models.build(dict(type="Strict", channels=64, gcn_adaptve="init"))
    message = str(info.value)
    assert message.startswith(
        "Strict got an unexpected keyword argument 'gcn_adaptve' (did you mean 'gcn_adaptive'?)"
    )
    assert "'channels': 64" in message  # the offending dict is shown

    with pytest.raises(RegistryError, match="GCNHead missing a required argument: 'in_channels'"):
        models.build(dict(type="GCNHead", num_classes=60))
    with pytest.raises(RegistryError, match="'x'.*'y'"):
        models.build(dict(type="pair", a=1, x=1, y=2))


def test_catch_all_keywords_are_passed_through(models):
    class Loose:
        def __init__(self, depth, **kwargs):
            self.depth = depth
            self.kwargs = kwargs

    built = models.build(dict(type=Loose, depth=2, tcn_dropout=0.1))
    assert (built.depth, built.kwargs) == (2, {"tcn_dropout": 0.1})
    with pytest.raises(RegistryError, match="Loose missing a required argument: 'depth'"):
        models.build(dict(type=Loose, tcn_dropout=0.1))


def test_type_error_inside_the_constructor_is_not_disguised(models):
    with pytest.raises(TypeError, match="channels must be an int, got str") as info:
        models.build(dict(type="Strict", channels="64"))
    assert not isinstance(info.value, RegistryError)


def test_parent_registry_lookup(models):
    child = Registry("custom model", parent=models)

    @child.register()
    class Tiny:
        def __init__(self, width=1):
            self.width = width

    assert child.build(dict(type="Tiny", width=3)).width == 3
    assert child.build(dict(type="pair", a=0)) == (0, 2)
    assert "GCNHead" in child and "Tiny" not in models
    assert child.names() == ["Tiny"]
    with pytest.raises(RegistryError, match=r"did you mean 'Tiny'\? \(registered: Tiny, GCNHead"):
        child.get("Tinny")

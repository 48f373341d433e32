"""The fused/reference switch of the GCN units: its semantics, and that both paths agree."""

import pytest
import torch

import skel_models.units.gcn as gcn_module
from skel_models import AAGCN, STGCN, graph_conv_impl, set_graph_conv_impl, stgcnpp, use_graph_conv
from skel_models.graph_conv_switch import ENV_VAR

COCO = dict(layout="coco", mode="spatial")
NTU = dict(layout="nturgb+d", mode="spatial")
SMALL = dict(base_channels=8, num_stages=4, inflate_stages=(3,), down_stages=(3,))

MODELS = {
    "stgcn": lambda: STGCN(dict(layout="coco", mode="stgcn_spatial"), **SMALL),
    "stgcnpp": lambda: stgcnpp(COCO, **SMALL),
    "stgcn-post-offset": lambda: STGCN(COCO, gcn_conv_pos="post", gcn_adaptive="offset", **SMALL),
    "stgcn-fixed-graph-3d": lambda: STGCN(NTU, gcn_adaptive=None, **SMALL),
    "aagcn": lambda: AAGCN(NTU, **SMALL),
    "aagcn-static": lambda: AAGCN(COCO, gcn_adaptive=False, gcn_attention=False, **SMALL),
}


@pytest.fixture(autouse=True)
def _default_switch(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    set_graph_conv_impl(None)
    yield
    set_graph_conv_impl(None)


def _perturbed(name):
    """The model with its adaptive terms moved off their identity init, so that every part of
    the graph convolution (PA, alpha-weighted data-dependent graphs, unit norms) matters."""
    torch.manual_seed(0)
    model = MODELS[name]()
    with torch.no_grad():
        for module in model.modules():
            if hasattr(module, "PA"):
                module.PA.add_(0.1 * torch.randn_like(module.PA))
            if hasattr(module, "alpha"):
                module.alpha.fill_(0.2)
            if isinstance(module, gcn_module.unit_aagcn):
                module.bn.weight.fill_(1.0)  # PYSKL's 1e-6 would hide the graph convolution
    return model


def _run(model, x, impl):
    model.zero_grad()
    with use_graph_conv(impl):
        y = model(x)
    weights = torch.linspace(-1, 1, y.numel()).view_as(y)
    (y * weights).sum().backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
    return y.detach(), grads


def _relative_error(actual, expected, scale=None):
    scale = expected.abs().max() if scale is None else scale
    return ((actual - expected).abs().max() / max(float(scale), 1e-30)).item()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fused_and_reference_agree_within_1e5_in_float32(name):
    """Training-mode forward and backward in float32: outputs agree to 1e-5 of their scale and
    every gradient to 1e-5 of the model's largest gradient (a bias before a batch norm has a
    true gradient of zero, so its own scale would only measure rounding noise)."""
    model = _perturbed(name).train()
    x = torch.randn(2, 2, 8, model.graph.A.shape[-1], 3)
    fused_y, fused_grads = _run(model, x, "auto")
    ref_y, ref_grads = _run(model, x, "reference")
    assert _relative_error(fused_y, ref_y) <= 1e-5
    assert fused_grads.keys() == ref_grads.keys() and len(ref_grads) > 10
    scale = max(g.abs().max() for g in ref_grads.values())
    for key in ref_grads:
        assert _relative_error(fused_grads[key], ref_grads[key], scale) <= 1e-5, key


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fused_and_reference_compute_the_same_function_in_float64(name):
    """Eval mode (running statistics, so no gradient is zero by construction) in float64: the
    paths agree per tensor to 1e-10, i.e. they differ only by float32 rounding above."""
    model = _perturbed(name).double().eval()
    x = torch.randn(2, 2, 8, model.graph.A.shape[-1], 3, dtype=torch.float64)
    fused_y, fused_grads = _run(model, x, "auto")
    ref_y, ref_grads = _run(model, x, "reference")
    assert _relative_error(fused_y, ref_y) <= 1e-10
    for key in ref_grads:
        assert _relative_error(fused_grads[key], ref_grads[key]) <= 1e-10, key


def test_the_switch_reaches_every_graph_unit(monkeypatch):
    seen = []

    def recording_graph_conv(*args, impl):
        seen.append(impl)
        return real(*args, impl="reference")

    real = gcn_module.graph_conv
    monkeypatch.setattr(gcn_module, "graph_conv", recording_graph_conv)
    model = stgcnpp(COCO, **SMALL)
    x = torch.randn(1, 2, 8, 17, 3)
    model(x)
    assert seen == ["auto"] * len(model.gcn)
    seen.clear()
    with use_graph_conv("reference"):
        AAGCN(COCO, **SMALL)(x)
    assert seen == ["reference"] * 4


def test_context_manager_nests_and_restores_and_env_var_sets_the_default(monkeypatch):
    assert graph_conv_impl() == "auto"
    monkeypatch.setenv(ENV_VAR, "reference")
    assert graph_conv_impl() == "reference"
    with use_graph_conv("cpu"):
        assert graph_conv_impl() == "cpu"
        with use_graph_conv("auto"):
            assert graph_conv_impl() == "auto"
        assert graph_conv_impl() == "cpu"
    assert graph_conv_impl() == "reference"
    set_graph_conv_impl("cpu")
    assert graph_conv_impl() == "cpu"
    set_graph_conv_impl(None)
    assert graph_conv_impl() == "reference"
    with pytest.raises(RuntimeError), use_graph_conv("cpu"):
        raise RuntimeError("boom")
    assert graph_conv_impl() == "reference"  # restored after an exception too


def test_bad_choices_are_named(monkeypatch):
    expected = r"use_graph_conv: graph_conv impl must be one of .*'fused'"
    with pytest.raises(ValueError, match=expected), use_graph_conv("fused"):
        pass
    with pytest.raises(ValueError, match="set_graph_conv_impl"):
        set_graph_conv_impl("gpu")
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ValueError, match=f"environment variable {ENV_VAR}.*'fast'"):
        graph_conv_impl()


def test_the_switch_is_state_dict_neutral():
    torch.manual_seed(0)
    model = stgcnpp(COCO, **SMALL)
    keys = list(model.state_dict())
    with use_graph_conv("reference"):
        torch.manual_seed(0)
        assert list(stgcnpp(COCO, **SMALL).state_dict()) == keys

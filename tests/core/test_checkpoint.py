"""Tests of skel_core.checkpoint: atomic save, safe load, extraction, remapping, load reports."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from skel_core import checkpoint  # noqa: E402
from skel_core.checkpoint import (  # noqa: E402
    StateDictReport,
    extract_state_dict,
    get_key_map,
    load_checkpoint,
    load_state_dict_report,
    register_key_map,
    remap_state_dict,
    save_checkpoint,
)
from skel_core.errors import CheckpointError, RegistryError  # noqa: E402


def small_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))


def pyskl_style_checkpoint(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Shaped like an mmcv checkpoint: meta with config text and numpy values."""
    return {
        "meta": {
            "epoch": 3,
            "config": "model = dict(type='RecognizerGCN')\n",
            "hook_msgs": {"best_score": np.float64(0.875), "best_ckpt": "best.pth"},
            "class_ids": np.arange(3, dtype=np.int32),
            "dtype": np.dtype("float32"),
        },
        "state_dict": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }


class _Payload:
    """Unpickling this runs ``touch marker`` through os.system."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _rename_in_pickle(path, old: bytes, new: bytes) -> None:
    """Rewrite the pickle inside a torch zip checkpoint, as if another numpy had written it."""
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for info, data in entries:
            if info.filename.endswith("data.pkl"):
                assert old in data
                data = data.replace(old, new)
            zout.writestr(info, data)


def test_round_trip_of_model_and_optimizer_state(tmp_path):
    model = small_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(8, 4)).sum().backward()
    optimizer.step()
    ckpt = pyskl_style_checkpoint(model, optimizer)

    path = save_checkpoint(ckpt, tmp_path / "work_dir" / "epoch_3.pth")
    assert path == tmp_path / "work_dir" / "epoch_3.pth"
    loaded = load_checkpoint(path)

    assert loaded["meta"]["config"] == ckpt["meta"]["config"]
    best = loaded["meta"]["hook_msgs"]["best_score"]
    assert type(best) is np.float64 and best == 0.875
    np.testing.assert_array_equal(loaded["meta"]["class_ids"], np.arange(3))
    assert loaded["meta"]["class_ids"].dtype == np.int32
    assert loaded["meta"]["dtype"] == np.dtype("float32")
    for key, value in ckpt["state_dict"].items():
        torch.testing.assert_close(loaded["state_dict"][key], value, rtol=0, atol=0)
    momentum = optimizer.state_dict()["state"][0]["momentum_buffer"]
    torch.testing.assert_close(loaded["optimizer"]["state"][0]["momentum_buffer"], momentum)
    assert loaded["optimizer"]["param_groups"] == optimizer.state_dict()["param_groups"]

    fresh = small_model()
    fresh[0].weight.data.zero_()
    report = load_state_dict_report(fresh, extract_state_dict(loaded))
    assert report.ok and str(report) == "state dict matches the model"
    model.eval()
    fresh.eval()
    x = torch.randn(5, 4)
    torch.testing.assert_close(fresh(x), model(x), rtol=0, atol=0)


def test_numpy_1_names_in_old_checkpoints_are_allowed(tmp_path):
    path = tmp_path / "old.pth"
    save_checkpoint({"meta": {"best_score": np.float64(0.5), "arr": np.ones(2)}}, path)
    _rename_in_pickle(path, b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert "numpy.core.multiarray.scalar" in torch.serialization.get_unsafe_globals_in_checkpoint(
        path
    )
    loaded = load_checkpoint(path)
    assert loaded["meta"]["best_score"] == 0.5
    np.testing.assert_array_equal(loaded["meta"]["arr"], [1.0, 1.0])


def test_safe_load_leaves_the_users_allow_list_alone(tmp_path):
    save_checkpoint({"x": np.ones(1)}, tmp_path / "a.pth")
    before = set(torch.serialization.get_safe_globals())
    load_checkpoint(tmp_path / "a.pth")
    assert set(torch.serialization.get_safe_globals()) == before
    with torch.serialization.safe_globals([np.ndarray]):
        load_checkpoint(tmp_path / "a.pth")
        assert np.ndarray in torch.serialization.get_safe_globals()


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "latest.pth"
    save_checkpoint({"w": torch.ones(100)}, path)
    previous = path.read_bytes()

    def crash_midway(obj, f, *args, **kwargs):
        f.write(previous[: len(previous) // 2])  # half a checkpoint, then the "crash"
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"w": torch.zeros(100)}, path)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint({"w": torch.zeros(100)}, tmp_path / "new.pth")
    monkeypatch.undo()

    assert path.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.pth"]  # no temp file left
    torch.testing.assert_close(load_checkpoint(path)["w"], torch.ones(100))


def test_saved_file_gets_the_umask_permissions_not_tempfile_0600(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = save_checkpoint({"w": torch.ones(1)}, tmp_path / "perm.pth")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"w": torch.ones(1)}, "meta": _Payload(marker)}, path)

    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    assert f"{os.system.__module__}.system" in message  # the refused global, by name
    assert "weights_only=False" in message
    assert not marker.exists()

    # The payload is real: the unsafe opt-out does run it.
    load_checkpoint(path, weights_only=False)
    assert marker.exists()


def test_malicious_legacy_format_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil_legacy.pth"
    torch.save({"meta": _Payload(marker)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match=f"refused: .*{os.system.__module__}.system"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_truncated_checkpoint_raises_checkpoint_error(tmp_path, keep, legacy):
    path = tmp_path / "cut.pth"
    torch.save({"w": torch.randn(64, 64)}, path, _use_new_zipfile_serialization=not legacy)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="cut.pth cannot be read; it may be truncated"):
        load_checkpoint(path)


def test_unreadable_and_missing_files(tmp_path):
    (tmp_path / "text.pth").write_bytes(b"hello, this is not a checkpoint")
    (tmp_path / "empty.pth").write_bytes(b"")
    for name in ("text.pth", "empty.pth"):
        with pytest.raises(CheckpointError, match=name):
            load_checkpoint(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        load_checkpoint(tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match="is not a file"):
        load_checkpoint(tmp_path)


def test_module_imports_without_torch_and_says_torch_is_needed():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import skel_core.checkpoint as c\n"
        "assert c.remap_state_dict({'a.b': 1}, [('^a', 'x')]) == {'x.b': 1}\n"
        "try:\n"
        "    c.load_checkpoint('x.pth')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "needs PyTorch" in result.stdout


def test_extract_state_dict_from_wrappers_and_ddp():
    weights = OrderedDict([("backbone.w", torch.ones(2)), ("cls_head.fc_cls.b", torch.zeros(1))])
    for wrapped in (
        weights,
        {"state_dict": weights, "meta": {}},
        {"model": weights, "optimizer": {}},
        {"module": weights},
    ):
        assert list(extract_state_dict(wrapped)) == ["backbone.w", "cls_head.fc_cls.b"]
    ddp = {"state_dict": {"module.backbone.w": torch.ones(2), "module.module_x.v": torch.ones(1)}}
    assert list(extract_state_dict(ddp)) == ["backbone.w", "module_x.v"]

    with pytest.raises(CheckpointError, match=r"top-level keys are \['weights', 'meta'\]"):
        extract_state_dict({"weights": weights, "meta": {}})
    with pytest.raises(CheckpointError, match="got list"):
        extract_state_dict([weights])


def test_remap_rules_apply_in_order():
    sd = {
        "backbone.gcn.0.w": 1,
        "cls_head.fc.weight": 2,
        "cls_head.fc.bias": 3,
        "data_preprocessor.mean": 4,
    }
    rules = [
        (r"^cls_head\.fc\.", "cls_head.fc_cls."),  # MMAction2 1.x head -> PYSKL head
        (r"^data_preprocessor\.", None),  # dropped
        (r"^backbone\.", "encoder."),
        (r"^encoder\.gcn\.", "encoder.blocks."),  # sees the previous rule's output
    ]
    assert remap_state_dict(sd, rules) == {
        "encoder.blocks.0.w": 1,
        "cls_head.fc_cls.weight": 2,
        "cls_head.fc_cls.bias": 3,
    }
    assert remap_state_dict(sd, []) == sd


def test_remap_errors_and_metadata():
    with pytest.raises(CheckpointError, match=r"maps both 'a\.w' and 'b\.w' to 'c\.w'"):
        remap_state_dict({"a.w": 1, "b.w": 2}, [(r"^[ab]\.", "c.")])
    with pytest.raises(CheckpointError, match=r"invalid pattern '\(unclosed'"):
        remap_state_dict({"a": 1}, [("(unclosed", "x")])
    with pytest.raises(CheckpointError, match="a rule is \\(pattern, replacement\\)"):
        remap_state_dict({"a": 1}, [("a",)])

    sd = small_model().state_dict()
    remapped = remap_state_dict(sd, [(r"^0\.", "fc.")])
    assert remapped._metadata == sd._metadata
    assert list(remapped)[:2] == ["fc.weight", "fc.bias"]


def test_key_map_registry(monkeypatch):
    monkeypatch.setattr(checkpoint, "_KEY_MAPS", dict(checkpoint._KEY_MAPS))
    rules = [(r"^cls_head\.fc\.", "cls_head.fc_cls.")]
    register_key_map("mmaction2-test", rules)
    assert get_key_map("mmaction2-test") == rules
    assert remap_state_dict({"cls_head.fc.b": 0}, get_key_map("mmaction2-test")) == {
        "cls_head.fc_cls.b": 0
    }
    with pytest.raises(RegistryError, match="'mmaction2-test' is already registered"):
        register_key_map("mmaction2-test", [])
    with pytest.raises(RegistryError, match=r"no key map named 'nope'; registered: \["):
        get_key_map("nope")
    with pytest.raises(CheckpointError, match="key map 'bad': invalid pattern"):
        register_key_map("bad", [("[", "x")])
    assert get_key_map("strip-ddp-prefix") == [(r"^module\.", "")]


def _mismatched_state_dict() -> dict:
    sd = dict(small_model().state_dict())
    sd["0.weight"] = torch.randn(5, 4)  # model has (3, 4)
    sd["0.bias"] = torch.full((3,), 7.0)  # fits
    for key in ("1.running_mean", "1.running_var"):
        del sd[key]
    sd["head.fc.weight"] = torch.zeros(2)
    return sd


def test_strict_report_raises_listing_every_problem_and_changes_nothing():
    model = small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointError) as info:
        load_state_dict_report(model, _mismatched_state_dict())
    message = str(info.value)
    assert "Sequential" in message
    for key in ("1.running_mean", "1.running_var", "head.fc.weight"):
        assert key in message
    assert "0.weight: (5, 4) vs (3, 4)" in message
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)


def test_non_strict_report_loads_what_fits(caplog):
    model = small_model()
    weight_before = model[0].weight.detach().clone()
    with caplog.at_level(logging.WARNING, logger="skel_core.checkpoint"):
        report = load_state_dict_report(model, _mismatched_state_dict(), strict=False)
    assert report == StateDictReport(
        missing=["1.running_mean", "1.running_var"],
        unexpected=["head.fc.weight"],
        shape_mismatches=[("0.weight", (5, 4), (3, 4))],
    )
    assert not report.ok
    torch.testing.assert_close(model[0].bias.detach(), torch.full((3,), 7.0))
    torch.testing.assert_close(model[0].weight.detach(), weight_before, rtol=0, atol=0)
    assert "head.fc.weight" in caplog.text and "0.weight: (5, 4) vs (3, 4)" in caplog.text


def test_load_checkpoint_from_bytes_written_by_torch_save(tmp_path):
    """A checkpoint written by plain torch.save (not ours) loads the same way."""
    buffer = io.BytesIO()
    torch.save({"state_dict": small_model().state_dict()}, buffer)
    (tmp_path / "plain.pth").write_bytes(buffer.getvalue())
    sd = extract_state_dict(load_checkpoint(tmp_path / "plain.pth"))
    assert load_state_dict_report(small_model(), sd).ok

"""skel-train with every speed and reproducibility option at once: ``--compile`` (torch.compile
over the fused graph-conv op), ``--amp bf16`` and ``--deterministic``. The checkpoint it writes
must be the plain model's (no ``_orig_mod.`` prefixes from the compiled wrapper) and load
strictly into a freshly built model."""

import contextlib
import io
import json
import math

import pytest

from skel_apps.train.cli import main as train_main
from skel_apps.train.settings import load_config
from skel_core.checkpoint import load_checkpoint
from skel_models.registry import build_model


@pytest.mark.compile
def test_compiled_bf16_deterministic_run_trains_and_saves_the_plain_model(tiny, tmp_path):
    printed = io.StringIO()
    args = tiny.args(tmp_path, "--compile", "--amp", "bf16", "--deterministic", "--seed", "0",
                     options=("total_epochs=1",))
    with contextlib.redirect_stdout(printed):
        assert train_main(args) == 0, printed.getvalue()
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert records[0]["amp"] == "bf16"
    (epoch,) = [r for r in records if r["mode"] == "epoch"]
    assert math.isfinite(epoch["loss"]) and epoch["loss"] > 0
    state = load_checkpoint(tmp_path / "epoch_1.pth")["state_dict"]
    assert not [k for k in state if k.startswith(("_orig_mod.", "module."))]
    model = build_model(load_config(tiny.config, None).model)
    model.load_state_dict(state, strict=True)

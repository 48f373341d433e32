"""skel-train's command line and the pieces it is built from: help texts, config keys named in
errors, learning-rate schedules, optimiser parameter groups, learning-rate scaling, the step."""

import json
import math
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import torch
from torch import nn

from skel_apps.train.cli import main
from skel_apps.train.loop import StepTools, train_step
from skel_apps.train.optim import build_optimizer
from skel_apps.train.schedule import build_scheduler, parse_lr_config
from skel_apps.train.settings import eval_settings, grad_clip, lr_scaling
from skel_core.errors import ConfigError

DEMO = str(Path(__file__).resolve().parents[2] / "configs" / "demo" / "stgcnpp_synthetic_j.py")


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        (
            "skel-train",
            [
                "--work-dir",
                "--resume",
                "--cfg-options",
                "--seed",
                "--deterministic",
                "--amp",
                "--compile",
                "--validate",
                "--auto-scale-lr",
                "torchrun",
            ],
        ),
        ("skel-test", ["--out", "--report-dir", "--split", "--cfg-options"]),
        ("skel-fuse", ["--weights", "--normalize", "--ann-file", "--out"]),
    ],
)
def test_every_command_has_help(command, flags, capsys):
    (entry,) = entry_points(group="console_scripts", name=command)
    with pytest.raises(SystemExit) as exit_info:
        entry.load()(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: {command}")
    assert all(flag in out for flag in flags), [f for f in flags if f not in out]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["model.backbone.gcn_adaptve=init"], "gcn_adaptve"),
        (
            ["lr_confg.policy=step"],
            "'lr_confg' and skel-train reads none by that name; did you mean 'lr_config'",
        ),
        (["lr_config.polcy=step"], "'lr_config.polcy' (did you mean 'policy'?)"),
        (["lr_config.policy=Linear"], "lr_config.policy 'Linear' is not supported"),
        (["optimizer.momentun=0.8"], "'optimizer.momentun' (did you mean 'momentum'?)"),
        (["optimizer_config.grad_clip.max_nrom=1"], "'optimizer_config.grad_clip.max_nrom'"),
        (["evaluation.save_best=top9_acc"], "evaluation.save_best 'top9_acc'"),
        (["data.train_dataloader.videos_per_gpx=2"], "'data.train_dataloader.videos_per_gpx'"),
        (["data.train.num_sample=8"], "num_sample"),
        (["checkpoint_config.intervall=2"], "'checkpoint_config.intervall'"),
    ],
)
def test_wrong_config_keys_are_named(tiny, tmp_path, capsys, options, named):
    assert main(tiny.args(tmp_path, options=tuple(options))) == 2
    err = capsys.readouterr().err
    assert err.startswith("skel-train: error:") and named in err, err
    assert not (tmp_path / "epoch_1.pth").exists()


def test_validate_without_a_val_split_names_it(tmp_path, capsys):
    options = ["data.train.num_samples=32", "data.workers_per_gpu=0", "total_epochs=1"]
    args = [DEMO, "--work-dir", str(tmp_path), "--validate", "--cfg-options", *options]
    assert main(args) == 2
    assert "config has no key 'data.val'" in capsys.readouterr().err


def _reference_cosine(base, minimum, i, total):
    return minimum + (base - minimum) * (1 + math.cos(math.pi * i / total)) / 2


def test_cosine_schedule_with_linear_warmup_per_iteration_for_each_group():
    """PYSKL's lr_config, two groups (the head at 10x), min_lr absolute as in mmcv."""
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    optimizer = build_optimizer(
        model,
        dict(
            type="SGD",
            lr=0.1,
            momentum=0.9,
            paramwise_cfg=dict(custom_keys={"1.": dict(lr_mult=10)}),
        ),
    )
    lr_config = dict(
        policy="CosineAnnealing",
        min_lr=0.001,
        by_epoch=False,
        warmup="linear",
        warmup_iters=4,
        warmup_ratio=0.2,
    )
    scheduler = build_scheduler(
        optimizer, parse_lr_config(lr_config, iters_per_epoch=5, total_epochs=4)
    )
    for i in range(20):
        for group, base in zip(optimizer.param_groups, (0.1, 1.0), strict=True):
            expected = _reference_cosine(base, 0.001, i, 20)
            if i < 4:
                expected *= 0.2 + 0.8 * i / 4  # from 0.2x up to 1x of the regular rate
            assert group["lr"] == pytest.approx(expected, rel=1e-12), (i, base)
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.001, rel=1e-12)


def test_step_schedule_by_epoch_with_warmup_in_epochs():
    schedule = parse_lr_config(
        dict(
            policy="step",
            step=[2, 3],
            gamma=0.5,
            warmup="constant",
            warmup_iters=1,
            warmup_by_epoch=True,
        ),
        iters_per_epoch=4,
        total_epochs=5,
    )
    rates = [schedule.lr(1.0, i) for i in range(20)]
    assert rates[:4] == [0.1] * 4  # warm-up: the first epoch at warmup_ratio (default 0.1)
    assert rates[4:8] == [1.0] * 4  # epoch index 1
    assert rates[8:12] == [0.5] * 4  # from epoch index 2
    assert rates[12:] == [0.25] * 8  # from epoch index 3


def test_cosine_by_epoch_changes_once_per_epoch_and_step_by_iteration():
    schedule = parse_lr_config(dict(policy="CosineAnnealing", min_lr=0), 10, 4)  # by_epoch=True
    rates = [schedule.lr(2.0, i) for i in (0, 9, 10, 19, 20, 39)]
    epochs = (0, 0, 1, 1, 2, 3)
    assert rates == pytest.approx([_reference_cosine(2.0, 0, e, 4) for e in epochs])
    assert rates[4] == pytest.approx(1.0)  # half way
    steps = parse_lr_config(dict(policy="step", step=3, by_epoch=False, min_lr=0.02), 10, 1)
    assert [steps.lr(1.0, i) for i in (0, 2, 3, 6, 9)] == pytest.approx([1, 1, 0.1, 0.02, 0.02])


@pytest.mark.parametrize(
    ("lr_config", "message"),
    [
        (dict(policy="step"), "needs 'step'"),
        (dict(policy="step", step=[0, 2]), "positive integer"),
        (dict(policy="CosineAnnealing", step=[3]), "lr_config.step does not apply"),
        (dict(warmup="linear"), "warmup_iters must be a positive integer"),
        (dict(warmup="cosine", warmup_iters=3), "lr_config.warmup must be one of"),
        (dict(min_lr=0, min_lr_ratio=0.1), "not both"),
    ],
)
def test_bad_lr_config_is_named(lr_config, message):
    with pytest.raises(ConfigError, match=message):
        parse_lr_config(lr_config, 5, 2)


def test_paramwise_groups_lr_and_decay_multipliers():
    model = nn.ModuleDict({"backbone": nn.Linear(4, 4), "cls_head": nn.Linear(4, 2)})
    cfg = dict(
        type="AdamW",
        lr=0.01,
        weight_decay=0.05,
        paramwise_cfg=dict(
            custom_keys={"cls_head": dict(lr_mult=10, decay_mult=0), "head.bias": dict(lr_mult=2)}
        ),
    )
    optimizer = build_optimizer(model, cfg, lr_factor=0.5)
    assert isinstance(optimizer, torch.optim.AdamW)
    groups = [
        (g["lr"], g["weight_decay"], {id(p) for p in g["params"]}) for g in optimizer.param_groups
    ]
    ids = {name: id(p) for name, p in model.named_parameters()}
    # The longest matching key wins: cls_head.bias takes 'head.bias', not 'cls_head'.
    assert groups == [
        (0.005, 0.05, {ids["backbone.weight"], ids["backbone.bias"]}),
        (0.01, 0.05, {ids["cls_head.bias"]}),
        (0.05, 0.0, {ids["cls_head.weight"]}),
    ]
    with pytest.raises(ConfigError, match=r"custom_keys \['cls_haed'\] match no parameter"):
        build_optimizer(
            model,
            dict(
                type="SGD", lr=0.1, paramwise_cfg=dict(custom_keys={"cls_haed": dict(lr_mult=10)})
            ),
        )
    with pytest.raises(ConfigError, match="custom_keys.cls_head.lr_mul"):
        build_optimizer(
            model,
            dict(type="SGD", lr=0.1, paramwise_cfg=dict(custom_keys={"cls_head": dict(lr_mul=10)})),
        )
    with pytest.raises(ConfigError, match="optimizer.type must be one of"):
        build_optimizer(model, dict(type="Lion", lr=0.1))


def test_linear_lr_scaling_from_the_base_batch():
    assert lr_scaling({}).factor(512) == 1.0  # off by default
    assert lr_scaling({}, force=True).factor(512) == 4.0  # base batch 128 (8 GPUs x 16)
    scaled = lr_scaling({"auto_scale_lr": dict(enable=True, base_batch_size=64)})
    assert scaled.factor(16) == 0.25
    with pytest.raises(ConfigError, match="'auto_scale_lr.base_batch'"):
        lr_scaling({"auto_scale_lr": dict(enable=True, base_batch=64)})


def test_auto_scale_lr_through_the_cli(tiny, tmp_path):
    options = (
        "total_epochs=1",
        "auto_scale_lr.base_batch_size=32",
        "data.test_dataloader.videos_per_gpu=8",
    )
    assert main(tiny.args(tmp_path, "--auto-scale-lr", options=options)) == 0
    run = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[0])
    assert run["lr_scale"] == 0.25 and run["lr"] == [pytest.approx(0.05 * 0.25)]


def test_evaluation_settings():
    settings = eval_settings(
        {"evaluation": dict(interval=2, metrics=["mean_class_accuracy"], save_best="auto")}
    )
    assert settings.interval == 2 and settings.save_best == "mean_class_accuracy"
    topk = eval_settings(
        {
            "evaluation": dict(
                metric_options=dict(top_k_accuracy=dict(topk=(1, 3))), save_best="top3_acc"
            )
        }
    )
    assert topk.topk == (1, 3) and topk.save_best == "top3_acc"
    with pytest.raises(ConfigError, match="unknown metric"):
        eval_settings({"evaluation": dict(metrics=["top_k_acc"])})


def _tools(model, lr=1.0, **kwargs):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: 1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=kwargs.get("amp_dtype") == torch.float16)
    return StepTools(optimizer, scheduler, scaler, list(model.parameters()), **kwargs)


def test_gradient_clipping_bounds_the_update():
    torch.manual_seed(0)
    model = nn.Linear(6, 4)
    x, y = torch.randn(8, 6) * 50, torch.randint(0, 4, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    clip = grad_clip({"optimizer_config": dict(grad_clip=dict(max_norm=0.01))})
    train_step(model, x, y, _tools(model, grad_clip=clip))
    update = torch.cat(
        [(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)]
    )
    assert update.norm().item() == pytest.approx(0.01, rel=1e-4)  # plain SGD, lr 1: update = grad


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_mixed_precision_step_matches_float32_closely(dtype):
    torch.manual_seed(0)

    def net():
        return nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))

    reference, mixed = net(), net()
    mixed.load_state_dict(reference.state_dict())
    x, y = torch.randn(8, 6), torch.randint(0, 4, (8,))
    loss32 = train_step(reference, x, y, _tools(reference, lr=0.1))
    loss16 = train_step(mixed, x, y, _tools(mixed, lr=0.1, amp_dtype=dtype))
    assert loss16 != loss32  # the forward pass did run in reduced precision
    assert loss16 == pytest.approx(loss32, rel=2e-2)
    for p32, p16 in zip(reference.parameters(), mixed.parameters(), strict=True):
        torch.testing.assert_close(p16, p32, atol=2e-3, rtol=0)

"""A training run from start (or resume) to the final test, in this order:

1. join the torchrun world, if any (:mod:`skel_apps.distributed`); find the checkpoint to resume
   from; fix the seed (a resumed run keeps its checkpoint's seed);
2. check the config's training sections and build datasets, loaders, the model (``load_from``
   initialises its weights), the optimiser (learning rates scaled by ``auto_scale_lr``), the
   per-iteration schedule and the gradient scaler;
3. on more than one rank, synchronise batch norm (``sync_bn``, default True: that is what makes
   N processes with batch B/N train the same model as one with batch B); resume: weights,
   optimiser, schedule, scaler, best validation result; wrap the model in
   DistributedDataParallel and, with ``--compile``, ``torch.compile``; put back each rank's
   random states;
4. for each epoch: train; with ``--validate`` evaluate ``data.val`` every
   ``evaluation.interval`` epochs and keep the best checkpoint; checkpoint (all ranks' random
   states gathered to rank 0);
5. test the final weights on ``data.test`` (when the config has one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from skel_core.checkpoint import save_checkpoint
from skel_core.config import Config
from skel_core.errors import ConfigError
from skel_models.pretrained import load_pretrained

from ..builders import build_dataset, build_loader, build_model
from ..config_keys import section
from ..distributed import DistContext, barrier, distributed_session, gather_objects
from ..evaluation import AMP_DTYPES, EvalResult, evaluate
from .checkpointing import (
    BestResult,
    checkpoint_payload,
    find_resume,
    prune_epoch_checkpoints,
    read_checkpoint,
    restore_training_state,
    save_epoch_checkpoint,
)
from .loop import StepTools, train_one_epoch
from .optim import build_optimizer
from .reproducibility import capture_rng, make_deterministic, restore_rng, seed_everything
from .run_log import RunLog
from .schedule import build_scheduler, parse_lr_config
from .settings import (
    EvalSettings,
    checkpoint_settings,
    eval_settings,
    grad_clip,
    log_interval,
    lr_scaling,
    total_epochs,
)
from .sync_batchnorm import convert_sync_batchnorm

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainOptions:
    """The command line's choices (see ``skel-train --help``)."""

    work_dir: Path
    seed: int | None = None
    resume: str | None = None  # 'auto' or a checkpoint path
    deterministic: bool = False
    amp: str | None = None  # 'bf16' or 'fp16'
    compile: bool = False
    validate: bool = False
    auto_scale_lr: bool = False
    device: str | None = None
    progress: bool = True


def train(cfg: Config, options: TrainOptions) -> EvalResult | None:
    """Run training as ``cfg`` and ``options`` say; return the final test result (every rank
    gets it), or None when the config has no ``data.test``."""
    if options.amp is not None and options.amp not in AMP_DTYPES:
        raise ConfigError(f"--amp must be one of {sorted(AMP_DTYPES)}, got {options.amp!r}")
    with distributed_session(options.device) as ctx:
        return _run(cfg, options, ctx)


@dataclass
class _Run:
    """What one run holds once built (the loaders, model and training state)."""

    options: TrainOptions
    ctx: DistContext
    seed: int
    epochs: int
    evaluation: EvalSettings
    train_loader: DataLoader
    val_loader: DataLoader | None
    test_loader: DataLoader | None
    model: torch.nn.Module  # the plain module: evaluation and checkpoints use it
    train_model: torch.nn.Module  # what training calls: DDP-wrapped and/or compiled
    tools: StepTools
    lr_scale: float
    meta: dict[str, Any]  # what every checkpoint's meta holds
    best: BestResult
    start_epoch: int = 0

    @property
    def iters_per_epoch(self) -> int:
        return len(self.train_loader)

    @property
    def global_batch(self) -> int:
        return self.train_loader.batch_size * self.ctx.world_size


def _run(cfg: Config, options: TrainOptions, ctx: DistContext) -> EvalResult | None:
    resume_path = find_resume(options.resume or cfg.get("resume_from"), options.work_dir)
    ckpt = read_checkpoint(resume_path) if resume_path else None
    run = _build(cfg, options, ctx, ckpt)
    if ctx.is_main:
        _save_resolved_config(cfg, options.work_dir, run.seed)
    log = RunLog(
        options.work_dir,
        enabled=ctx.is_main,
        progress=options.progress,
        total_iters=run.epochs * run.iters_per_epoch,
        start_iter=run.start_epoch * run.iters_per_epoch,
    )
    try:
        log.record(
            "run",
            run.start_epoch * run.iters_per_epoch,
            {
                "epoch": run.start_epoch,
                "seed": run.seed,
                "world_size": ctx.world_size,
                "device": str(ctx.device),
                "global_batch": run.global_batch,
                "lr": [group["lr"] for group in run.tools.optimizer.param_groups],
                "lr_scale": run.lr_scale,
                "amp": options.amp,
                "resumed_from": str(resume_path) if resume_path else None,
            },
        )
        log_every = log_interval(cfg)
        checkpointing = checkpoint_settings(cfg)
        if ckpt is not None:  # last, so that nothing draws from them before training does
            _restore_rank_rng(ckpt, ctx, run.seed)
        for epoch in range(run.start_epoch + 1, run.epochs + 1):
            stats = train_one_epoch(
                run.train_model,
                run.train_loader,
                run.tools,
                ctx,
                epoch=epoch,
                log=log,
                log_interval=log_every,
            )
            iteration = epoch * run.iters_per_epoch
            log.record(
                "epoch",
                iteration,
                {
                    "epoch": epoch,
                    "iter": iteration,
                    "loss": stats.loss,
                    "lr": run.tools.optimizer.param_groups[0]["lr"],
                    "samples_per_s": stats.samples_per_s,
                    "seconds": stats.seconds,
                },
            )
            if run.val_loader is not None and epoch % run.evaluation.interval == 0:
                _validate(run, epoch, log)
            if epoch % checkpointing.interval == 0 or epoch == run.epochs:
                _save_epoch(run, epoch, checkpointing.max_keep)
            barrier(ctx)
        if run.test_loader is None:
            return None
        result = _evaluate(run, run.test_loader, "test")
        values = {"epoch": run.epochs, **result.metrics, "num_samples": result.num_samples}
        log.record("test", run.epochs * run.iters_per_epoch, values)
        return result
    finally:
        log.close()


def _build(
    cfg: Config, options: TrainOptions, ctx: DistContext, ckpt: dict[str, Any] | None
) -> _Run:
    """Seed, check the config's training sections, build everything, restore ``ckpt``."""
    seed = _run_seed(options.seed, cfg, ckpt)
    seed_everything(seed, ctx.rank)
    if options.deterministic:
        make_deterministic()
    epochs, evaluation = total_epochs(cfg), eval_settings(cfg)
    train_loader = build_loader(build_dataset(cfg.data.train, seed), cfg.data, "train", seed)
    if len(train_loader) == 0:
        raise ConfigError(
            "the training loader yields no batch (data.train holds fewer clips than "
            "videos_per_gpu and drop_last is set)"
        )
    # cfg.data.val raises an error naming the key when the config lacks it.
    val_loader = (
        build_loader(build_dataset(cfg.data.val, seed), cfg.data, "val", seed)
        if options.validate
        else None
    )
    test_loader = (
        build_loader(build_dataset(cfg.data.test, seed), cfg.data, "test", seed)
        if "test" in cfg.data
        else None
    )

    model = build_model(cfg.model.to_dict()).to(ctx.device)
    if cfg.get("load_from") and ckpt is None:
        _load_pretrained(model, cfg.load_from)
    if ctx.is_distributed and cfg.get("sync_bn", True):
        model = convert_sync_batchnorm(model, ctx.device)
    lr_scale = lr_scaling(cfg, options.auto_scale_lr).factor(
        train_loader.batch_size * ctx.world_size
    )
    optimizer = build_optimizer(model, cfg.optimizer, lr_scale)
    schedule = parse_lr_config(section(cfg, "lr_config"), len(train_loader), epochs)
    scheduler = build_scheduler(optimizer, schedule)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=options.amp == "fp16")
    best, start_epoch = BestResult(key=evaluation.save_best), 0
    if ckpt is not None:
        restored = restore_training_state(ckpt, model, optimizer, scheduler, scaler)
        best = restored if restored.key == best.key else best
        start_epoch = ckpt["meta"]["epoch"]

    train_model = model
    if ctx.is_distributed:
        device_ids = [ctx.device] if ctx.device.type == "cuda" else None
        train_model = DistributedDataParallel(model, device_ids=device_ids)
    if options.compile:
        train_model = torch.compile(train_model)
    tools = StepTools(
        optimizer,
        scheduler,
        scaler,
        list(model.parameters()),
        grad_clip(cfg),
        AMP_DTYPES.get(options.amp),
    )
    return _Run(
        options=options,
        ctx=ctx,
        seed=seed,
        epochs=epochs,
        evaluation=evaluation,
        train_loader=train_loader,
        val_loader=val_loader,
        test_loader=test_loader,
        model=model,
        train_model=train_model,
        tools=tools,
        lr_scale=lr_scale,
        meta={"seed": seed, "world_size": ctx.world_size, "config": cfg.pretty_text},
        best=best,
        start_epoch=start_epoch,
    )


def _evaluate(run: _Run, loader: DataLoader, desc: str) -> EvalResult:
    return evaluate(
        run.model,
        loader,
        run.ctx,
        topk=run.evaluation.topk,
        amp_dtype=run.tools.amp_dtype,
        progress=run.options.progress,
        desc=desc,
    )


def _validate(run: _Run, epoch: int, log: RunLog) -> None:
    """Evaluate ``data.val``, log it, and keep the best checkpoint."""
    result = _evaluate(run, run.val_loader, "val")
    iteration = epoch * run.iters_per_epoch
    log.record("val", iteration, {"epoch": epoch, "iter": iteration, **result.metrics})
    log.write(result.summary(f"epoch {epoch} val"))
    key = run.best.key
    if key and run.best.improves(result.metrics[key], run.evaluation.rule):
        run.best = BestResult(key, result.metrics[key], epoch)
        if run.ctx.is_main:
            save_checkpoint(
                {"state_dict": run.model.state_dict(), "meta": {**run.meta, "epoch": epoch}},
                run.options.work_dir / f"best_{key}.pth",
            )


def _save_epoch(run: _Run, epoch: int, max_keep: int) -> None:
    """Checkpoint the training state after ``epoch``, with every rank's random states."""
    rngs = gather_objects(capture_rng(run.ctx.device), run.ctx)
    if not run.ctx.is_main:
        return
    sampler = {"seed": run.seed, "epochs_done": epoch, "next_batch": 0}
    meta = {**run.meta, "epoch": epoch, "iter": epoch * run.iters_per_epoch, "sampler": sampler}
    tools = run.tools
    payload = checkpoint_payload(
        run.model, tools.optimizer, tools.scheduler, tools.scaler, meta, run.best, rngs
    )
    save_epoch_checkpoint(run.options.work_dir, epoch, payload)
    prune_epoch_checkpoints(run.options.work_dir, max_keep)


def _run_seed(requested: int | None, cfg: Config, ckpt: dict[str, Any] | None) -> int:
    """The checkpoint's seed when resuming, else ``--seed``, else the config's, else 0."""
    if ckpt is not None:
        saved = ckpt["meta"]["seed"]
        if requested is not None and requested != saved:
            raise ConfigError(
                f"--seed {requested} differs from the seed {saved} of the run being resumed; "
                "leave --seed out to continue that run"
            )
        return saved
    if requested is not None:
        return requested
    seed = cfg.get("seed")
    return 0 if seed is None else seed


def _restore_rank_rng(ckpt: dict[str, Any], ctx: DistContext, seed: int) -> None:
    states = ckpt["rng"]
    if len(states) == ctx.world_size:
        restore_rng(states[ctx.rank], ctx.device)
        return
    logger.warning(
        "resuming on %d process(es) a run checkpointed on %d: training continues, but the "
        "sample shards and random states differ from the uninterrupted run's",
        ctx.world_size,
        len(states),
    )
    seed_everything(seed + ckpt["meta"]["epoch"], ctx.rank)


def _load_pretrained(model: torch.nn.Module, path: str) -> None:
    """``load_from``: initialise the weights from a checkpoint (skel, PYSKL or MMAction2);
    keys that do not fit are reported and left as initialised."""
    logger.info("load_from %s: %s", path, load_pretrained(model, path, strict=False))


def _save_resolved_config(cfg: Config, work_dir: Path, seed: int) -> None:
    """The config as run (overrides applied, seed and work dir set) as ``config.py``."""
    resolved = Config(cfg.to_dict())
    resolved.seed = seed
    resolved.work_dir = str(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    resolved.dump(work_dir / "config.py")

"""The training loop: epochs of SGD with a progress bar, evaluation, atomic checkpoints."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from skel_core.checkpoint import save_checkpoint
from skel_core.config import Config
from skel_core.metrics import mean_class_accuracy, top_k_accuracy

from ..builders import build_dataset, build_loader, build_lr_lambda, build_model, build_optimizer


@dataclass
class EvalResult:
    top1: float
    top5: float
    mean_class_accuracy: float
    num_samples: int


@torch.no_grad()
def evaluate(model: torch.nn.Module, loader, *, progress: bool = True) -> EvalResult:
    """Scores of every sample of ``loader`` -> top-1/top-5/mean class accuracy."""
    model.eval()
    scores, labels = [], []
    for batch in tqdm(loader, desc="test", leave=False, disable=not progress):
        scores.append(model(batch["keypoint"]).float().numpy())
        labels.append(batch["label"].numpy())
    all_scores, all_labels = np.concatenate(scores), np.concatenate(labels)
    k = min(5, all_scores.shape[1])
    top1, topk = top_k_accuracy(all_scores, all_labels, topk=(1, k))
    return EvalResult(top1, topk, mean_class_accuracy(all_scores, all_labels), len(all_labels))


def train(cfg: Config, work_dir: Path, *, seed: int = 0, progress: bool = True) -> EvalResult:
    """Train ``cfg.model`` on ``cfg.data.train`` for ``cfg.total_epochs``, then test it."""
    torch.manual_seed(seed)
    work_dir.mkdir(parents=True, exist_ok=True)
    cfg.dump(work_dir / "config.py")
    train_set = build_dataset(cfg.data.train, seed=seed)
    test_set = build_dataset(cfg.data.test, seed=seed)
    train_loader = build_loader(train_set, cfg.data, train=True, seed=seed)
    test_loader = build_loader(test_set, cfg.data, train=False, seed=seed)
    model = build_model(cfg.model.to_dict())
    optimizer = build_optimizer(model, cfg.optimizer.to_dict())
    epochs = int(cfg.total_epochs)
    total_iters = epochs * len(train_loader)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, build_lr_lambda(cfg.get("lr_config", {}), total_iters, cfg.optimizer.lr)
    )
    grad_clip = (cfg.get("optimizer_config") or {}).get("grad_clip")
    log_path = work_dir / "log.jsonl"
    bar = tqdm(total=total_iters, desc="train", unit="it", disable=not progress, dynamic_ncols=True)
    with log_path.open("a") as log:
        for epoch in range(1, epochs + 1):
            model.train()
            train_set.set_epoch(epoch)
            seen, start, losses = 0, time.perf_counter(), []
            for batch in train_loader:
                keypoint, label = batch["keypoint"][:, 0], batch["label"]  # one clip per sample
                loss = F.cross_entropy(model(keypoint), label)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), **grad_clip)
                optimizer.step()
                schedule.step()
                losses.append(loss.item())
                seen += len(label)
                rate = seen / (time.perf_counter() - start)
                bar.set_postfix(
                    epoch=epoch,
                    loss=f"{loss.item():.3f}",
                    lr=f"{schedule.get_last_lr()[0]:.4f}",
                    samples_s=f"{rate:.0f}",
                )
                bar.update()
            record = {
                "epoch": epoch,
                "loss": float(np.mean(losses)),
                "lr": schedule.get_last_lr()[0],
                "samples_per_s": rate,
            }
            log.write(json.dumps(record) + "\n")
            log.flush()
            save_checkpoint(
                {
                    "state_dict": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "meta": {"epoch": epoch, "seed": seed, "config": cfg.pretty_text},
                },
                work_dir / f"epoch_{epoch}.pth",
            )
    bar.close()
    result = evaluate(model, test_loader, progress=progress)
    with log_path.open("a") as log:
        log.write(json.dumps({"test": result.__dict__}) + "\n")
    return result

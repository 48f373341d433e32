"""What a training run reports while it runs: a progress bar, a JSON-lines log, TensorBoard.

Only rank 0 reports; on the other ranks a :class:`RunLog` is built with ``enabled=False`` and
does nothing. Files in the work dir:

* ``log.jsonl``: one JSON object per line, each with a ``mode``: ``run`` (once per start or
  resume: world size, device, global batch, learning rates), ``train`` (every
  ``log_config.interval`` iterations: loss, lr, samples/s), ``epoch`` (each epoch's mean loss
  over all ranks, samples/s, seconds), ``val`` (validation metrics), ``test`` (final test);
* ``tensorboard/``: the same numbers as scalars (``train/loss``, ``train/lr``, ``val/top1_acc``,
  ...), by iteration.

The progress bar (tqdm: ETA, loss, lr, samples/s) goes to stderr.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tqdm import tqdm


class RunLog:
    """Rank 0's reporter for one run of ``total_iters`` iterations, resumed at ``start_iter``."""

    def __init__(
        self,
        work_dir: Path,
        *,
        enabled: bool,
        progress: bool,
        total_iters: int,
        start_iter: int = 0,
    ):
        self.enabled = enabled
        self._file = None
        self._writer = None
        self._bar = None
        if not enabled:
            return
        self._file = (work_dir / "log.jsonl").open("a")
        from torch.utils.tensorboard import SummaryWriter  # slow import, rank 0 only

        self._writer = SummaryWriter(str(work_dir / "tensorboard"))
        self._bar = tqdm(
            total=total_iters,
            initial=start_iter,
            desc="train",
            unit="it",
            disable=not progress,
            dynamic_ncols=True,
        )

    def record(self, mode: str, step: int, values: dict[str, Any]) -> None:
        """Append ``{"mode": mode, **values}`` to the JSON log and the numbers among ``values``
        (except epoch and iter) to TensorBoard as ``{mode}/{key}`` at ``step``."""
        if not self.enabled:
            return
        self._file.write(json.dumps({"mode": mode, **values}) + "\n")
        self._file.flush()
        for key, value in values.items():
            if key not in ("epoch", "iter") and isinstance(value, (int, float)):
                self._writer.add_scalar(f"{mode}/{key}", value, step)

    def step(self, epoch: int, loss: float, lr: float, samples_per_s: float) -> None:
        """Advance the progress bar by one iteration and show the current numbers."""
        if not self.enabled:
            return
        self._bar.set_postfix(
            epoch=epoch, loss=f"{loss:.4f}", lr=f"{lr:.3g}", samples_s=f"{samples_per_s:.1f}"
        )
        self._bar.update()

    def write(self, message: str) -> None:
        """Print a line without breaking the progress bar."""
        if self.enabled:
            tqdm.write(message)

    def close(self) -> None:
        if not self.enabled:
            return
        self._bar.close()
        self._writer.close()
        self._file.close()

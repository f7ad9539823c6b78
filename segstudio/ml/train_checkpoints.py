"""What a training run keeps: the best validation score so far, the history, and when the best
and last checkpoints and the resumable state are written.

* After an epoch: the best checkpoint when validation mIoU improved (without validation, the
  latest weights are the best we know); the last checkpoint + optimizer state at most every
  ``save_interval_s`` (they are ~3× the weights) and after the final epoch; the history always.
* At the end, the last checkpoint and state if the latest epoch was not saved yet.
* On Stop: the last checkpoint and state where the run is, and the best too when no validation
  has scored one yet — Stop always leaves a model.

Only the main process writes (torchrun); every process keeps the same score and history.

May import: torch, segstudio.core, segstudio.ml. No Qt.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

from segstudio.ml.checkpoint import ModelMeta, save_checkpoint
from segstudio.ml.train_setup import TrainRun
from segstudio.ml.train_state import jsonable, save_state, write_history

log = logging.getLogger(__name__)


class RunCheckpoints:
    """The score, history and checkpoint files of one run (see the module docstring)."""

    def __init__(self, run: TrainRun) -> None:
        self.run = run
        st = run.resumed
        self.best_miou: float | None = st["best_miou"] if st else None
        self.best_epoch = int(st["best_epoch"]) if st else 0
        self.since_best = int(st["since_best"]) if st else 0
        self.history: list[dict[str, Any]] = list(st["history"]) if st else []
        self.best_written = run.paths["best"].is_file() and run.cfg.resume is not None
        self.last_saved, self.last_saved_epoch = time.monotonic(), run.start_epoch
        self.done_epochs = run.start_epoch

    def meta(self, epoch: int, extra: dict[str, Any]) -> ModelMeta:
        """The checkpoint metadata: how to rebuild the network plus what this run was."""
        r = self.run
        training = {"config": jsonable(asdict(r.cfg)), "num_train": r.num_train, "num_val": r.num_val,
                    "device": r.dev_text, **jsonable(extra)}
        nc = len(r.classes)
        return ModelMeta(arch=r.arch, encoder=r.encoder, in_channels=3, classes=r.classes,
                         colors=list(r.loaded.colors) if len(r.loaded.colors) == nc else [],
                         mean=r.mean, std=r.std, train_size=r.cfg.crop_size, training=training, epoch=epoch,
                         model_kwargs=r.model_kwargs)

    def epoch_done(self, epoch: int, record: dict[str, Any]) -> bool:
        """Scores epoch ``epoch`` (1-based), writes what is due; True when it is the best so far.
        ``record`` gains ``best_miou`` and ``best_epoch``."""
        self.done_epochs = epoch
        miou = record.get("miou")
        # without a validation set the latest weights are the best we know
        improved = miou is None or self.best_miou is None or miou > self.best_miou + 1e-6
        if improved:
            self.best_miou, self.best_epoch, self.since_best = miou, epoch, 0
        else:
            self.since_best += 1
        record["best_miou"], record["best_epoch"] = self.best_miou, self.best_epoch
        self.history.append(jsonable(record))
        r = self.run
        if r.info.is_main:
            due = time.monotonic() - self.last_saved >= r.cfg.save_interval_s or epoch == r.cfg.epochs
            if improved and (miou is not None or due or not self.best_written):
                save_checkpoint(r.paths["best"], r.model, self.meta(epoch, {"metrics": record}))
                self.best_written = True
            write_history(r.paths["history"], self.history)
            if due:
                save_checkpoint(r.paths["last"], r.model, self.meta(epoch, {"metrics": record}))
                self._save_state(epoch)
                self.last_saved, self.last_saved_epoch = time.monotonic(), epoch
        return improved

    def should_stop_early(self) -> bool:
        patience = self.run.cfg.patience
        return patience > 0 and self.since_best >= patience and self.best_miou is not None

    def finish(self) -> None:
        """After the last epoch: the last checkpoint and state, if that epoch was not saved yet."""
        r, done = self.run, self.done_epochs
        if not r.info.is_main or self.last_saved_epoch == done:
            return
        save_checkpoint(r.paths["last"], r.model, self.meta(done, {"metrics": self.history[-1]}))
        if self.history and self.history[-1].get("miou") is None:
            save_checkpoint(r.paths["best"], r.model, self.meta(done, {"metrics": self.history[-1]}))
        self._save_state(done)

    def stopped(self, epoch: int) -> None:
        """Stop during epoch ``epoch`` (0-based): keep the best so far, save where we are."""
        r = self.run
        if not r.info.is_main:
            return
        meta = self.meta(self.done_epochs, {"stopped": "cancelled", "best_miou": self.best_miou})
        save_checkpoint(r.paths["last"], r.model, meta)
        self._save_state(self.done_epochs)
        if not self.best_written or self.best_miou is None:   # no validation yet: the latest is the best
            save_checkpoint(r.paths["best"], r.model, meta)
        log.info("training stopped at epoch %d; checkpoints in %s", epoch + 1, r.paths["best"].parent)

    def _save_state(self, epoch: int) -> None:
        o = self.run.optim
        save_state(self.run.paths["state"], epoch, o.opt, o.sched, scaler=o.scaler, best_miou=self.best_miou,
                   best_epoch=self.best_epoch,
                   since_best=self.since_best, history=self.history)

"""Ctrl-C during training: finish the optimizer step, checkpoint, stop; twice: abort.

A KeyboardInterrupt raised in the middle of a step would cut a batch's grading in half
(rewards half-computed, episodes half-logged) and leave nothing to resume from. So the
first SIGINT only raises a flag; `GracefulStop` (a ``TrainerCallback``) sees it when the
current step ends and asks the trainer to save a checkpoint (adapter, optimizer,
scheduler, RNG and trainer state) and stop. A second SIGINT is for a user who will not
wait: it raises KeyboardInterrupt at once; the caller's cleanup still removes the
containers (`sigint_held` keeps a third press from cutting that short).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from transformers import TrainerCallback

logger = logging.getLogger(__name__)

__all__ = ["GracefulStop", "TrainingInterrupted", "sigint_held"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C ended a training run; ``checkpoint`` is where it can resume from.

    Attributes:
        out: the run directory.
        step: the last optimizer step the checkpoint holds (0: none).
        checkpoint: the checkpoint directory, or None when no step was saved.
        aborted: True after a second Ctrl-C (the step in flight was dropped).
    """

    def __init__(self, out: Path, step: int, checkpoint: Path | None, aborted: bool) -> None:
        self.out, self.step, self.checkpoint, self.aborted = out, step, checkpoint, aborted
        how = "aborted" if aborted else "interrupted"
        if checkpoint is None:
            self.hint = "rerun the same command to start over"
            where = f"no checkpoint was saved; {self.hint}"
        else:
            self.hint = "rerun the same command with --resume"
            where = f"checkpoint {checkpoint} holds step {step}; {self.hint} to continue"
        super().__init__(f"training {how}: {where}")


class GracefulStop(TrainerCallback):
    """Turn the first Ctrl-C into "save and stop after this step", the second into abort."""

    def __init__(self) -> None:
        self.requested = False
        self.stopped_at: int | None = None
        """The global step after which the run saved and stopped (None: it did not)."""
        self.saving = False
        """A checkpoint is being written: a press now would leave half of one."""

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The SIGINT handler: flag the first press, raise on the second."""
        if self.saving:
            logger.warning("Ctrl-C: saving the checkpoint, one moment")
            return
        if self.requested:
            logger.warning("second Ctrl-C: aborting the step in flight (containers are "
                           "still removed)")
            raise KeyboardInterrupt
        self.requested = True
        logger.warning("Ctrl-C: finishing the current step, then saving a checkpoint "
                       "(press Ctrl-C again to abort at once)")

    @contextmanager
    def installed(self) -> Iterator[GracefulStop]:
        """Handle SIGINT within the block (main thread only; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self.handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        """After a whole step, if Ctrl-C was pressed: save a checkpoint and stop."""
        if self.requested and self.stopped_at is None:
            control.should_save = True
            control.should_training_stop = True
            self.stopped_at = state.global_step
            self.saving = True
        return control

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        """The checkpoint is complete; Ctrl-C may abort again."""
        self.saving = False
        return control


@contextmanager
def sigint_held() -> Iterator[None]:
    """Ignore Ctrl-C within the block (cleanup that must not be cut: removing containers).

    A press meanwhile is logged and dropped; the run is already stopping.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: FrameType | None) -> None:
        logger.warning("Ctrl-C: still removing containers, one moment")

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

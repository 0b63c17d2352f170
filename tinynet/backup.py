"""Backup and restore of a training in progress: ``Sequential.fit(..., backup=path)``.

A long training (a CNN on MNIST: an hour on two cores) should survive a crash, a
Ctrl-C or the end of a working day. Keras calls this ``BackupAndRestore``. With a
backup path, ``fit`` writes one ``.npz`` file at the end of every epoch, atomically,
holding everything the next epoch depends on:

* the weights, the optimizer's step count and its per-parameter arrays (Adam's
  ``m`` and ``v``);
* the state of every random generator: the model's (the shuffling) and each
  layer's (dropout masks);
* the history so far, and a *fingerprint* of the training: the model's config, a
  SHA-256 of the data, the epochs, batch size, shuffling, optimizer and loss.

Called again with the same path and the same training (in a new process, after a
crash), ``fit`` loads the file and goes on from the next epoch, so the result is
bit for bit that of an uninterrupted run. The file is deleted when training ends.
A backup of another training, or a file that is not a backup, is refused with a
:class:`BackupError` (a ``ValueError``), never mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinynet.files import atomic_write

if TYPE_CHECKING:  # only for the type hints: the model module imports this one
    from tinynet.model import History, Sequential
    from tinynet.optimizers import Optimizer


class BackupError(ValueError):
    """A backup file that cannot be resumed from: another training's, or not a backup."""


def data_digest(*arrays: np.ndarray) -> str:
    """SHA-256 of the arrays' shapes, dtypes and bytes: which data a training saw."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


class Backup:
    """The backup file of one ``fit`` call.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file; its folder must exist.
    model : Sequential
        The model being trained.
    optimizer : Optimizer
        Its optimizer.
    training : dict
        Everything else that decides the result (data digest, epochs, batch size,
        ...): with the model's and optimizer's configs, the fingerprint.
    """

    def __init__(
        self, path: str | os.PathLike, model: Sequential, optimizer: Optimizer, training: dict
    ):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ValueError(f"backup {self.path}: folder {self.path.parent} does not exist")
        self.model, self.optimizer = model, optimizer
        fingerprint = {"model": model.get_config(), "optimizer": optimizer.get_config(), **training}
        self.fingerprint = json.loads(json.dumps(fingerprint))  # as it reads back from the file

    def _generators(self) -> list[np.random.Generator]:
        return [self.model._rng] + [layer.rng for layer in self.model.layers]

    def save(self, epoch: int, history: History) -> None:
        """Record the state after ``epoch`` (atomically: the old backup or the new, never half)."""
        params, _ = self.model.parameters()
        arrays = {f"param/{i}": p for i, p in enumerate(params)}
        for slot, values in self.optimizer.state.items():
            arrays.update({f"{slot}/{i}": value for i, value in enumerate(values)})
        meta = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "history": history.history,
            "iterations": self.optimizer.iterations,
            "generators": [g.bit_generator.state for g in self._generators()],
        }
        arrays["meta"] = np.array(json.dumps(meta))
        atomic_write(self.path, lambda handle: np.savez(handle, **arrays))

    def restore(self, history: History) -> int:
        """Load the backup, if there is one, into the model, optimizer and ``history``.

        Returns
        -------
        int
            The number of epochs already done (0 without a backup file).

        Raises
        ------
        BackupError
            If the file is not a tinynet backup, or was written by another training.
        """
        if not self.path.exists():
            return 0
        meta, arrays = self._read()
        if meta["fingerprint"] != self.fingerprint:
            changed = sorted(
                key for key in set(meta["fingerprint"]) | set(self.fingerprint)
                if meta["fingerprint"].get(key) != self.fingerprint.get(key)
            )  # fmt: skip
            raise BackupError(
                f"backup {self.path} was written by another training (it differs in: "
                f"{', '.join(changed)}); delete it to start over, or choose another path"
            )
        params, _ = self.model.parameters()
        for i, param in enumerate(params):
            param[...] = arrays[f"param/{i}"]
        state = {
            slot: [arrays[f"{slot}/{i}"] for i in range(len(params))]
            for slot in self.optimizer.slots
        }
        self.optimizer.load_state(params, meta["iterations"], state)
        for generator, saved in zip(self._generators(), meta["generators"], strict=True):
            generator.bit_generator.state = saved
        epoch = meta["epoch"]
        history.history = meta["history"]
        history.epoch = list(range(1, epoch + 1))
        return epoch

    def _read(self) -> tuple[dict, dict[str, np.ndarray]]:
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
            meta = json.loads(str(arrays.pop("meta")))
            keys = {"fingerprint", "epoch", "history", "iterations", "generators"}
            if not (isinstance(meta, dict) and keys <= set(meta)):
                raise ValueError("its 'meta' lacks fields")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise BackupError(
                f"{self.path} is not a readable tinynet backup ({error}); delete it to start over"
            ) from None
        return meta, arrays

    def remove(self) -> None:
        """Delete the backup file: the training it was for has ended."""
        self.path.unlink(missing_ok=True)

"""What ``fit`` prints while it trains: a bar in a terminal, one line per epoch elsewhere.

In a terminal (or a Jupyter notebook) each epoch gets a bar, redrawn in place,
that keeps the running training metrics on its right, then, when the epoch ends,
a line of its own with the epoch's metrics (73 characters with validation, so it
fits an 80-column terminal)::

    Epoch 3/20 1563/1563 |████████████████████████| 00:12<00:00
    loss: 0.0432 - accuracy: 0.9861 - val_loss: 0.0911 - val_accuracy: 0.9741

When the output is not a terminal (a log file, a pipe, CI) nothing is redrawn:
one line per epoch, as Keras' ``verbose=2`` prints, and no carriage return::

    Epoch 3/20 - 12.3s - loss: 0.0432 - accuracy: 0.9861 - val_loss: 0.0911 - val_accuracy: 0.9741

Metrics always appear in the order of :data:`METRICS`.
"""

from __future__ import annotations

import sys
from typing import IO

from tqdm.auto import tqdm
from tqdm.notebook import tqdm as notebook_tqdm

#: The order in which metrics are shown.
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")

#: The bar: tqdm shrinks ``{bar}`` to what the other fields leave of the width.
BAR_FORMAT = "{desc} {n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}{postfix}"


def format_metrics(metrics: dict[str, float]) -> str:
    """``"loss: 0.0432 - accuracy: 0.9861 - ..."``, in the order of :data:`METRICS`."""
    return " - ".join(f"{name}: {metrics[name]:.4f}" for name in METRICS if name in metrics)


def is_interactive(stream: IO[str]) -> bool:
    """True for a terminal, or in a notebook where ``tqdm.auto`` draws a widget."""
    try:
        return stream.isatty() or issubclass(tqdm, notebook_tqdm)
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class EpochProgress:
    """The progress output of one epoch of ``steps`` optimizer steps.

    Parameters
    ----------
    epoch, epochs : int
        This epoch's number (from 1) and the number of epochs, for the title.
    steps : int
        Steps in the epoch.
    bar : bool, optional
        Draw a bar; by default only when ``stream`` is interactive.
    stream : text stream, optional
        Where to write; ``sys.stdout`` (looked up at each call) by default.
    """

    def __init__(
        self,
        epoch: int,
        epochs: int,
        steps: int,
        bar: bool | None = None,
        stream: IO[str] | None = None,
    ):
        self.stream = sys.stdout if stream is None else stream
        self.title = f"Epoch {epoch}/{epochs}"
        if bar is None:
            bar = is_interactive(self.stream)
        self._bar = None
        if bar:
            self._bar = tqdm(
                total=steps,
                desc=self.title,
                file=self.stream,
                bar_format=BAR_FORMAT,
                dynamic_ncols=True,
                leave=True,
            )

    def step(self, running_metrics: dict[str, float] | None = None) -> None:
        """One step done; ``running_metrics`` (when given) replace those on the bar."""
        if self._bar is not None:
            if running_metrics is not None:
                self._bar.set_postfix_str(format_metrics(running_metrics), refresh=False)
            self._bar.update(1)

    def end(self, metrics: dict[str, float], seconds: float) -> None:
        """The epoch is over: show its ``metrics`` (and, without a bar, its time)."""
        if self._bar is not None:
            self._bar.set_postfix_str("", refresh=False)
            self._bar.close()
            line = format_metrics(metrics)
        else:
            line = f"{self.title} - {seconds:.1f}s - {format_metrics(metrics)}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Stop drawing (when the epoch ends with an error)."""
        if self._bar is not None:
            self._bar.close()

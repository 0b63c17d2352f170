"""What ``fit`` prints: a bar that fits an 80-column terminal, one line per epoch elsewhere."""

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynet import Sequential
from tinynet.layers import Dense, Flatten
from tinynet.progress import EpochProgress, format_metrics

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
FINAL_LINE = re.compile(
    r"^loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: \d\.\d{4} - val_accuracy: \d\.\d{4}$"
)

#: A small training run with validation, as a script (for the terminal test).
TRAINING = """
import numpy as np
from tinynet import Sequential
from tinynet.layers import Dense, Flatten
rng = np.random.default_rng(0)
x, y = rng.random((600, 4, 4, 1)).astype(np.float32), rng.integers(0, 3, 600)
model = Sequential([Flatten(), Dense(3)], input_shape=(4, 4, 1), seed=0)
model.fit(x, y, epochs=2, batch_size=4, validation_data=(x[:50], y[:50]){verbose})
"""


def test_metrics_are_shown_in_a_fixed_order():
    shuffled = {"val_accuracy": 0.97, "accuracy": 0.98, "epoch_time": 3.0, "loss": 0.05}
    assert format_metrics(shuffled) == "loss: 0.0500 - accuracy: 0.9800 - val_accuracy: 0.9700"
    full = {"val_loss": 12.3456, "loss": 1.0, "accuracy": 1.0, "val_accuracy": 1.0}
    assert len(format_metrics(full)) <= 80


def test_outside_a_terminal_one_line_per_epoch_and_no_redraw(rng, capsys):
    x, y = rng.random((40, 4, 4, 1)).astype(np.float32), rng.integers(0, 3, 40)
    model = Sequential([Flatten(), Dense(3)], input_shape=(4, 4, 1), seed=0)
    model.fit(x, y, epochs=3, batch_size=4, validation_data=(x[:8], y[:8]))  # verbose=1
    captured = capsys.readouterr()  # pytest's capture is not a terminal
    assert "\r" not in captured.out + captured.err
    lines = captured.out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"Epoch {epoch}/3 - \d+\.\ds - loss: \S+ - accuracy: \S+ - val_loss: \S+ - "
            r"val_accuracy: \d\.\d{4}",
            line,
        )


def test_verbose_2_is_one_line_per_epoch_even_on_a_terminal():
    stream = io.StringIO()
    stream.isatty = lambda: True
    progress = EpochProgress(1, 1, steps=5, bar=False, stream=stream)
    progress.step({"loss": 1.0, "accuracy": 0.5})
    progress.end({"loss": 1.0, "accuracy": 0.5}, seconds=2.0)
    assert stream.getvalue() == "Epoch 1/1 - 2.0s - loss: 1.0000 - accuracy: 0.5000\n"


@pytest.mark.parametrize("verbose", [3, -1, "yes"])
def test_verbose_must_be_0_1_or_2(rng, verbose):
    model = Sequential([Flatten(), Dense(3)], input_shape=(4, 4, 1))
    with pytest.raises(ValueError, match="verbose must be 0, 1 or 2"):
        model.fit(rng.random((4, 4, 4, 1)), [0, 1, 2, 0], verbose=verbose)


def visible_lines(output: str) -> list[str]:
    """What a terminal shows: per line, the text after the last carriage return."""
    return [ANSI.sub("", line.split("\r")[-1]) for line in output.replace("\r\n", "\n").split("\n")]


@pytest.mark.skipif(shutil.which("script") is None, reason="needs util-linux's script")
def test_in_an_80_column_terminal_the_bar_fits_and_the_metrics_are_whole(tmp_path):
    program = tmp_path / "train.py"
    program.write_text(TRAINING.format(verbose=""))
    command = f"stty cols 80 rows 24; {sys.executable} {program}"
    done = subprocess.run(
        ["script", "-qec", command, "/dev/null"],
        capture_output=True, cwd=REPO, timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "80"},
    )  # fmt: skip
    output = done.stdout.decode()  # bytes: text mode would turn "\r" into "\n"
    assert done.returncode == 0, output + done.stderr.decode()
    assert "\r" in output  # a bar, redrawn in place
    frames = [ANSI.sub("", frame) for frame in re.split(r"[\r\n]+", output)]
    assert max(len(frame) for frame in frames) <= 80
    bars = [frame for frame in frames if frame.startswith("Epoch 1/2 ") and "|" in frame]
    assert any("loss: " in bar and "accuracy: " in bar for bar in bars)  # running metrics
    lines = [line for line in visible_lines(output) if line.strip()]
    assert [line.split(" ")[:2] for line in lines[::2]] == [["Epoch", "1/2"], ["Epoch", "2/2"]]
    assert lines[0].startswith("Epoch 1/2 150/150 |") and len(lines) == 4
    assert all(FINAL_LINE.match(line) for line in lines[1::2]), lines

"""The exercise checker: wrong backward passes are named and fail, tinynet's own layers pass."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tinynet.exercises import EXERCISES, check, load_exercise_classes, main
from tinynet.layers import Conv2D, Dense, MaxPool2D, ReLU
from tinynet.losses import SoftmaxCrossEntropy

TEMPLATE = Path(__file__).resolve().parents[1] / "docs" / "course" / "exercises" / "my_layers.py"

# A student's file with two classic mistakes.
WRONG_LAYERS = textwrap.dedent(
    """
    import numpy as np

    class Dense:
        def __init__(self, units):
            self.units = units
            self.params, self.grads = {}, {}

        def forward(self, x):
            self.x = x
            return x @ self.params["W"] + self.params["b"]

        def backward(self, g):
            self.grads["W"] = self.x.T @ g
            self.grads["b"] = g.sum(axis=0)
            return g @ self.params["W"]          # missing transpose

    class MaxPool2D:
        def __init__(self, pool_size=2):
            self.pool_size = pool_size
            self.params, self.grads = {}, {}

        def forward(self, x):
            self.x = x
            p = self.pool_size
            n, h, w, c = x.shape
            windows = x[:, : h // p * p, : w // p * p, :].reshape(n, h // p, p, w // p, p, c)
            return windows.max(axis=(2, 4))

        def backward(self, g):
            p = self.pool_size
            dx = np.zeros_like(self.x)
            oh, ow = g.shape[1:3]
            # gradient to every element of the window, not just the winner
            dx[:, : oh * p, : ow * p, :] = np.repeat(np.repeat(g, p, axis=1), p, axis=2)
            return dx
    """
)

TINYNET_LAYERS = """
from tinynet.layers import Conv2D, Dense, MaxPool2D, ReLU
from tinynet.losses import SoftmaxCrossEntropy
"""


def wrong_classes(tmp_path):
    path = tmp_path / "wrong.py"
    path.write_text(WRONG_LAYERS)
    return load_exercise_classes(path)


@pytest.mark.parametrize("solution", [Dense, ReLU, Conv2D, MaxPool2D, SoftmaxCrossEntropy])
def test_tinynet_layers_pass(solution):
    report = check(solution, verbose=False)
    assert report.passed, str(report)
    assert "PASS" in str(report)


def test_dense_missing_transpose_names_the_input_gradient(tmp_path):
    report = check(wrong_classes(tmp_path)["Dense"], verbose=False)
    assert not report.passed
    wrong = {finding.what for _, finding in report.failures()}
    assert wrong == {"dL/dx (what backward returns)"}
    _, finding = report.failures()[0]
    assert finding.gradcheck > 0.1 and finding.versus_solution > 0.1
    assert "FAIL Dense: dL/dx (what backward returns) is wrong" in str(report)
    assert "g @ W.T" in str(report)  # the hint


def test_dense_weight_gradient_transposed_is_named(tmp_path):
    dense = wrong_classes(tmp_path)["Dense"]

    class TransposedWeights(dense):
        def backward(self, g):
            dx = g @ self.params["W"].T
            self.grads["W"] = g.T @ self.x  # (D_out, D_in): the transpose of the answer
            self.grads["b"] = g.sum(axis=0)
            return dx

    report = check(TransposedWeights, reference="Dense", verbose=False)
    assert not report.passed
    assert {f.what for _, f in report.failures()} == {"dL/dW (grads['W'])"}
    assert "expected (5, 2)" in str(report)  # the rectangular case names the shape


def test_maxpool_gradient_to_every_window_element_fails(tmp_path):
    report = check(wrong_classes(tmp_path)["MaxPool2D"], verbose=False)
    assert not report.passed
    assert {f.what for _, f in report.failures()} == {"dL/dx (what backward returns)"}
    assert all(f.gradcheck > 0.1 for _, f in report.failures())
    assert "the pixel that won" in str(report)


def completed_template():
    """The template with every TODO filled in, the way a student would."""
    template = load_exercise_classes(TEMPLATE)

    class Dense(template["Dense"]):
        def backward(self, g):
            self.grads["W"] = self.x.T @ g
            self.grads["b"] = g.sum(axis=0)
            return g @ self.params["W"].T

    class ReLU(template["ReLU"]):
        def backward(self, g):
            return g * (self.x > 0)

    class SoftmaxCrossEntropy:
        def forward(self, logits, labels):
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            self.p, self.labels = e / e.sum(axis=1, keepdims=True), labels
            return -np.mean(np.log(self.p[np.arange(len(labels)), labels]))

        def backward(self):
            g = self.p.copy()
            g[np.arange(len(self.labels)), self.labels] -= 1
            return g / len(self.labels)

    class Conv2D(template["Conv2D"]):
        def backward(self, g):
            kh, kw = self.params["W"].shape[:2]
            dx, dw = np.zeros_like(self.x), np.zeros_like(self.params["W"])
            for i in range(g.shape[1]):
                for j in range(g.shape[2]):
                    patch = self.x[:, i : i + kh, j : j + kw, :]
                    dw += np.tensordot(patch, g[:, i, j, :], axes=([0], [0]))
                    dx[:, i : i + kh, j : j + kw, :] += np.tensordot(
                        g[:, i, j, :], self.params["W"], axes=([1], [3])
                    )
            self.grads["W"], self.grads["b"] = dw, g.sum(axis=(0, 1, 2))
            return dx

    class MaxPool2D(template["MaxPool2D"]):
        def backward(self, g):
            p, dx = self.pool_size, np.zeros_like(self.x)
            for i in range(g.shape[1]):
                for j in range(g.shape[2]):
                    window = self.x[:, i * p : (i + 1) * p, j * p : (j + 1) * p, :]
                    winner = window == window.max(axis=(1, 2), keepdims=True)
                    dx[:, i * p : (i + 1) * p, j * p : (j + 1) * p, :] = (
                        winner * g[:, i : i + 1, j : j + 1, :]
                    )
            return dx

    return [Dense, ReLU, SoftmaxCrossEntropy, Conv2D, MaxPool2D]


def test_completed_template_passes():
    for cls in completed_template():
        report = check(cls, verbose=False)
        assert report.passed, str(report)


def test_template_as_handed_out_fails_saying_what_is_not_written():
    classes = load_exercise_classes(TEMPLATE)
    assert set(classes) == set(EXERCISES)
    report = check(classes["Dense"], verbose=False)
    assert not report.passed
    assert "backward is not written yet (TODO: Dense.backward)" in str(report)


def test_softmax_without_the_max_shift_fails_on_large_logits():
    class Overflowing:
        def forward(self, logits, labels):
            e = np.exp(logits)
            self.p, self.labels = e / e.sum(axis=1, keepdims=True), labels
            return -np.mean(np.log(self.p[np.arange(len(labels)), labels]))

        def backward(self):
            g = self.p.copy()
            g[np.arange(len(self.labels)), self.labels] -= 1
            return g / len(self.labels)

    with np.errstate(all="ignore"):
        report = check(Overflowing, reference="SoftmaxCrossEntropy", verbose=False)
    assert not report.passed
    case, finding = report.failures()[0]
    assert "large logits" in case.label and finding.what == "forward (the loss)"


def test_an_instance_is_checked_with_its_own_settings(tmp_path):
    assert check(Dense(3), verbose=False).passed
    wrong = wrong_classes(tmp_path)["Dense"](3)
    assert not check(wrong, verbose=False).passed


def test_unknown_reference_is_a_value_error():
    class Mystery:
        pass

    with pytest.raises(ValueError, match="no exercise called 'Mystery'"):
        check(Mystery)


# --- the command ---------------------------------------------------------------------


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tinynet.exercises", *map(str, args)],
        capture_output=True,
        text=True,
    )


def test_cli_fails_naming_the_wrong_gradients(tmp_path):
    path = tmp_path / "my_layers.py"
    path.write_text(WRONG_LAYERS)
    done = run_cli("check", path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAIL Dense: dL/dx (what backward returns) is wrong" in done.stdout
    assert "FAIL MaxPool2D: dL/dx (what backward returns) is wrong" in done.stdout
    assert "2 of 2 failed: Dense, MaxPool2D" in done.stdout


def test_cli_passes_tinynets_own_layers(tmp_path, capsys):
    path = tmp_path / "solutions.py"
    path.write_text(TINYNET_LAYERS)
    assert main(["check", str(path)]) == 0
    assert "all 5 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("import numpy as np\n\nclass Helper:\n    pass\n", "defines no layer class to check"),
        ("class Dense:\n    def forward(self, x)\n        return x\n", "line 2: "),
        ("import no_such_module_here\n", "line 1: importing it raised ModuleNotFoundError"),
    ],
    ids=["missing", "no-classes", "syntax-error", "import-error"],
)
def test_cli_bad_input_is_one_error_line(tmp_path, content, message):
    path = tmp_path / "my_layers.py"
    if content is not None:
        path.write_text(content)
    done = run_cli("check", path)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert message in lines[0]


def test_cli_only_names_a_class_the_file_lacks(tmp_path, capsys):
    path = tmp_path / "my_layers.py"
    path.write_text(WRONG_LAYERS)
    assert main(["check", str(path), "--only", "ReLU"]) == 2
    assert "has no class ReLU" in capsys.readouterr().err

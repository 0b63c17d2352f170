"""Exercises that grade themselves: check a layer you wrote against the math and against tinynet.

Write your own ``Dense``, ``ReLU``, ``SoftmaxCrossEntropy``, ``Conv2D`` or ``MaxPool2D``
(a template with TODOs is ``docs/course/exercises/my_layers.py``; the solutions are
tinynet's own layers in ``tinynet/layers/``), then::

    python -m tinynet.exercises check my_layers.py       # every exercise class in the file
    python -m tinynet.exercises check my_layers.py --only Dense

or, in a notebook cell, ``check(Dense)`` with the class you just defined.

What your layer must look like
------------------------------
The same contract as tinynet's layers, without the base class::

    class Dense:
        def __init__(self, units):          # same constructor arguments as tinynet's
            self.units = units
            self.params, self.grads = {}, {}
        def forward(self, x): ...           # read the weights from self.params
        def backward(self, grad_output):    # fill self.grads (same names as params),
            ...                             # return dL/dx

The checker fills ``params`` with the same arrays (names and shapes) that tinynet's
layer has, in float64, and then, on small random inputs, compares:

1. **gradient check**: your ``backward`` against central differences of *your own*
   ``forward`` (is the backward right for the forward you wrote?);
2. **against tinynet**: your forward output, input gradient and parameter gradients
   against tinynet's layer given the same input, weights and upstream gradient.

Each comparison is a relative error ``||a - b|| / (||a|| + ||b||)``; a correct layer
gets about 1e-8 or less, a wrong one about 0.1 to 1. A softmax cross-entropy is a loss,
not a layer: ``forward(logits, labels)`` returns the mean loss and ``backward()`` returns
``dL/dlogits``.

Everything this module needs from tinynet is named in :data:`EXERCISES` and
:func:`_load_weights`, so a change of tinynet's layer API is adapted here in one place.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinynet.gradcheck import numerical_gradient, relative_error
from tinynet.layers import Conv2D, Dense, Layer, MaxPool2D, ReLU
from tinynet.losses import SoftmaxCrossEntropy

#: Largest relative error still counted as correct (float64, central differences).
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Case:
    """One test input: constructor arguments and the batch shape fed to ``forward``."""

    label: str
    kwargs: dict
    input_shape: tuple[int, ...]
    #: Keep inputs at least this far from 0 (ReLU's kink would fool central differences).
    min_abs_input: float = 0.0


@dataclass(frozen=True)
class Exercise:
    """A layer to write: tinynet's solution, test inputs and hints for each gradient."""

    name: str
    solution: type
    cases: tuple[Case, ...]
    hints: dict[str, str] = field(default_factory=dict)


EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        Exercise(
            "Dense",
            Dense,
            (
                # Square shapes first: a missing transpose then gives wrong numbers
                # (named below) instead of a shape error.
                Case("square: x (4, 4), 4 units", {"units": 4}, (4, 4)),
                Case("rectangular: x (3, 5), 2 units", {"units": 2}, (3, 5)),
            ),
            {
                "input": "dL/dx = g @ W.T, shape (N, D_in)",
                "W": "dL/dW = x.T @ g, shape (D_in, D_out)",
                "b": "dL/db = g.sum(axis=0), shape (D_out,)",
            },
        ),
        Exercise(
            "ReLU",
            ReLU,
            (Case("x (3, 4)", {}, (3, 4), min_abs_input=0.1),),
            {"input": "dL/dx = g * (x > 0)"},
        ),
        Exercise(
            "Conv2D",
            Conv2D,
            (
                Case(
                    "x (2, 5, 5, 2), 3 filters 3x3", {"filters": 3, "kernel_size": 3}, (2, 5, 5, 2)
                ),
                Case(
                    "x (1, 6, 4, 1), 2 filters 2x2", {"filters": 2, "kernel_size": 2}, (1, 6, 4, 1)
                ),
            ),
            {
                "input": "dL/dx = col2im(g @ W.reshape(-1, F).T): each patch entry added back "
                "to the pixel it came from",
                "W": "dL/dW = (cols.T @ g).reshape(KH, KW, C, F)",
                "b": "dL/db = g.sum over batch, rows and columns, shape (F,)",
            },
        ),
        Exercise(
            "MaxPool2D",
            MaxPool2D,
            (
                Case("x (2, 4, 4, 3), pool 2", {"pool_size": 2}, (2, 4, 4, 3)),
                Case("x (1, 5, 7, 1), pool 2", {"pool_size": 2}, (1, 5, 7, 1)),
            ),
            {
                "input": "only the pixel that won each window gets that window's gradient; "
                "the others get 0 (rows/columns no window covers get 0 too)"
            },
        ),
        Exercise(
            "SoftmaxCrossEntropy",
            SoftmaxCrossEntropy,
            (
                Case("logits (5, 4)", {}, (5, 4)),
                Case("large logits (3, 4), all near 1000", {"offset": 1000.0}, (3, 4)),
            ),
            {
                "forward": "subtract each row's max before exp, or exp overflows",
                "input": "dL/dlogits = (softmax(logits) - onehot(labels)) / N",
            },
        ),
    )
}


def _load_weights(layer, solution, input_shape: tuple[int, ...], seed: int) -> None:
    """Give ``layer`` the solution's parameters (copies, float64) before its first forward.

    tinynet layers are built first (``build``), so their own first ``forward`` keeps
    the weights; any other object just gets ``params`` filled in.
    """
    solution.build(input_shape[1:], dtype="float64", rng=np.random.default_rng(seed))
    if isinstance(layer, Layer) and not layer.built:
        layer.build(input_shape[1:], dtype="float64", rng=np.random.default_rng(seed))
    if not isinstance(getattr(layer, "params", None), dict):
        layer.params = {}
    if not isinstance(getattr(layer, "grads", None), dict):
        layer.grads = {}
    for name, value in solution.params.items():
        own = layer.params.get(name)
        if isinstance(own, np.ndarray) and own.shape == value.shape and own.dtype == value.dtype:
            own[...] = value
        else:
            layer.params[name] = value.copy()


# --- results ---------------------------------------------------------------------------


@dataclass
class Finding:
    """One comparison: ``what`` (e.g. ``"dL/dW (grads['W'])"``) and its relative errors."""

    what: str
    key: str
    gradcheck: float | None = None
    versus_solution: float | None = None
    problem: str | None = None  # a shape error, a missing gradient, an exception

    @property
    def ok(self) -> bool:
        errors = [e for e in (self.gradcheck, self.versus_solution) if e is not None]
        return self.problem is None and all(np.isfinite(e) and e <= TOLERANCE for e in errors)


@dataclass
class Report:
    """Everything :func:`check` found for one class; ``str(report)`` is the printout."""

    name: str
    findings: list[tuple[Case, list[Finding]]] = field(default_factory=list)
    error: str | None = None  # the student's code raised: nothing more could be compared

    @property
    def passed(self) -> bool:
        return self.error is None and all(f.ok for _, found in self.findings for f in found)

    def failures(self) -> list[tuple[Case, Finding]]:
        return [(case, f) for case, found in self.findings for f in found if not f.ok]

    def __str__(self) -> str:
        hints = EXERCISES[self.name].hints
        lines = [f"{self.name}:"]
        for case, found in self.findings:
            lines.append(f"  case {case.label}")
            for f in found:
                lines.append(f"    {f.what:<36}{_describe(f)}")
        if self.error:
            lines.append(f"FAIL {self.name}: {self.error}")
        failures = self.failures()
        for case, f in failures:
            lines.append(f"FAIL {self.name}: {f.what} is wrong ({case.label}): {_why(f)}")
            if f.key in hints:
                lines.append(f"     hint: {hints[f.key]}")
        if self.passed:
            lines.append(
                f"PASS {self.name}: every gradient agrees with the numerical one and with tinynet's"
            )
        return "\n".join(lines)


def _format_error(error: float | None) -> str:
    return "-" if error is None else f"{error:.1e}"


def _describe(f: Finding) -> str:
    if f.problem:
        return f"PROBLEM: {f.problem}"
    verdict = "ok" if f.ok else "WRONG"
    return (
        f"gradcheck {_format_error(f.gradcheck):>8}   "
        f"vs tinynet {_format_error(f.versus_solution):>8}   {verdict}"
    )


def _why(f: Finding) -> str:
    if f.problem:
        return f.problem
    parts = []
    if f.gradcheck is not None:
        parts.append(
            f"relative error {f.gradcheck:.1e} against the numerical gradient of your forward"
        )
    if f.versus_solution is not None:
        parts.append(f"{f.versus_solution:.1e} against tinynet's")
    return ", ".join(parts) + f" (a correct one is below {TOLERANCE:.0e})"


# --- the checks ------------------------------------------------------------------------


class StudentCodeError(Exception):
    """The student's forward or backward raised; the message says where."""


def _call(what: str, function: Callable, *args):
    """Call the student's ``function``; turn any exception into a one-line explanation."""
    try:
        return function(*args)
    except NotImplementedError as exc:
        raise StudentCodeError(
            f"{what} is not written yet ({exc or 'NotImplementedError'})"
        ) from exc
    except Exception as exc:
        raise StudentCodeError(f"{what} raised {type(exc).__name__}{_where(exc)}: {exc}") from exc


def _where(exc: BaseException) -> str:
    """`` at my_layers.py line 12`` (or ``in a notebook cell, line 12``): where it raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return ""
    name, line = Path(frames[-1].filename).name, frames[-1].lineno
    if "ipykernel" in frames[-1].filename:
        return f" in a notebook cell, line {line}"
    return f" at {name} line {line}"


def _as_array(what: str, value, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str | None]:
    if value is None:
        return None, f"{what} is None; return (or store) an array of shape {shape}"
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        return None, f"has shape {array.shape}, expected {shape}"
    return array, None


def _compare(what, key, mine, numeric, solution, shape) -> Finding:
    array, problem = _as_array(what, mine, shape)
    if problem:
        return Finding(what, key, problem=problem)
    return Finding(
        what,
        key,
        gradcheck=None if numeric is None else relative_error(array, numeric),
        versus_solution=None if solution is None else relative_error(array, solution),
    )


def _random_input(case: Case, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal(case.input_shape)
    if case.min_abs_input:
        x = np.sign(x) * (case.min_abs_input + np.abs(x))
    return x


def _check_layer_case(student, exercise: Exercise, case: Case, seed: int) -> list[Finding]:
    rng = np.random.default_rng(seed)
    if inspect.isclass(student):
        layer = student(**case.kwargs)
        solution = exercise.solution(**case.kwargs)
    else:  # an instance: tinynet's layer gets the instance's own constructor values
        layer = student
        solution = exercise.solution(**{k: getattr(layer, k, v) for k, v in case.kwargs.items()})
    _load_weights(layer, solution, case.input_shape, seed)
    x = _random_input(case, rng)

    expected = solution.forward(x.copy(), training=True)
    output = _call("your forward", layer.forward, x)
    out_array, problem = _as_array("forward's output", output, expected.shape)
    if problem:
        return [Finding("forward output", "forward", problem=problem)]
    findings = [
        Finding("forward output", "forward", versus_solution=relative_error(out_array, expected))
    ]

    upstream = rng.standard_normal(expected.shape)
    expected_grads = {"input": solution.backward(upstream.copy()).copy()}
    expected_grads.update({k: g.copy() for k, g in solution.grads.items()})
    _call("your forward", layer.forward, x)
    mine = {"input": _call("your backward", layer.backward, upstream.copy())}
    mine["input"] = None if mine["input"] is None else np.array(mine["input"], dtype=np.float64)
    for name in solution.params:
        grad = getattr(layer, "grads", {}).get(name)
        mine[name] = None if grad is None else np.array(grad, dtype=np.float64)

    def loss() -> float:
        return float(np.sum(np.asarray(layer.forward(x), dtype=np.float64) * upstream))

    numeric = {"input": _call("your forward", numerical_gradient, loss, x)}
    for name in solution.params:
        numeric[name] = _call("your forward", numerical_gradient, loss, layer.params[name])

    findings.append(
        _compare(
            "dL/dx (what backward returns)",
            "input",
            mine["input"],
            numeric["input"],
            expected_grads["input"],
            x.shape,
        )
    )
    for name, value in solution.params.items():
        what = f"dL/d{name} (grads[{name!r}])"
        if mine[name] is None:
            findings.append(Finding(what, name, problem=f"backward did not fill grads[{name!r}]"))
            continue
        findings.append(
            _compare(what, name, mine[name], numeric[name], expected_grads[name], value.shape)
        )
    return findings


def _check_loss_case(student, exercise: Exercise, case: Case, seed: int) -> list[Finding]:
    rng = np.random.default_rng(seed)
    offset = case.kwargs.get("offset", 0.0)
    logits = rng.standard_normal(case.input_shape) + offset
    labels = rng.integers(0, case.input_shape[1], size=case.input_shape[0])
    solution = exercise.solution()
    loss = student() if inspect.isclass(student) else student

    expected = solution.forward(logits.copy(), labels)
    expected_grad = solution.backward()
    value = _call("your forward", loss.forward, logits, labels)
    value = float(np.asarray(value, dtype=np.float64))
    findings = [
        Finding(
            "forward (the loss)",
            "forward",
            versus_solution=relative_error(np.array(value), np.array(expected)),
        )
    ]
    _call("your forward", loss.forward, logits, labels)
    grad = _call("your backward", loss.backward)
    numeric = None
    if not offset:  # near 1000, eps = 1e-6 is at float64's resolution: no useful difference
        numeric = _call(
            "your forward", numerical_gradient, lambda: float(loss.forward(logits, labels)), logits
        )
    findings.append(
        _compare(
            "dL/dlogits (what backward returns)",
            "input",
            grad,
            numeric,
            expected_grad,
            logits.shape,
        )
    )
    return findings


def check(
    student,
    reference: str | type | None = None,
    seed: int = 0,
    verbose: bool = True,
) -> Report:
    """Grade a layer you wrote: gradient check, then comparison with tinynet's layer.

    Parameters
    ----------
    student : class or instance
        Your layer (or loss). A class is built once per test case with the same
        constructor arguments as tinynet's (``Dense(units)``, ``Conv2D(filters,
        kernel_size)``, ``MaxPool2D(pool_size)``, ``ReLU()``, ``SoftmaxCrossEntropy()``).
        An instance is checked as it is, on the first case only, against tinynet's layer
        built with the instance's attributes of the same names (``units``, ...).
    reference : str or class, optional
        Which exercise this is: ``"Dense"``, ``"ReLU"``, ``"Conv2D"``, ``"MaxPool2D"``,
        ``"SoftmaxCrossEntropy"`` or tinynet's class itself. Default: your class's name.
    seed : int
        Seeds the random inputs, weights and upstream gradients.
    verbose : bool
        Print the report (``str(report)``).

    Returns
    -------
    Report
        ``report.passed`` is True when every gradient is right; ``report.failures()``
        lists what is wrong.
    """
    exercise = _exercise_for(student, reference)
    report = Report(exercise.name)
    check_case = _check_loss_case if exercise.solution is SoftmaxCrossEntropy else _check_layer_case
    cases = exercise.cases if inspect.isclass(student) else exercise.cases[:1]
    for case in cases:
        try:
            report.findings.append((case, check_case(student, exercise, case, seed)))
        except StudentCodeError as exc:
            report.error = f"{exc} (case {case.label})"
            break
    if verbose:
        print(report)
    return report


def _exercise_for(student, reference) -> Exercise:
    if reference is None:
        reference = student.__name__ if inspect.isclass(student) else type(student).__name__
    name = reference if isinstance(reference, str) else getattr(reference, "__name__", "")
    if name not in EXERCISES:
        raise ValueError(
            f"check: no exercise called {name!r}; pass reference= one of "
            f"{', '.join(EXERCISES)} (or name your class like one of them)"
        )
    return EXERCISES[name]


# --- the command -----------------------------------------------------------------------


class ExerciseFileError(Exception):
    """The student's file cannot be used (missing, does not import, defines no layer)."""


def load_exercise_classes(path: str | Path) -> dict[str, type]:
    """Import ``path`` and return its classes named like an exercise (``Dense``, ...)."""
    path = Path(path)
    if not path.is_file():
        raise ExerciseFileError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
    spec = importlib.util.spec_from_file_location(f"_student_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ExerciseFileError(f"{path} line {exc.lineno}: {exc.msg} (SyntaxError)") from exc
    except Exception as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f" line {frames[-1].lineno}" if frames else ""
        raise ExerciseFileError(
            f"{path}{where}: importing it raised {type(exc).__name__}: {exc}"
        ) from exc
    classes = {
        name: value
        for name, value in vars(module).items()
        if inspect.isclass(value) and name in EXERCISES
    }
    if not classes:
        raise ExerciseFileError(
            f"{path} defines no layer class to check; name a class {', '.join(EXERCISES)}"
        )
    return classes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinynet.exercises",
        description="Grade the layers you wrote: a gradient check against your own forward, "
        "then a comparison with tinynet's layers (the solutions) on random inputs.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check_parser = commands.add_parser("check", help="check every exercise class in a file")
    check_parser.add_argument("file", help="a Python file defining e.g. class Dense")
    check_parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=list(EXERCISES),
        help="check only these classes",
    )
    check_parser.add_argument("--seed", type=int, default=0, help="random inputs (default 0)")
    args = parser.parse_args(argv)
    try:
        classes = load_exercise_classes(args.file)
        if args.only:
            missing = [name for name in args.only if name not in classes]
            if missing:
                raise ExerciseFileError(f"{args.file} has no class {', '.join(missing)}")
            classes = {name: classes[name] for name in args.only}
    except ExerciseFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = [check(cls, reference=name, seed=args.seed) for name, cls in classes.items()]
    failed = [r.name for r in reports if not r.passed]
    print()
    if failed:
        print(f"{len(failed)} of {len(reports)} failed: {', '.join(failed)}")
        return 1
    print(f"all {len(reports)} passed: {', '.join(classes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

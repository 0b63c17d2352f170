"""Training speed: one epoch of each zoo model in tinynet, beside the frameworks people use.

    python -m experiments.benchmark            # the full table (about 20 minutes)
    python -m experiments.benchmark --quick    # a short run

Contestants, each measured in its own fresh process, the processes interleaved so
that the machine's drifting load hits all of them alike:

* ``tinynet``        the library as it ships (Numba kernels);
* ``tinynet-numpy``  the same, on the NumPy reference kernels (``TINYNET_KERNELS=numpy``):
  for the CNNs this *is* the minimal NumPy loop (NHWC im2col, col2im by slice adds);
* ``numpy-loop``     (MLPs) a minimal hand-written NumPy training loop doing the same math;
* ``pytorch``        the same architecture in PyTorch on the CPU (skipped if not installed);
* ``sklearn``        (MLPs) scikit-learn's ``MLPClassifier`` with Adam.

Every contestant trains on the same random MNIST-shaped float32 data with Adam
(lr 1e-3, eps 1e-7) and softmax cross-entropy. A measurement times a fixed number
of steps after a warm-up and scales to an epoch of 50,000 images; the table shows
the median over repetitions, ratios tinynet / other, achieved GFLOP/s
(forward + backward, counted as 3 x the forward multiply-adds x 2) and their share
of the float32 GEMM peak measured in the same run. Results go to
``benchmark.json``, ``benchmark.md`` and ``benchmark.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from experiments.cli import UsageError, prepare_out_dir, run_main

EPOCH_IMAGES = 50_000
#: (zoo name, batch size, label) of every row, as in the performance issue's table.
ROWS = [
    ("1x100", 32, "784-100-10"),
    ("1x300", 32, "784-300-10"),
    ("2x300", 32, "784-300-300-10"),
    ("dnn", 32, "784-400-100-10 (dnn)"),
    ("1x300", 128, "784-300-10"),
    ("cnn", 32, "cnn"),
    ("dcnn", 32, "dcnn"),
    ("cnn", 128, "cnn"),
    ("dcnn", 128, "dcnn"),
]
QUICK_ROWS = [ROWS[1], ROWS[5]]
CONTESTANTS = ("tinynet", "tinynet-numpy", "numpy-loop", "pytorch", "sklearn")
#: The performance targets: tinynet / other at most this, by (zoo name, batch size).
MLP_TARGETS = {"pytorch": 0.8, "numpy-loop": 1.05}
TARGETS = {("cnn", 32): {"pytorch": 0.8}, ("cnn", 128): {"pytorch": 0.8},
           ("dcnn", 32): {"pytorch": 1.0}, ("dcnn", 128): {"pytorch": 0.8}}  # fmt: skip
#: Each Numba kernel should be at least this many times faster than its NumPy reference.
KERNEL_TARGET = 5.0
#: Training steps timed per measurement (after warm-up), by model; --quick divides by 4.
STEPS = {"cnn": 120, "dcnn": 40}
MLP_STEPS = 600
#: Untimed steps before each measurement.
WARMUP_STEPS = 5


def is_mlp(model) -> bool:
    return all(
        type(layer).__name__ in ("Flatten", "Dense", "ReLU", "Dropout") for layer in model.layers
    )


def forward_flops(model) -> int:
    """Multiply-adds x 2 of one sample's forward pass (Dense and Conv2D layers)."""
    total = 0
    for layer in model.layers:
        if "W" in layer.params:
            spatial = math.prod(layer.output_shape[:-1])  # OH*OW for Conv2D, 1 for Dense
            total += 2 * spatial * layer.params["W"].size
    return total


# --- the contestants (each runs inside a worker process) ---------------------------------


def random_data(n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, n)


def time_tinynet(model, x, y, batch_size, steps):
    from tinynet.losses import SoftmaxCrossEntropy
    from tinynet.optimizers import Adam

    loss, optimizer = SoftmaxCrossEntropy(), Adam(1e-3)
    params, grads = model.parameters()

    def step(i):
        batch = slice(i * batch_size, (i + 1) * batch_size)
        loss.forward(model.forward(x[batch], training=True), y[batch])
        model.backward(loss.backward(), grad_input=False)
        optimizer.step(params, grads)

    return run_steps(step, steps)


def time_numpy_loop(model, x, y, batch_size, steps):
    """A minimal NumPy MLP: x @ W + b, ReLU, softmax cross-entropy, Adam; nothing else."""
    params = [p.copy() for p in model.parameters()[0]]  # W1, b1, W2, b2, ...: tinynet's start
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    flat = x.reshape(len(x), -1)

    def step(i):
        batch = slice(i * batch_size, (i + 1) * batch_size)
        h, labels = flat[batch], y[batch]
        activations = [h]
        for k in range(0, len(params), 2):
            h = h @ params[k] + params[k + 1]
            if k + 2 < len(params):
                h = np.maximum(h, 0)
            activations.append(h)
        p = np.exp(h - h.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(labels)), labels] -= 1
        g = p / len(labels)
        grads = [None] * len(params)
        for k in range(len(params) - 2, -1, -2):
            a = activations[k // 2]
            grads[k], grads[k + 1] = a.T @ g, g.sum(axis=0)
            if k:
                g = (g @ params[k].T) * (a > 0)
        t = i + 1
        alpha = 1e-3 * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        for p_, g_, m_, v_ in zip(params, grads, m, v, strict=True):
            m_ += 0.1 * (g_ - m_)
            v_ += 0.001 * (g_ * g_ - v_)
            p_ -= alpha * m_ / (np.sqrt(v_) + 1e-7)

    return run_steps(step, steps)


def torch_model(model):
    """The same architecture in PyTorch (NCHW; "same" 3x3 convolutions pad 1)."""
    import torch

    layers = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            layers.append(
                torch.nn.Conv2d(
                    layer.input_shape[-1],
                    layer.filters,
                    layer.kernel_size,
                    padding=layer.kernel_size[0] // 2,
                )
            )
        elif kind == "Dense":
            layers.append(torch.nn.Linear(*layer.params["W"].shape))
        elif kind == "MaxPool2D":
            layers.append(torch.nn.MaxPool2d(layer.pool_size, layer.stride))
        elif kind == "Dropout":
            layers.append(torch.nn.Dropout(layer.rate))
        else:
            layers.append({"ReLU": torch.nn.ReLU, "Flatten": torch.nn.Flatten}[kind]())
    return torch.nn.Sequential(*layers)


def time_pytorch(model, x, y, batch_size, steps):
    import torch

    torch.manual_seed(0)
    net = torch_model(model)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    labels = torch.from_numpy(y)

    def step(i):
        batch = slice(i * batch_size, (i + 1) * batch_size)
        optimizer.zero_grad()
        loss_fn(net(images[batch]), labels[batch]).backward()
        optimizer.step()

    return run_steps(step, steps)


def time_sklearn(model, x, y, batch_size, steps):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    hidden = [layer.params["W"].shape[1] for layer in model.layers if "W" in layer.params][:-1]
    n = steps * batch_size
    flat = x[:n].reshape(n, -1)
    classifier = MLPClassifier(
        hidden,
        solver="adam",
        batch_size=batch_size,
        max_iter=1,
        alpha=0.0,
        epsilon=1e-7,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(flat[: 10 * batch_size], y[: 10 * batch_size])  # warm-up
        start = time.perf_counter()
        classifier.fit(flat, y[:n])
    return (time.perf_counter() - start) / steps


def run_steps(step, steps):
    for i in range(WARMUP_STEPS):
        step(i)
    start = time.perf_counter()
    for i in range(steps):
        step(WARMUP_STEPS + i)
    return (time.perf_counter() - start) / steps


def time_kernels(quick: bool) -> dict[str, dict[str, float]]:
    """Seconds per call of each kernel, Numba and NumPy reference, on cnn/dcnn shapes."""
    from tinynet.kernels import numba_kernels, reference

    rng = np.random.default_rng(0)

    def image(h, c):
        return rng.random((32, h, h, c), dtype=np.float32)

    def cols(h, c):
        return rng.random((32 * h * h, 9 * c), dtype=np.float32)

    pooled = reference.maxpool_forward(image(28, 64), 2, 2, 2, 14, 14)
    relu_out, flat = image(28, 64), rng.random(784 * 400, dtype=np.float32)
    same3x3 = (3, 3, 1, 1, 1)
    def im2col_case(h, c):  # into a reused buffer, as Conv2D calls it
        return "im2col", (image(h, c), *same3x3, h, h), {"out": cols(h, c)}

    cases = {  # name: (kernel, arguments[, keyword arguments])
        "im2col 32x28x28x1": im2col_case(28, 1),
        "im2col 32x14x14x64": im2col_case(14, 64),
        "im2col 32x28x28x64": im2col_case(28, 64),
        "col2im 32x14x14x64": ("col2im", (cols(14, 64), (32, 14, 14, 64), *same3x3, 14, 14)),
        "col2im 32x28x28x64": ("col2im", (cols(28, 64), (32, 28, 28, 64), *same3x3, 28, 28)),
        "maxpool_forward 32x28x28x64": ("maxpool_forward", (image(28, 64), 2, 2, 2, 14, 14)),
        "maxpool_backward 32x28x28x64": (
            "maxpool_backward", (*pooled, (32, 28, 28, 64), 2, 2, 2)),
        "relu_forward 32x28x28x64": ("relu_forward", (image(28, 64),)),
        "relu_backward 32x28x28x64": ("relu_backward", (image(28, 64), relu_out)),
        "adam_update 784x400": ("adam_update", (flat.copy(), flat, flat * 0, flat * 0 + 1,
                                                *np.float32([1e-3, 0.9, 0.999, 1e-7]))),
    }  # fmt: skip
    calls = 5 if quick else 30
    results = {}
    for name, (kernel, arguments, *keywords) in cases.items():
        results[name] = {}
        for backend, module in (("numba", numba_kernels), ("numpy", reference)):
            call = functools.partial(getattr(module, kernel), *arguments, **dict(*keywords))
            call()  # compile / warm up
            results[name][backend] = statistics.median(_timed(call) for _ in range(calls))
    return results


TIMERS = {
    "tinynet": time_tinynet,
    "tinynet-numpy": time_tinynet,
    "numpy-loop": time_numpy_loop,
    "pytorch": time_pytorch,
    "sklearn": time_sklearn,
}


def worker(contestant: str, rows: list[tuple[str, int]], quick: bool) -> dict:
    """Measure seconds per step of every row for one contestant (in this process)."""
    from experiments import zoo

    if contestant == "kernels":
        return time_kernels(quick)
    results = {}
    for name, batch_size in rows:
        model = zoo.build(name, (28, 28, 1), 10, seed=0)
        if contestant in ("numpy-loop", "sklearn") and not is_mlp(model):
            continue
        steps = STEPS.get(name, MLP_STEPS) // (4 if quick else 1)
        x, y = random_data((steps + WARMUP_STEPS) * batch_size)
        results[f"{name}/{batch_size}"] = TIMERS[contestant](model, x, y, batch_size, steps)
    return results


# --- the parent: run workers, summarise --------------------------------------------------


def available_contestants() -> list[str]:
    found = [c for c in CONTESTANTS if c != "pytorch"]
    try:
        import torch  # noqa: F401

        found.append("pytorch")
    except ImportError:
        print("PyTorch is not installed: its column is skipped (pip install torch==2.13.0)")
    return found


def run_worker(contestant, rows, quick) -> dict:
    env = dict(os.environ, TINYNET_KERNELS="numpy" if contestant == "tinynet-numpy" else "numba")
    spec = json.dumps({"contestant": contestant, "rows": rows, "quick": quick})
    done = subprocess.run(
        [sys.executable, "-m", "experiments.benchmark", "--worker", spec],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{contestant} worker failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def gemm_peak(size=2048, repeats=3) -> float:
    """float32 GEMM GFLOP/s of this machine, now (best of a few)."""
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def machine_info() -> dict:
    from threadpoolctl import threadpool_info

    blas = [
        {"api": p.get("internal_api"), "threads": p.get("num_threads"), "version": p.get("version")}
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    ]
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "blas": blas,
    }


def summarise(raw: dict[str, dict[str, list[float]]], rows, peak: float) -> list[dict]:
    from experiments import zoo

    table = []
    for name, batch_size, label in rows:
        key = f"{name}/{batch_size}"
        model = zoo.build(name, (28, 28, 1), 10, seed=0)
        steps_per_epoch = math.ceil(EPOCH_IMAGES / batch_size)
        epoch = {
            c: statistics.median(times[key]) * steps_per_epoch
            for c, times in raw.items()
            if times.get(key)
        }
        targets = MLP_TARGETS if is_mlp(model) else TARGETS.get((name, batch_size), {})
        flops = 3 * forward_flops(model) * EPOCH_IMAGES
        gflops = flops / epoch["tinynet"] / 1e9
        table.append(
            {
                "model": label,
                "zoo_name": name,
                "batch_size": batch_size,
                "epoch_seconds": epoch,
                "tinynet_gflops": gflops,
                "share_of_gemm_peak": gflops / peak,
                "ratios": {c: epoch["tinynet"] / t for c, t in epoch.items() if c != "tinynet"},
                "targets": {c: limit for c, limit in targets.items() if c in epoch},
            }
        )
    return table


def _verdict(ratio: float, limit: float) -> str:
    return f"{'met' if ratio <= limit else 'MISSED'} (≤ {limit:g})"


def markdown(table: list[dict], kernels: dict, info: dict, peak: float,
             contestants: list[str]) -> str:  # fmt: skip
    """The epoch-time table and the kernel table, with the targets judged."""
    others = [c for c in contestants if c != "tinynet"]
    head = (["model", "batch", "tinynet"] + others + [f"tinynet / {c}" for c in others]
            + ["GFLOP/s", "of peak"])  # fmt: skip
    lines = [
        f"Epoch time (50,000 images, Adam, float32), median of repetitions. "
        f"{info['date']}; {info['machine']}; load average {info['load_average']} before, "
        f"{info.get('load_average_after')} after; BLAS {info['blas']}; float32 GEMM peak "
        f"measured {peak:.0f} GFLOP/s. A ratio below 1 means tinynet is faster; 'met' / "
        f"'MISSED' judges it against the performance target.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in table:
        cells = [row["model"], str(row["batch_size"]), f"{row['epoch_seconds']['tinynet']:.2f} s"]
        cells += [
            f"{row['epoch_seconds'][c]:.2f} s" if c in row["epoch_seconds"] else "–" for c in others
        ]
        for c in others:
            ratio = row["ratios"].get(c)
            cell = "–" if ratio is None else f"{ratio:.2f}"
            if c in row["targets"]:
                cell += " " + _verdict(ratio, row["targets"][c])
            cells.append(cell)
        cells += [f"{row['tinynet_gflops']:.0f}", f"{row['share_of_gemm_peak']:.0%}"]
        lines.append("| " + " | ".join(cells) + " |")
    if kernels:
        lines += [
            "",
            f"Kernels on the shapes of cnn / dcnn at batch 32: median milliseconds per call; "
            f"target: Numba at least {KERNEL_TARGET:g} x faster than the NumPy reference.",
            "",
            "| kernel, input | Numba | NumPy reference | speed-up |",
            "|---|---|---|---|",
        ]
        for name, times in kernels.items():
            speedup = times["numpy"] / times["numba"]
            lines.append(
                f"| {name} | {times['numba'] * 1e3:.2f} ms | {times['numpy'] * 1e3:.2f} ms | "
                f"{speedup:.1f} x {'met' if speedup >= KERNEL_TARGET else 'MISSED'} |"
            )
    return "\n".join(lines) + "\n"


def bar_chart(table, contestants, path: Path) -> None:
    from experiments.plots import plt, save

    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(contestants)
    for k, contestant in enumerate(contestants):
        values = [row["epoch_seconds"].get(contestant, np.nan) for row in table]
        ax.bar(np.arange(len(table)) + k * width, values, width, label=contestant)
    ax.set_xticks(np.arange(len(table)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{r['model']}\nbatch {r['batch_size']}" for r in table], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch (log scale)")
    ax.set_title("One training epoch, 50,000 MNIST-shaped images")
    ax.legend(fontsize=8)
    save(fig, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.benchmark", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="two rows, fewer steps, 1 repetition")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions (3)")
    parser.add_argument("--out", type=Path, default=Path("results/benchmark"))
    parser.add_argument("--readme", type=Path, help="also paste the tables into this file's "
                        "<!-- benchmark-table --> block")  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:  # inside a measuring process
        spec = json.loads(args.worker)
        print(json.dumps(worker(spec["contestant"], spec["rows"], spec["quick"])))
        return 0
    return run_main(lambda: benchmark(args))


def benchmark(args: argparse.Namespace) -> int:
    """Measure every contestant, interleaved; write the tables, JSON and chart."""
    from experiments.readme import read_with_block, replace_block
    from experiments.store import write_text

    prepare_out_dir(args.out)
    if args.readme:  # check before measuring for 20 minutes
        try:
            read_with_block(args.readme, "benchmark-table")
        except ValueError as error:
            raise UsageError(str(error)) from None
    rows = QUICK_ROWS if args.quick else ROWS
    repeats = 1 if args.quick else max(1, args.repeats)
    contestants = available_contestants()
    info = machine_info()
    raw = {c: {} for c in contestants}
    raw_kernels: dict[str, dict[str, list[float]]] = {}
    for repetition in range(repeats):
        for contestant in [*contestants, "kernels"]:
            print(f"repetition {repetition + 1}/{repeats}: {contestant} ...", flush=True)
            measured = run_worker(contestant, [r[:2] for r in rows], args.quick)
            for key, seconds in measured.items():
                if contestant == "kernels":
                    for backend, value in seconds.items():
                        raw_kernels.setdefault(key, {}).setdefault(backend, []).append(value)
                else:
                    raw[contestant].setdefault(key, []).append(seconds)
    peak = gemm_peak()
    info["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    table = summarise(raw, rows, peak)
    kernels = {name: {backend: statistics.median(values) for backend, values in times.items()}
               for name, times in raw_kernels.items()}  # fmt: skip
    text = markdown(table, kernels, info, peak, contestants)
    print(text)
    write_text(args.out / "benchmark.md", text)
    write_text(
        args.out / "benchmark.json",
        json.dumps(
            {"machine": info, "gemm_peak_gflops": peak, "rows": table, "kernels": kernels,
             "raw_seconds_per_step": raw, "raw_kernel_seconds": raw_kernels},
            indent=2,
        ),
    )  # fmt: skip
    bar_chart(table, contestants, args.out / "benchmark.png")
    print(f"wrote {args.out / 'benchmark.md'}, benchmark.json and benchmark.png")
    if args.readme:
        command = "python -m experiments.benchmark" + (" --quick" if args.quick else "")
        replace_block(args.readme, "benchmark-table", f"Generated by `{command}`:\n\n{text}")
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

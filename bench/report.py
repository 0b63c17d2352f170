"""The benchmark's results as tables: medians, ratios, verdicts, in Markdown (and a chart).

Every ``summarise_*`` turns the raw measurements (lists over repetitions) into the
medians and derived numbers that ``benchmark.json`` keeps; :func:`markdown` writes
them as GitHub tables with :mod:`tabulate`. A number judged against a target is
shown with as many decimals as it takes to sit on the same side of the target as
the unrounded value, so that ``4.97`` never shows as ``5.0 MISSED``.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

import numpy as np
from tabulate import tabulate

from bench import plan
from bench.worker import row_key

QUICK_NOTICE = (
    "**Quick run** (`--quick`): few steps, one repetition, few kernel calls. It shows that "
    "the command works; its numbers are not comparable with a full run's."
)


# --- numbers beside a target -------------------------------------------------------------


def _side(difference: float) -> int:
    return (difference > 0) - (difference < 0)


def shown(value: float, limit: float | None = None, decimals: int = 2) -> str:
    """``value`` with ``decimals`` decimals, or more if rounding would carry it across
    (or onto) ``limit``: ``shown(4.97, 5.0, 1) == "4.97"``."""
    for places in range(decimals, decimals + 10):
        text = f"{value:.{places}f}"
        if limit is None or _side(float(text) - limit) == _side(value - limit):
            return text
    return repr(value)


def at_most(value: float, limit: float, decimals: int = 2, unit: str = "") -> str:
    """``"0.83 MISSED (≤ 0.8)"``: ``value`` judged against an upper ``limit``."""
    verdict = "met" if value <= limit else "MISSED"
    return f"{shown(value, limit, decimals)}{unit} {verdict} (≤ {limit:g}{unit})"


def percent_at_least(share: float, limit: float) -> str:
    """``"59.6% MISSED (≥ 60%)"``: a share judged against a lower ``limit``."""
    verdict = "met" if share >= limit else "MISSED"
    return f"{shown(100 * share, 100 * limit, 0)}% {verdict} (≥ {100 * limit:g}%)"


# --- summaries ---------------------------------------------------------------------------


def summarise(raw: dict[str, dict[str, list[float]]], rows, peak: float) -> list[dict]:
    """One entry per row: epoch seconds per contestant, ratios, GFLOP/s, targets.

    ``raw[contestant][row key]`` lists seconds per step, one per repetition.
    """
    from bench.contestants import is_mlp
    from experiments import zoo

    table = []
    for name, batch_size, label in rows:
        key = row_key(name, batch_size)
        model = zoo.build(name, (28, 28, 1), 10, seed=0)
        steps_per_epoch = math.ceil(plan.EPOCH_IMAGES / batch_size)
        epoch = {
            c: statistics.median(times[key]) * steps_per_epoch
            for c, times in raw.items()
            if times.get(key)
        }
        if is_mlp(model):
            targets = plan.MLP_TARGETS
        else:
            targets = plan.CNN_TARGETS.get((name, batch_size), {})
        gflops = 3 * model.forward_flops * plan.EPOCH_IMAGES / epoch["tinynet"] / 1e9
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


def summarise_kernels(raw: dict[str, dict[str, list[float]]]) -> dict[str, dict]:
    """Median seconds of each kernel, its reference and the copy; bandwidths and share.

    ``raw[case name]`` holds lists over repetitions of ``numba``, ``numpy``, ``copy``
    (seconds per call) and ``bytes`` (bytes moved per call).
    """
    kernels = {}
    for name, times in raw.items():
        median = {what: statistics.median(values) for what, values in times.items()}
        kernels[name] = {
            **median,
            "numba_gb_per_s": median["bytes"] / median["numba"] / 1e9,
            "copy_gb_per_s": median["bytes"] / median["copy"] / 1e9,
            "share_of_copy": median["copy"] / median["numba"],
        }
    return kernels


def summarise_profiles(raw: dict[str, list[dict]], peak: float) -> dict[str, dict]:
    """Per profiled row: each layer's median forward / backward ms over repetitions, the
    conv layers' GFLOP/s and share of the GEMM ``peak``, the step and the peak memory."""

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    profiles = {}
    for key, runs in raw.items():
        name, batch_size = key.split("/")
        layers = []
        for i, layer in enumerate(runs[0]["layers"]):
            forward = median(run["layers"][i]["forward_ms"] for run in runs)
            backward = median(run["layers"][i]["backward_ms"] for run in runs)
            flops = layer["forward_flops"] + layer["backward_flops"]
            gflops = flops / ((forward + (backward or 0)) * 1e-3) / 1e9 if flops else None
            layers.append({
                **{k: layer[k] for k in ("name", "kind", "output_shape")},
                "forward_ms": forward, "backward_ms": backward, "gflops": gflops,
                "share_of_gemm_peak": gflops / peak if gflops else None,
            })  # fmt: skip
        profiles[key] = {
            "model": name,
            "batch_size": int(batch_size),
            "layers": layers,
            "step_ms": median(run["step_ms"] for run in runs),
            "peak_memory_mib": median(run["peak_memory_mib"] for run in runs),
            "memory_target_mib": plan.MEMORY_TARGETS_MIB.get((name, int(batch_size))),
        }
    return profiles


# --- Markdown ----------------------------------------------------------------------------


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A GitHub Markdown table of already formatted cells."""
    return tabulate(rows, headers, tablefmt="github", disable_numparse=True)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def epoch_table(rows: list[dict], contestants: list[str]) -> str:
    others = [c for c in contestants if c != "tinynet"]
    headers = (["model", "batch", "tinynet", *others, *[f"tinynet / {c}" for c in others],
                "GFLOP/s", "of peak"])  # fmt: skip
    cells = []
    for row in rows:
        epoch, line = row["epoch_seconds"], [row["model"], str(row["batch_size"])]
        line += [f"{epoch[c]:.2f} s" if c in epoch else "–" for c in contestants]
        for c in others:
            ratio, limit = row["ratios"].get(c), row["targets"].get(c)
            if ratio is None:
                line.append("–")
            else:
                line.append(at_most(ratio, limit) if limit else f"{ratio:.2f}")
        line += [f"{row['tinynet_gflops']:.0f}", f"{row['share_of_gemm_peak']:.0%}"]
        cells.append(line)
    return table(cells, headers)


def kernel_table(kernels: dict[str, dict]) -> str:
    headers = ["kernel, input", "Numba", "NumPy reference", "bytes moved", "Numba GB/s",
               "copy GB/s", "Numba / copy"]  # fmt: skip
    cells = [
        [name, f"{k['numba'] * 1e3:.3f} ms", f"{k['numpy'] * 1e3:.3f} ms",
         f"{k['bytes'] / 1e6:.2f} MB", f"{k['numba_gb_per_s']:.1f}", f"{k['copy_gb_per_s']:.1f}",
         percent_at_least(k["share_of_copy"], plan.BANDWIDTH_TARGET)]
        for name, k in kernels.items()
    ]  # fmt: skip
    return table(cells, headers)


def profile_table(profiles: list[dict]) -> str:
    """One model's layers (rows) at each profiled batch size (column groups)."""
    headers = ["layer", "output"]
    for p in profiles:
        b = p["batch_size"]
        headers += [f"fwd ms ({b})", f"bwd ms ({b})", f"GFLOP/s ({b})", f"of peak ({b})"]
    cells = []
    for i, layer in enumerate(profiles[0]["layers"]):
        line = [layer["name"], "x".join(map(str, layer["output_shape"]))]
        for p in profiles:
            entry = p["layers"][i]
            gflops, share = entry["gflops"], entry["share_of_gemm_peak"]
            line += [_ms(entry["forward_ms"]), _ms(entry["backward_ms"]),
                     "" if gflops is None else f"{gflops:.0f}",
                     "" if share is None else f"{share:.0%}"]  # fmt: skip
        cells.append(line)
    rest, step = ["loss, Adam, the rest", ""], ["whole step", ""]
    for p in profiles:
        layers_ms = sum((e["forward_ms"] or 0) + (e["backward_ms"] or 0) for e in p["layers"])
        rest += [_ms(p["step_ms"] - layers_ms), "", "", ""]
        step += [_ms(p["step_ms"]), "", "", ""]
    return table([*cells, rest, step], headers)


def memory_table(profiles: dict[str, dict]) -> str:
    cells = []
    for p in profiles.values():
        peak, limit = p["peak_memory_mib"], p["memory_target_mib"]
        cells.append([p["model"], str(p["batch_size"]),
                      at_most(peak, limit, 0, " MiB") if limit else f"{peak:.0f} MiB"])  # fmt: skip
    return table(cells, ["model", "batch", "peak memory of the training process"])


def markdown(rows: list[dict], kernels: dict, profiles: dict, info: dict, peak: float,
             contestants: list[str], quick: bool = False) -> str:  # fmt: skip
    """Every table, captioned, with the targets judged."""
    parts = [QUICK_NOTICE] if quick else []
    if rows:
        parts += [
            f"Epoch time (50,000 images, Adam, float32), median of repetitions. "
            f"{info['date']}; {info['machine']}; load average {info['load_average']} before, "
            f"{info.get('load_average_after')} after; BLAS {info['blas']}; float32 GEMM peak "
            f"measured {peak:.0f} GFLOP/s. A ratio below 1 means tinynet is faster; 'met' / "
            f"'MISSED' judges it against the performance target.",
            epoch_table(rows, contestants),
        ]
    if kernels:
        parts += [
            f"Kernels on the shapes of cnn / dcnn at batch 32: median time per call. Bytes "
            f"moved = what the kernel must read and write; Numba GB/s = bytes moved / time; "
            f"copy GB/s = a NumPy copy of as many bytes, timed beside it. Target: at least "
            f"{plan.BANDWIDTH_TARGET:.0%} of the copy's bandwidth.",
            kernel_table(kernels),
        ]
    by_model: dict[str, list[dict]] = {}
    for profile in profiles.values():
        by_model.setdefault(profile["model"], []).append(profile)
    for model, model_profiles in by_model.items():
        parts += [
            f"Where a {model} training step spends its time: median ms of each layer's forward "
            f"and backward; a conv or dense layer's GFLOP/s counts the flops of its forward "
            f"and backward as direct products (im2col's), beside the measured GEMM peak "
            f"({peak:.0f} GFLOP/s). A convolution on Winograd's F(4x4, 3x3) does 4x fewer "
            f"multiplications, so its share can pass 100%.",
            profile_table(model_profiles),
        ]
    if profiles:
        parts += ["Peak memory (resident set: `VmHWM`, or `getrusage` off Linux) of a process "
                  "that trains one model at one batch size.", memory_table(profiles)]  # fmt: skip
    return "\n\n".join(parts) + "\n"


def bar_chart(rows: list[dict], contestants: list[str], path: Path) -> None:
    """Seconds per epoch of each row and contestant, log scale, written to ``path``."""
    from experiments.plots import plt, save

    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(contestants)
    for k, contestant in enumerate(contestants):
        values = [row["epoch_seconds"].get(contestant, np.nan) for row in rows]
        ax.bar(np.arange(len(rows)) + k * width, values, width, label=contestant)
    ax.set_xticks(np.arange(len(rows)) + 0.4 - width / 2)
    ax.set_xticklabels([f"{r['model']}\nbatch {r['batch_size']}" for r in rows], fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("seconds per epoch (log scale)")
    ax.set_title("One training epoch, 50,000 MNIST-shaped images")
    ax.legend(fontsize=8)
    save(fig, path)

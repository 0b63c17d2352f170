"""``python -m bench``: its arithmetic, tables and verdicts on made-up timings, its
options and errors with a fake worker, and the pieces that measure, on tiny cases."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench import cli, report, timing, worker
from bench.kernel_cases import kernel_cases
from bench.layer_profile import profile_training
from bench.worker import run_in_new_process

INFO = {"date": "today", "machine": "test", "load_average": [0.0], "blas": []}


def cells(markdown: str, first: str) -> list[str]:
    """The cells of the table row whose first cell is ``first``."""
    for line in markdown.splitlines():
        row = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if row[0] == first:
            return row
    raise AssertionError(f"no row {first!r} in:\n{markdown}")


# --- numbers beside a target -------------------------------------------------------------


def test_a_number_near_its_target_keeps_the_digits_that_decide_it():
    assert report.shown(4.97, 5.0, 1) == "4.97"  # not "5.0", which would read as met
    assert report.shown(4.9999, 5.0, 1) == "4.9999"
    assert report.shown(4.2, 5.0, 1) == "4.2"
    assert report.shown(5.0, 5.0, 1) == "5.0"
    assert report.at_most(0.8004, 0.8) == "0.8004 MISSED (≤ 0.8)"
    assert report.at_most(0.8, 0.8) == "0.80 met (≤ 0.8)"
    assert report.at_most(612.4, 600, 0, " MiB") == "612 MiB MISSED (≤ 600 MiB)"
    assert report.percent_at_least(0.5996, 0.6) == "59.96% MISSED (≥ 60%)"
    assert report.percent_at_least(0.6049, 0.6) == "60.5% met (≥ 60%)"  # not "60%"
    assert report.percent_at_least(0.62, 0.6) == "62% met (≥ 60%)"


# --- summaries and tables, on made-up timings --------------------------------------------


def test_ratios_and_targets_are_judged():
    steps = {"tinynet": 1.0e-3, "pytorch": 2.0e-3, "numpy-loop": 0.9e-3}
    raw = {contestant: {"1x300/32": [seconds] * 3} for contestant, seconds in steps.items()}
    [row] = report.summarise(raw, [("1x300", 32, "784-300-10")], peak=100.0)
    assert row["epoch_seconds"]["tinynet"] == pytest.approx(1.0e-3 * 1563)  # ceil(50000 / 32)
    assert row["ratios"] == pytest.approx({"pytorch": 0.5, "numpy-loop": 1 / 0.9})
    assert row["targets"] == {"pytorch": 0.6, "numpy-loop": 1.05}

    text = report.markdown([row], {}, {}, INFO, 100.0, list(steps))
    assert cells(text, "784-300-10") == [
        "784-300-10", "32", "1.56 s", "3.13 s", "1.41 s", "0.50 met (≤ 0.6)",
        "1.11 MISSED (≤ 1.05)", "46", "46%",  # 3 x 2 x 238,200 x 50,000 flops in 1.56 s
    ]  # fmt: skip
    assert "Quick run" not in text


def test_cnn_rows_have_only_the_pytorch_target():
    raw = {"tinynet": {"dcnn/32": [0.1]}, "pytorch": {"dcnn/32": [0.1]},
           "tinynet-numpy": {"dcnn/32": [0.2]}}  # fmt: skip
    [row] = report.summarise(raw, [("dcnn", 32, "dcnn")], peak=100.0)
    assert row["targets"] == {"pytorch": 0.9}


def test_kernel_bandwidth_is_bytes_over_time_beside_a_copy():
    raw = {"relu_forward 32x400": {"numba": [0.6, 0.5, 0.4], "numpy": [1.0, 1.0, 1.0],
                                   "copy": [0.3, 0.25, 0.2], "bytes": [1e9] * 3}}  # fmt: skip
    kernels = report.summarise_kernels(raw)
    entry = kernels["relu_forward 32x400"]
    assert entry["numba_gb_per_s"] == pytest.approx(2.0)  # 1 GB in the median 0.5 s
    assert entry["copy_gb_per_s"] == pytest.approx(4.0)
    assert entry["share_of_copy"] == pytest.approx(0.5)
    text = report.markdown([], kernels, {}, INFO, 100.0, ["tinynet"])
    assert cells(text, "relu_forward 32x400") == [
        "relu_forward 32x400", "500.000 ms", "1000.000 ms", "1000.00 MB", "2.0", "4.0",
        "50% MISSED (≥ 60%)",
    ]  # fmt: skip


def _profile(forward_ms, backward_ms, step_ms, memory):
    conv = {"name": "conv2d_1", "kind": "Conv2D", "output_shape": [28, 28, 64],
            "forward_ms": forward_ms, "backward_ms": backward_ms,
            "forward_flops": 2e9, "backward_flops": 4e9}  # fmt: skip
    relu = {"name": "relu_1", "kind": "ReLU", "output_shape": [28, 28, 64], "forward_ms": 1.0,
            "backward_ms": 2.0, "forward_flops": 0, "backward_flops": 0}  # fmt: skip
    return {"layers": [conv, relu], "step_ms": step_ms, "peak_memory_mib": memory}


def test_the_profile_table_shows_medians_gflops_and_memory_against_its_target():
    raw = {"dcnn/128": [_profile(10.0, 20.0, 40.0, 700.0), _profile(30.0, 30.0, 90.0, 500.0),
                        _profile(20.0, 40.0, 70.0, 612.4)]}  # fmt: skip
    [profile] = report.summarise_profiles(raw, peak=400.0).values()
    conv = profile["layers"][0]
    assert (conv["forward_ms"], conv["backward_ms"]) == (20.0, 30.0)  # medians
    assert conv["gflops"] == pytest.approx(6e9 / 50e-3 / 1e9)  # 120 GFLOP/s
    assert conv["share_of_gemm_peak"] == pytest.approx(0.3)
    assert profile["layers"][1]["gflops"] is None
    assert (profile["step_ms"], profile["peak_memory_mib"]) == (70.0, 612.4)
    assert profile["memory_target_mib"] == 600

    text = report.markdown([], {}, {"dcnn/128": profile}, INFO, 400.0, ["tinynet"])
    assert cells(text, "conv2d_1") == ["conv2d_1", "28x28x64", "20.00", "30.00", "120", "30%"]
    assert cells(text, "loss, Adam, the rest")[2] == "17.00"  # 70 - (20 + 30 + 1 + 2)
    assert cells(text, "dcnn") == ["dcnn", "128", "612 MiB MISSED (≤ 600 MiB)"]


# --- the measuring pieces, on tiny cases -------------------------------------------------


def test_interleaved_medians_take_turns_and_the_middle_value(monkeypatch):
    order = []

    def fake(name, durations):
        durations = iter(durations)
        return lambda: order.append(name) or next(durations)

    monkeypatch.setattr(timing, "seconds", lambda call: call())  # the fake "time" is the result
    calls = {"a": fake("a", [99, 3, 1, 2]), "b": fake("b", [99, 5, 6, 4])}
    assert timing.interleaved_medians(calls, repeats=3) == {"a": 2, "b": 5}
    assert order == ["a", "b"] + ["a", "b"] * 3  # warm-up, then in turns


def test_copy_of_moves_the_bytes_it_is_asked_to():
    copy = timing.copy_of(8_000)
    copy()
    target, source = copy.args
    assert source.nbytes + target.nbytes == 8_000
    assert np.array_equal(source, target)


def test_timed_kernel_cases_feed_the_kernel_table():
    [case] = [case for case in kernel_cases((2,)) if case.name == "relu_forward 2x28x28x64"]
    [(name, measured)] = timing.time_kernel_cases([case], calls=2).items()
    assert name == case.name and measured["bytes"] == case.bytes_moved == 2 * 4 * 2 * 784 * 64
    [entry] = report.summarise_kernels({name: {k: [v] for k, v in measured.items()}}).values()
    assert entry["share_of_copy"] == pytest.approx(measured["copy"] / measured["numba"])


def test_each_kernel_case_agrees_with_its_reference_and_counts_its_bytes():
    cases = {case.name: case for case in kernel_cases((2,))}
    assert {name.split()[0] for name in cases} == {
        "im2col", "col2im", "maxpool_forward", "maxpool_backward",
        "relu_forward", "relu_backward", "adam_update", "softmax_cross_entropy",
        "winograd_input_tiles", "winograd_output_tiles",  # every conv but the first
    }  # fmt: skip
    assert "col2im 2x28x28x1" not in cases  # training never needs the first layer's
    # im2col of 2 28x28x1 images reads them (2*784 floats) and writes 2*784 rows of 9
    assert cases["im2col 2x28x28x1"].bytes_moved == 4 * (2 * 784 + 2 * 784 * 9)
    # max-pool forward reads 2x28x28x64, writes 2x14x14x64 maxima and as many int32 argmax
    assert cases["maxpool_forward 2x28x28x64"].bytes_moved == 4 * 2 * 64 * (784 + 2 * 196)
    # Adam reads param, grad, m, v and writes param, m, v: the largest is Dense(1568 -> 400)
    assert cases["adam_update 1568x400"].bytes_moved == 7 * 4 * 1568 * 400
    # the loss reads 2x10 logits and 2 int64 labels, and writes 2x10 probabilities
    assert cases["softmax_cross_entropy 2x10"].bytes_moved == 2 * 4 * 2 * 10 + 8 * 2
    # Winograd's input transform reads 2x28x28x64 and writes 36 numbers per channel of
    # each of 2x7x7 tiles; the output transform the other way round
    tiles_bytes = 4 * 36 * 2 * 49 * 64
    assert cases["winograd_input_tiles 2x28x28x64"].bytes_moved == 4 * 2 * 784 * 64 + tiles_bytes
    assert cases["winograd_output_tiles 36x98x64"].bytes_moved == tiles_bytes + 4 * 2 * 784 * 64
    for case in cases.values():
        fast_args, fast_kwargs = case.arguments()
        reference_args, reference_kwargs = case.arguments()
        fast = outputs(case.fast(*fast_args, **fast_kwargs), fast_args)
        expected = outputs(case.reference(*reference_args, **reference_kwargs), reference_args)
        for got, want in zip(fast, expected, strict=True):
            # Winograd's transforms add numbers of every size, in another order than the
            # reference's einsum: absolute error relative to the largest number
            scale = np.abs(want).max() if case.name.startswith("winograd") else 1.0
            atol = 1e-6 * max(1.0, float(scale))
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol, err_msg=case.name)


def outputs(result, args) -> list:
    """A kernel's output arrays; for Adam, which returns None, the arrays it updates."""
    if result is None:
        return list(args[:4])  # param, grad, m, v
    return list(result) if isinstance(result, tuple) else [result]


def test_the_profile_times_every_layer_inside_its_step():
    profile = profile_training("cnn", batch_size=2, steps=2)
    names = [layer["name"] for layer in profile["layers"]]
    assert names[:3] == ["conv2d_1", "relu_1", "maxpool2d_1"] and len(names) == 11
    conv_1, conv_2 = profile["layers"][0], profile["layers"][3]
    assert conv_1["forward_flops"] == 2 * 2 * 28 * 28 * 9 * 1 * 64  # batch 2
    assert conv_1["backward_flops"] == conv_1["forward_flops"]  # no input gradient
    assert conv_2["backward_flops"] == 2 * conv_2["forward_flops"]
    layers_ms = sum(layer["forward_ms"] + layer["backward_ms"] for layer in profile["layers"])
    assert 0 < layers_ms < profile["step_ms"]
    assert 30 < profile["peak_memory_mib"] < 4096  # MiB, not KiB or bytes


def test_a_worker_process_returns_its_measurements():
    job = {"job": "train", "contestant": "numpy-loop", "rows": [["1x100", 32], ["cnn", 32]],
           "quick": True, "steps": 2}  # fmt: skip
    result = run_in_new_process(job)
    assert list(result) == ["1x100/32"]  # the NumPy loop only trains MLPs
    assert result["1x100/32"] > 0


def test_pytorch_is_timed_with_malloc_as_its_users_have_it_and_as_tinynet_sets_it(monkeypatch):
    monkeypatch.delenv("TINYNET_KEEP_FREED_MEMORY", raising=False)
    environments = {}

    def fake_run(command, env, **kwargs):
        environments[json.loads(command[-1])["contestant"]] = env
        return subprocess.CompletedProcess(command, 0, '{"cnn/32": 0.01}\n', "")

    monkeypatch.setattr(worker.subprocess, "run", fake_run)
    for contestant in ("pytorch", "pytorch-kept-memory", "tinynet"):
        run_in_new_process({"job": "train", "contestant": contestant, "rows": [["cnn", 32]],
                            "quick": True})  # fmt: skip
    assert environments["pytorch"]["TINYNET_KEEP_FREED_MEMORY"] == "0"
    assert "TINYNET_KEEP_FREED_MEMORY" not in environments["pytorch-kept-memory"]
    assert "TINYNET_KEEP_FREED_MEMORY" not in environments["tinynet"]


# --- the command, with a fake worker -----------------------------------------------------


def fake_worker(jobs):
    """A stand-in for the worker process: made-up results, and a log of the jobs."""

    def run(job):
        jobs.append(job)
        if job["job"] == "train":
            return {f"{name}/{batch}": 0.01 for name, batch in job["rows"]}
        if job["job"] == "kernels":
            return {"relu_forward 32x400": {"numba": 1e-4, "numpy": 2e-4, "copy": 5e-5,
                                            "bytes": 1e5}}  # fmt: skip
        return _profile(1.0, 2.0, 5.0, 321.0)

    return run


def test_quick_models_run_says_it_is_quick_and_pastes_every_table(tmp_path, monkeypatch, capsys):
    jobs = []
    monkeypatch.setattr(cli, "run_in_new_process", fake_worker(jobs))
    monkeypatch.setattr(cli, "available_contestants", lambda: ["tinynet", "sklearn", "pytorch"])
    monkeypatch.setattr(timing, "gemm_peak", lambda: 100.0)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\n<!-- benchmark-table -->\nold\n<!-- /benchmark-table -->\n\nend\n")
    out = tmp_path / "out"
    options = ["--quick", "--models", "dcnn", "--out", str(out), "--readme", str(readme)]
    assert cli.main(options) == 0

    assert [job["job"] for job in jobs] == ["train", "train", "kernels", "profile", "profile"]
    assert [job["contestant"] for job in jobs[:2]] == ["tinynet", "pytorch"]  # no MLP: no sklearn
    assert jobs[0]["rows"] == [["dcnn", 32], ["dcnn", 128]] and jobs[0]["quick"]
    assert [job["row"] for job in jobs[3:]] == [["dcnn", 32], ["dcnn", 128]]
    printed = capsys.readouterr().out
    assert printed.startswith("Quick run (`--quick`)") and printed.count("not comparable") >= 2
    table = (out / "benchmark.md").read_text()
    assert table.startswith("**Quick run** (`--quick`)")
    pasted = readme.read_text()
    assert "Generated by `python -m bench --quick --models dcnn`" in pasted
    assert "old" not in pasted and pasted.endswith("<!-- /benchmark-table -->\n\nend\n")
    assert table.strip() in pasted
    for first in ("dcnn", "relu_forward 32x400", "conv2d_1"):
        cells(pasted, first)
    assert cells(pasted, "dcnn")[:2] == ["dcnn", "32"]
    assert "600 MiB" in pasted  # dcnn at batch 128 judged against its memory target
    saved = json.loads((out / "benchmark.json").read_text())
    assert saved["quick"] and set(saved["profiles"]) == {"dcnn/32", "dcnn/128"}
    assert (out / "benchmark.png").stat().st_size > 0


def test_models_and_batch_sizes_choose_rows():
    args = cli.build_parser().parse_args(["--models", "dcnn", "1x300", "--batch-sizes", "128"])
    assert cli.choose_rows(args) == [("1x300", 128, "784-300-10"), ("dcnn", 128, "dcnn")]
    assert cli.choose_rows(cli.build_parser().parse_args(["--quick"])) == [
        ("1x300", 32, "784-300-10"), ("cnn", 32, "cnn")]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--models", "resnet"], "error: unknown model 'resnet'; choose from 1x100, 1x300, "),
        (["--batch-sizes", "64"], "error: no row has batch size 64; choose from 32, 128"),
        (["--models", "dnn", "--batch-sizes", "128"], "error: no row has model dnn at batch"),
        (["--repeats", "0"], "error: --repeats must be at least 1, got 0"),
        (["--fast"], "error: unrecognized arguments: --fast"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, monkeypatch, options, message):
    monkeypatch.setattr(cli, "run_in_new_process", fake_worker([]))
    assert cli.main([*options, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_a_readme_without_the_marker_is_refused_before_measuring(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no marker here\n")
    assert cli.main(["--out", str(tmp_path / "out"), "--readme", str(readme)]) == 2
    assert "has no '<!-- benchmark-table -->' line" in capsys.readouterr().err


def test_an_unwritable_out_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert cli.main(["--out", str(blocker / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write to {blocker / 'out'}")


def test_a_missing_readme_is_refused_in_one_line(tmp_path, capsys):
    missing = tmp_path / "README.md"
    assert cli.main(["--out", str(tmp_path / "out"), "--readme", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {missing}")


def test_a_workers_peak_memory_is_its_own_not_its_parents():
    # The parent's peak grows by 300 MB; a child started afterwards must not report it
    # (getrusage's ru_maxrss does: it keeps the parent's peak across the fork).
    ballast = np.ones(300 * 2**20 // 8)
    child = subprocess.run(
        [sys.executable, "-c", "from bench import timing; print(timing.peak_memory_mib())"],
        capture_output=True, text=True, check=True,
    )
    assert float(child.stdout) < timing.peak_memory_mib() - 200
    del ballast

"""``python -m experiments.benchmark``: its table and verdicts, on made-up timings."""

from __future__ import annotations

import pytest

from experiments import benchmark


def test_ratios_and_targets_are_judged():
    steps = {"tinynet": 1.0e-3, "pytorch": 2.0e-3, "numpy-loop": 0.9e-3}
    raw = {contestant: {"1x300/32": [seconds] * 3} for contestant, seconds in steps.items()}
    [row] = benchmark.summarise(raw, [("1x300", 32, "784-300-10")], peak=100.0)
    assert row["epoch_seconds"]["tinynet"] == pytest.approx(1.0e-3 * 1563)  # ceil(50000 / 32)
    assert row["ratios"] == pytest.approx({"pytorch": 0.5, "numpy-loop": 1 / 0.9})
    assert row["targets"] == {"pytorch": 0.8, "numpy-loop": 1.05}

    kernels = {"im2col 32x28x28x1": {"numba": 1e-3, "numpy": 4e-3},
               "maxpool_forward 32x28x28x64": {"numba": 1e-3, "numpy": 6e-3}}  # fmt: skip
    info = {"date": "today", "machine": "test", "load_average": [0.0], "blas": []}
    text = benchmark.markdown([row], kernels, info, 100.0, list(steps))
    assert "| 784-300-10 | 32 | 1.56 s | 3.13 s | 1.41 s | 0.50 met (≤ 0.8) | " in text
    assert "1.11 MISSED (≤ 1.05)" in text
    assert "| im2col 32x28x28x1 | 1.00 ms | 4.00 ms | 4.0 x MISSED |" in text
    assert "| maxpool_forward 32x28x28x64 | 1.00 ms | 6.00 ms | 6.0 x met |" in text


def test_cnn_rows_have_only_the_pytorch_target():
    raw = {"tinynet": {"dcnn/32": [0.1]}, "pytorch": {"dcnn/32": [0.1]},
           "tinynet-numpy": {"dcnn/32": [0.2]}}  # fmt: skip
    [row] = benchmark.summarise(raw, [("dcnn", 32, "dcnn")], peak=100.0)
    assert row["targets"] == {"pytorch": 1.0}


def test_kernel_worker_times_every_kernel_on_both_backends():
    times = benchmark.worker("kernels", [], quick=True)
    assert {name.split()[0] for name in times} == {
        "im2col", "col2im", "maxpool_forward", "maxpool_backward",
        "relu_forward", "relu_backward", "adam_update",
    }  # fmt: skip
    assert all(t["numba"] > 0 and t["numpy"] > 0 for t in times.values())


def test_a_readme_without_the_marker_is_refused_before_measuring(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# no marker here\n")
    assert benchmark.main(["--out", str(tmp_path / "out"), "--readme", str(readme)]) == 2
    assert "has no '<!-- benchmark-table -->' line" in capsys.readouterr().err


def test_an_unwritable_out_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert benchmark.main(["--out", str(blocker / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot write to {blocker / 'out'}")


def test_a_missing_readme_is_refused_in_one_line(tmp_path, capsys):
    missing = tmp_path / "README.md"
    assert benchmark.main(["--out", str(tmp_path / "out"), "--readme", str(missing)]) == 2
    assert capsys.readouterr().err.startswith(f"error: cannot read {missing}")

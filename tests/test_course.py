"""The course: every notebook runs top to bottom offline; the teaching pictures draw.

The notebooks (``docs/course/*.md``, MyST Markdown) are converted with jupytext and
executed with nbclient in a fresh kernel, with MNIST made unreachable (an empty
``TINYNET_DATA_DIR`` and cache, ``TINYNET_OFFLINE=1``), so they take the bundled-digits
path a student without MNIST or network would take, and with ``TINYNET_COURSE_QUICK=1``.
Executing them takes a minute or two, so it is marked slow and the CI runs it
explicitly; ``pytest -m slow`` also runs them once on real MNIST when it is present.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from tinynet import pictures
from tinynet.model import History

COURSE = Path(__file__).resolve().parents[1] / "docs" / "course"
NOTEBOOKS = sorted(COURSE.glob("[0-9][0-9]_*.md"))


def test_the_index_lists_every_notebook():
    index = (COURSE / "README.md").read_text()
    assert len(NOTEBOOKS) == 5
    for notebook in NOTEBOOKS:
        assert f"]({notebook.name})" in index, notebook.name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_a_jupytext_myst_notebook(notebook):
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(notebook)
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    assert len(code) >= 4 and code[0].startswith("%matplotlib inline")
    # Each notebook loads MNIST-or-digits first thing, or says why it needs no data.
    assert "coursedata.load(" in code[0] or "random images of MNIST's shape" in notebook.read_text()


def execute(notebook: Path, monkeypatch, env: dict[str, str]) -> str:
    """Run ``notebook`` in a fresh kernel with ``env``; return all its text output."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    repo = str(COURSE.parents[1])
    # The kernel must import this checkout's tinynet, whatever is installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("TINYNET_COURSE_QUICK", "1")
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")  # steady timing on a shared machine
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = jupytext.read(notebook)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(COURSE)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    texts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            texts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(texts)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_without_mnist(notebook, tmp_path, monkeypatch):
    empty = tmp_path / "no-mnist"
    empty.mkdir()
    env = {"TINYNET_OFFLINE": "1", "TINYNET_DATA_DIR": str(empty), "XDG_CACHE_HOME": str(empty)}
    output = execute(notebook, monkeypatch, env)
    if "coursedata.load(" in notebook.read_text():
        assert "using digits" in output


@pytest.mark.slow
def test_notebooks_use_mnist_when_present(mnist_dir, tmp_path, monkeypatch):
    env = {"TINYNET_OFFLINE": "1", "TINYNET_DATA_DIR": str(mnist_dir)}
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    output = execute(COURSE / "04_cnn.md", monkeypatch, env)
    assert "using mnist" in output and "28x28 images" in output


# --- the pictures ------------------------------------------------------------------------


def test_every_picture_is_a_figure(rng, tmp_path):
    history = History()
    for epoch, (acc, val) in enumerate([(0.5, 0.4), (0.7, 0.6)], start=1):
        history.append(epoch, {"accuracy": acc, "val_accuracy": val})
    figures = [
        pictures.image_grid(rng.random((3, 8, 8)), ["a", "b", "c"]),
        pictures.conv_filters(rng.standard_normal((3, 3, 2, 5))),
        pictures.feature_maps(rng.random((6, 6, 20)), image=rng.random((8, 8))),
        pictures.im2col_layout(rng.random((7, 9)), kernel_size=3, stride=2),
        pictures.maxpool_routing(rng.standard_normal((5, 6))),
        pictures.gradient_flow([{"dense_1.W": 0.1, "dense_2.W": 0.01}] * 3),
        pictures.accuracy_curves({"history": history, "dict": {"accuracy": [0.3, 0.5]}}),
    ]
    for figure in figures:
        assert isinstance(figure, Figure) and figure.axes
    pictures.save(figures[0], tmp_path / "grid.png")
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_feature_maps_draws_at_most_limit_channels(rng):
    figure = pictures.feature_maps(rng.random((4, 4, 20)), limit=6)
    assert sum(ax.has_data() for ax in figure.axes) == 6


def test_im2col_layout_shows_the_matrix_im2col_builds(rng):
    figure = pictures.im2col_layout(np.arange(25.0).reshape(5, 5), kernel_size=3)
    matrix = figure.axes[-1].images[0].get_array()
    assert matrix.shape == (9, 9)  # 3x3 output pixels, 3x3 patch
    np.testing.assert_array_equal(matrix[0], [0, 1, 2, 5, 6, 7, 10, 11, 12])


def test_maxpool_routing_sends_the_gradient_to_the_winners():
    x = np.array([[1.0, 5.0], [3.0, 2.0]])
    figure = pictures.maxpool_routing(x, pool_size=2)
    routed = figure.axes[2].images[0].get_array()
    np.testing.assert_array_equal(routed, [[0, 1], [0, 0]])


@pytest.mark.parametrize(
    "draw, message",
    [
        (lambda: pictures.image_grid([]), "non-empty"),
        (lambda: pictures.conv_filters(np.zeros((3, 3, 2))), r"\(KH, KW, C, F\)"),
        (lambda: pictures.feature_maps(np.zeros((1, 4, 4, 2))), "for one image"),
        (lambda: pictures.im2col_layout(np.zeros((2, 2)), kernel_size=3), "does not fit"),
        (lambda: pictures.gradient_flow([]), "records is empty"),
        (lambda: pictures.accuracy_curves({"m": {"loss": [1.0]}}), "has no 'accuracy'"),
    ],
)
def test_pictures_reject_bad_input(draw, message):
    with pytest.raises(ValueError, match=message):
        draw()

"""What a reproduced study is: the :class:`Study` that the runner, the report and the README read.

A study is one subclass of :class:`Study` in its own module of this package, with
one instance named ``STUDY``. It says what the shared machinery cannot guess:

- **who it is**: ``name`` (the command ``python -m experiments.<name>``, the default
  output folder and ``results.json["experiment"]``), ``title``, ``description``,
  and ``docs``, the page in this repository that cites the published study;
- **what it trains**: ``models`` (zoo names, in the report's order), the names
  ``--models`` accepts, and :meth:`Study.run`, the procedure including any
  decision made from the run's own results;
- **its protocol defaults**: ``epochs``, ``batch_size``, and ``datasets``, the data
  the published numbers are for;
- **its published numbers**: ``published`` (as the study printed them) and
  ``source``;
- **how it is reported**: the accuracy-figure groups, the results tables, the
  sections that only this study has, and the figures and lines pasted into the README.

Everything else (training, resuming, the generic report sections, the figures) is
shared. The report is drawn from ``results.json`` alone, so every method that
reports reads a ``results`` dict and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from experiments import data
from experiments.formatting import image

if TYPE_CHECKING:  # the runner calls the study; the study never imports the runner
    from experiments.runner import Run

#: What the ``--help`` of ``--models`` starts with.
MODELS_HELP = "the models to train (default: all): "


class Study:
    """One published study, reproduced with tinynet (see the module docstring).

    Attributes
    ----------
    name, title, description, docs, source : str
        Its command name, heading, ``--help`` paragraph, docs page and citation.
    models : tuple of str
        Every zoo model the study can train, in the order the report lists them.
    datasets : tuple of str
        The datasets the published numbers are for (``--dataset`` names), and
        ``datasets_title``, the same in words.
    epochs, batch_size : int
        The protocol's defaults (the seed's, 42, is the same for every study).
    published : dict
        The published numbers as the study printed them (strings; ``""``: not
        published), keyed as its tables need: by zoo name, or by the study's own
        model number.
    accuracy_groups : tuple of tuple of str
        Which models share an accuracy-per-epoch figure.
    readme_figures : tuple
        The figures pasted into the README: indices into the drawn accuracy figures,
        or ``"f1"`` for the F1 per class.
    """

    name: str
    title: str
    description: str
    docs: str
    source: str
    models: tuple[str, ...]
    datasets: tuple[str, ...] = ("mnist",)
    datasets_title: str = "MNIST"
    epochs: int = 20
    batch_size: int = 32
    published: dict[str, dict[str, str]]
    accuracy_groups: tuple[tuple[str, ...], ...] = ()
    readme_figures: tuple[int | str, ...] = ()

    # --- the command ----------------------------------------------------------------

    def command_models(self) -> list[str]:
        """The names ``--models`` accepts, in order (by default the zoo names)."""
        return list(self.models)

    def aliases(self) -> dict[str, str]:
        """Other spellings ``--models`` accepts, e.g. ``{"1": "1x100"}``."""
        return {}

    def models_help(self) -> str:
        """The ``--help`` text of ``--models``."""
        return MODELS_HELP + ", ".join(self.command_models())

    def run(self, run: Run, names: Sequence[str]) -> None:
        """Train ``names`` (from :meth:`command_models`) and make the study's decisions.

        ``run`` is the :class:`experiments.runner.Run` that owns the output folder.
        """
        run.train(names)

    # --- what the report needs ------------------------------------------------------

    def model_order(self, results: dict) -> list[str]:
        """The trained models, in the study's order."""
        return [name for name in self.models if name in results["models"]]

    def label(self, name: str) -> str:
        """How the report names model ``name``."""
        return name

    def comparable(self, results: dict) -> bool:
        """True if the run used the published protocol (data, full size, epochs, batch)."""
        protocol = results["protocol"]
        dataset = protocol["dataset"]
        return (
            dataset["name"] in self.datasets
            and not dataset["quick"]
            and protocol["epochs"] == self.epochs
            and protocol["batch_size"] == self.batch_size
        )

    def data_note(self, dataset: dict) -> str | None:
        """One line when a run's data is not the study's; None when it is.

        Says which data the run used, why (the reason MNIST could not be had, for a
        fallback) and how to get MNIST.
        """
        if dataset["name"] in self.datasets:
            return None
        if dataset.get("fallback"):
            why = f"MNIST is not available ({dataset['fallback']})"
        elif dataset.get("requested") == "auto":
            why = "MNIST is not available"
        else:
            why = f"--dataset {dataset.get('requested', dataset['name'])} was asked for"
        return (
            f"NOT THE STUDY'S DATA: this run used {data.describe(dataset, sizes=False)}, not "
            f"{self.datasets_title}: {why}; {data.HOW_TO_GET_MNIST}."
        )

    def results_tables(self, results: dict) -> str:
        """The results table(s), ours beside the published numbers (also printed)."""
        raise NotImplementedError

    def results_notes(self, results: dict) -> str:
        """What the columns of :meth:`results_tables` mean, and how the run was done."""
        return ""

    def decision_sections(self, results: dict, figures: dict) -> list[str]:
        """Report sections right after the results: the study's decisions, if any."""
        return []

    def example_models(self, results: dict) -> list[str]:
        """The models shown in the example-prediction figure."""
        return self.model_order(results)

    def evaluation_sections(self, results: dict, figures: dict) -> list[str]:
        """Report sections after the accuracy figures (default: the example prediction)."""
        if not figures["example"]:
            return []
        return ["## Example prediction on the first test image\n\n"
                + image("example prediction", figures["example"])]  # fmt: skip

    def observations(self) -> str | None:
        """What the published study observed, to set beside our own observations."""
        return None

    def readme_lines(self, results: dict) -> list[str]:
        """Paragraphs the README summary adds after the tables (the study's decisions)."""
        return []

    # --- replicates (several seeds) -------------------------------------------------

    #: The pairs of models the write-up ranks against each other, ``(a, b)``: the
    #: report tests ``a - b`` across seeds and on the same test images.
    compared_pairs: tuple[tuple[str, str], ...] = ()

    def published_accuracy(self, name: str) -> float | None:
        """The published test accuracy of model ``name`` as a fraction, None if none."""
        return None

    def factorial_cells(self, results: dict) -> tuple[tuple[str, str], dict] | None:
        """For a factorial study, ``((factor A, factor B), {(a, b): model name})``."""
        return None


def percent(text: str) -> float | None:
    """``"97.4%"`` as 0.974; None for anything else (e.g. ``"~92.7% (val)"``, ``""``)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)%", text.strip())
    return float(match.group(1)) / 100 if match else None


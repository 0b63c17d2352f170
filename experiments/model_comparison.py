"""Study B, the model comparison: ``python -m experiments.model_comparison``.

The study itself (models, decision, report) is :mod:`experiments.studies.model_comparison`;
``--help`` lists the options.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments import cli, runner
from experiments.studies.model_comparison import STUDY

PARSER = cli.build_parser(STUDY)


def main(argv: Sequence[str] | None = None) -> int:
    """Run study B with command-line arguments ``argv``; return the exit status."""
    return runner.main(STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main())

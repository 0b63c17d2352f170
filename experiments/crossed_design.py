"""Study A, the 2x2 crossed design: ``python -m experiments.crossed_design``.

The study itself (models, decision, report) is :mod:`experiments.studies.crossed_design`;
``--help`` lists the options.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments import cli, runner
from experiments.studies.crossed_design import STUDY

PARSER = cli.build_parser(STUDY)


def main(argv: Sequence[str] | None = None) -> int:
    """Run study A with command-line arguments ``argv``; return the exit status."""
    return runner.main(STUDY, argv)


if __name__ == "__main__":
    raise SystemExit(main())

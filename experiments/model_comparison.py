"""Study B, the model comparison: ``python -m experiments.model_comparison``.

Trains lm, nn, dnn, dnnd, cnn and dcnn exactly as the reference study did
(50,000/10,000 train/validation split with seed 42, Adam, batch 32, 20 epochs),
ranks them by validation loss and accuracy, gives the top 3 the full evaluation
(weighted precision and recall, confusion matrix, model summary, example
prediction), and writes ``results.json``, the figures and ``report.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments import cli, selection, zoo
from experiments.runner import Run

EXPERIMENT = "model_comparison"
MODEL_NAMES = list(zoo.MODEL_COMPARISON)

PARSER = cli.build_parser(
    EXPERIMENT,
    description=__doc__.split("\n\n")[1],
    models_help=f"the models to train (default: all): {', '.join(MODEL_NAMES)}",
)


def _run(argv: Sequence[str] | None) -> int:
    args = cli.parse_args(PARSER, argv)
    names = cli.resolve_models(args.models, MODEL_NAMES)
    run = Run(args)
    run.train(names)
    ranking = selection.top_models(run.models)
    run.results["selection"]["top3"] = ranking
    print(f"top 3 by validation loss and accuracy: {', '.join(ranking['top'])}")
    return run.finish()


def main(argv: Sequence[str] | None = None) -> int:
    """Run study B with command-line arguments ``argv``; return the exit status."""
    return cli.run_main(lambda: _run(argv))


if __name__ == "__main__":
    raise SystemExit(main())

"""Study A, the 2x2 crossed design: ``python -m experiments.crossed_design``.

Trains the four MLPs (1 or 2 hidden layers x 100 or 300 ReLU units), decides from
this run's results which two-layer model is worse (lowest per-class F1, ties by
test accuracy), rebuilds that one with 20% dropout after each hidden layer as
model 5, and writes ``results.json``, the figures and ``report.md``.

Study A's write-up gives no training settings, so it uses study B's protocol
(50,000/10,000 train/validation split with seed 42, Adam, batch 32, 20 epochs).
"""

from __future__ import annotations

from collections.abc import Sequence

from experiments import cli, selection, zoo
from experiments.runner import Run

EXPERIMENT = "crossed_design"
#: Model 5 on the command line: its architecture is decided during the run.
DROPOUT = "dropout"
#: What ``--models`` accepts: the names, or the study's numbers 1-5.
MODEL_NAMES = [*zoo.CROSSED_DESIGN, DROPOUT]
ALIASES = {str(number): name for number, name in enumerate(MODEL_NAMES, 1)}

PARSER = cli.build_parser(
    EXPERIMENT,
    description=__doc__.split("\n\n")[1],
    models_help="the models to train (default: all): "
    + ", ".join(f"{name} (or {number})" for number, name in ALIASES.items())
    + f"; {DROPOUT} is model 5, the worse two-layer model with 20%% dropout",
)


def _run(argv: Sequence[str] | None) -> int:
    args = cli.parse_args(PARSER, argv)
    names = cli.resolve_models(args.models, MODEL_NAMES, ALIASES)
    run = Run(args)
    base = [name for name in names if name != DROPOUT]
    if DROPOUT in names:
        missing = [n for n in zoo.TWO_LAYER_MODELS if n not in base and not run.done(n)]
        if missing:
            raise cli.UsageError(
                f"model 5 ({DROPOUT}) is the worse of {' and '.join(zoo.TWO_LAYER_MODELS)}, "
                f"so it needs both; add {' and '.join(missing)} to --models"
            )
    run.train(base)
    if DROPOUT in names:
        class_names = run.data.info["class_names"]
        decision = selection.worse_two_layer_model(run.models, class_names)
        for variant in zoo.CROSSED_DROPOUT:  # a variant from an earlier decision is stale
            if variant != decision["dropout_model"]:
                run.models.pop(variant, None)
        run.results["selection"]["dropout"] = decision
        run.save()
        print(f"model 5 is {decision['dropout_model']}: {decision['reason']}")
        run.train([decision["dropout_model"]])
    return run.finish()


def main(argv: Sequence[str] | None = None) -> int:
    """Run study A with command-line arguments ``argv``; return the exit status."""
    return cli.run_main(lambda: _run(argv))


if __name__ == "__main__":
    raise SystemExit(main())

"""Reproductions of the two reference MNIST studies with tinynet.

``python -m experiments.crossed_design``    study A, the 2x2 crossed design
``python -m experiments.model_comparison``  study B, the model comparison
``python -m experiments.report DIR``        redraw a study's report from its results.json

Each study is one module of :mod:`experiments.studies` (its models, protocol,
decisions, published numbers and report sections), cited in ``docs/studies/``; the
architectures live in :mod:`experiments.zoo`.
"""

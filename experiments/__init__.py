"""Reproductions of the two reference MNIST studies with tinynet.

``python -m experiments.crossed_design``    study A, the 2x2 crossed design
``python -m experiments.model_comparison``  study B, the model comparison
``python -m experiments.report DIR``        redraw a study's report from its results.json

The architectures live in :mod:`experiments.zoo`; the published numbers in
:mod:`experiments.published`.
"""

"""Training speed: each zoo model in tinynet, beside the frameworks people use; kernels and layers.

    python -m bench                      # every table (tens of minutes)
    python -m bench --quick              # a smoke run (numbers not comparable)
    python -m bench --models cnn dcnn    # only these models' rows
    python -m bench --readme README.md   # ... and paste the tables into the README

Each contestant is measured in its own fresh process, the processes interleaved
so that the machine's drifting load hits all of them alike (see
:mod:`bench.contestants` for who competes). Every contestant trains on the
same random MNIST-shaped float32 data with Adam and softmax cross-entropy; a
measurement times a fixed number of steps after a warm-up and scales to an epoch
of 50,000 images. The tables show:

* epoch time per row and contestant (median over repetitions), the ratios
  tinynet / other judged against the targets of :mod:`bench.plan`, and the
  achieved GFLOP/s (forward + backward, counted as 3 x the forward multiply-adds x 2)
  with their share of the float32 GEMM peak measured in the same run;
* each kernel of :mod:`bench.kernel_cases` against its NumPy reference, and its
  bandwidth (bytes it must move / time) against a NumPy copy of as many bytes;
* per CNN row, each layer's forward and backward milliseconds (:mod:`bench.layer_profile`),
  and the peak memory of the process that trained it.

Modules: ``plan`` (rows, steps, targets), ``contestants`` (a training step in each
library), ``kernel_cases`` (the kernel registry, shared with the pytest-benchmark
suite), ``timing`` (clocks, GEMM peak, copy bandwidth, memory), ``layer_profile``
(per-layer times), ``worker`` (one measurement per process), ``report`` (tables),
``cli`` (the command).

The package is called ``bench``, not ``benchmarks``: pytest's default import mode puts
``tests/`` on ``sys.path``, where the folder ``tests/benchmarks/`` would shadow a
``benchmarks`` package installed in editable mode (it becomes a namespace package).
"""

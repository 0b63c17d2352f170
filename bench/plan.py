"""What ``python -m bench`` measures, for how long, and the targets it judges against."""

from __future__ import annotations

#: Images in the epoch every row is scaled to.
EPOCH_IMAGES = 50_000
#: (zoo name, batch size, label) of every row of the epoch table, in order.
ROWS = [
    ("1x100", 32, "784-100-10"),
    ("1x300", 32, "784-300-10"),
    ("2x300", 32, "784-300-300-10"),
    ("dnn", 32, "784-400-100-10 (dnn)"),
    ("1x300", 128, "784-300-10"),
    ("cnn", 32, "cnn"),
    ("dcnn", 32, "dcnn"),
    ("cnn", 128, "cnn"),
    ("dcnn", 128, "dcnn"),
]
#: The rows of ``--quick`` when neither ``--models`` nor ``--batch-sizes`` chooses.
QUICK_ROWS = [ROWS[1], ROWS[5]]
CONTESTANTS = (
    "tinynet", "tinynet-numpy", "numpy-loop", "pytorch", "pytorch-kept-memory", "sklearn"
)
#: The contestants that need PyTorch installed.
PYTORCH_CONTESTANTS = ("pytorch", "pytorch-kept-memory")

#: Training-speed targets: tinynet / other at most this. MLPs, whatever the batch size:
MLP_TARGETS = {"pytorch": 0.6, "numpy-loop": 1.05}
#: ... and CNNs, by (zoo name, batch size).
CNN_TARGETS = {("cnn", 32): {"pytorch": 0.8}, ("cnn", 128): {"pytorch": 0.8},
               ("dcnn", 32): {"pytorch": 0.9}, ("dcnn", 128): {"pytorch": 0.9}}  # fmt: skip
#: Each kernel should move its bytes at least at this share of a NumPy copy's bandwidth.
BANDWIDTH_TARGET = 0.6
#: Peak memory (resident set) of one training process, at most this many MiB, by row.
MEMORY_TARGETS_MIB = {("dcnn", 128): 600}

#: Training steps timed per measurement (after warm-up), by model; --quick divides by 4.
STEPS = {"cnn": 120, "dcnn": 40}
MLP_STEPS = 600
QUICK_DIVISOR = 4
#: Untimed steps before each measurement.
WARMUP_STEPS = 5
#: Calls per kernel (and per copy) in one kernel measurement, full run and --quick.
KERNEL_CALLS, QUICK_KERNEL_CALLS = 30, 5


def steps_for(name: str, quick: bool) -> int:
    """Timed training steps of zoo model ``name`` in one measurement."""
    return STEPS.get(name, MLP_STEPS) // (QUICK_DIVISOR if quick else 1)

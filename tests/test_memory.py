"""tinynet.kernels.memory: freed memory stays in the process for the next training step."""

import os
import subprocess
import sys

import pytest

from tinynet.kernels import memory

# Page faults per training step of cnn at batch 32, after three steps of warm-up.
FAULTS_PER_STEP = """
import resource
import numpy as np
from experiments import zoo
from tinynet import kernels
from tinynet.losses import SoftmaxCrossEntropy
from tinynet.optimizers import Adam

model = zoo.build("cnn", (28, 28, 1), 10, seed=0)
rng = np.random.default_rng(0)
x, y = rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 32)
loss, optimizer = SoftmaxCrossEntropy(), Adam()

def step():
    loss.forward(model.forward(x, training=True), y)
    model.backward(loss.backward(), grad_input=False)
    optimizer.step(*model.parameters())

for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(kernels.MEMORY_KEPT, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


def faults_per_step(**env) -> tuple[bool, float]:
    env = {k: v for k, v in os.environ.items() if k not in memory.USER_SETTINGS} | env
    run = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    kept, faults = run.stdout.split()
    return kept == "True", float(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_training_steps_stop_faulting_pages_in():
    kept, faults = faults_per_step()
    untouched, faults_by_default = faults_per_step(TINYNET_KEEP_FREED_MEMORY="0")
    assert kept and not untouched
    if faults_by_default < 100:
        pytest.skip(f"this malloc kept the memory anyway ({faults_by_default} faults per step)")
    assert faults < faults_by_default / 10, (faults, faults_by_default)


def test_the_users_own_malloc_settings_win(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert memory.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv(memory.SWITCH, "0")
    assert memory.keep_freed_memory() is False

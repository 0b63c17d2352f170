"""tinynet.kernels.memory: freed memory stays in the process for the next training step."""

import os
import platform
import subprocess
import sys

import pytest

from tinynet.kernels import memory

# Page faults per training step of cnn at batch 32 (the benchmark's step), after three
# steps of warm-up.
FAULTS_PER_STEP = """
import resource
from bench.contestants import random_data, tinynet_step
from experiments import zoo
from tinynet import kernels

step = tinynet_step(zoo.build("cnn", (28, 28, 1), 10, seed=0), *random_data(32), 32)
for i in range(3):
    step(i)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(10):
    step(i)
print(kernels.MEMORY_KEPT, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10)
"""


GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
UNTUNED = (*memory.USER_SETTINGS, memory.SWITCH)


def faults_per_step(**env: str) -> tuple[bool, float]:
    env = {k: v for k, v in os.environ.items() if k not in UNTUNED} | env
    run = subprocess.run([sys.executable, "-c", FAULTS_PER_STEP], env=env, capture_output=True,
                         text=True, check=True)  # fmt: skip
    kept, faults = run.stdout.split()
    return kept == "True", float(faults)


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_training_steps_stop_faulting_pages_in():
    kept, faults = faults_per_step()
    untouched, faults_by_default = faults_per_step(TINYNET_KEEP_FREED_MEMORY="0")
    assert kept and not untouched
    if faults_by_default < 100:
        pytest.skip(f"this malloc kept the memory anyway ({faults_by_default} faults per step)")
    assert faults < faults_by_default / 10, (faults, faults_by_default)


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_the_users_own_malloc_settings_win(monkeypatch):
    for name in UNTUNED:
        monkeypatch.delenv(name, raising=False)
    assert memory.keep_freed_memory() is True
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0")  # not malloc's: ignored
    assert memory.keep_freed_memory() is True
    for name, value in [("MALLOC_TRIM_THRESHOLD_", "131072"),
                        ("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=131072"),
                        (memory.SWITCH, "0")]:  # fmt: skip
        with monkeypatch.context() as context:
            context.setenv(name, value)
            assert memory.keep_freed_memory() is False, name

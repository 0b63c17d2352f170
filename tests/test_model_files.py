"""Model files: every layer survives a round trip; a bad file is a ValueError naming it,
found before anything the file asks for is allocated; fuzzed files and configs never get
another outcome."""

import io
import json
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tinynet import Sequential
from tinynet.layers import LAYERS, Conv2D, Dense, Dropout, Flatten, MaxPool2D, ReLU, Softmax
from tinynet.serialization import FORMAT, PARAMETER_SHAPES, VERSION

#: Most memory a rejected file may make the loader allocate (tracemalloc counts NumPy's arrays).
PEAK_BYTES = 8 << 20


def config(layers, input_shape=(4, 4, 1), **extra):
    """A model file's config; ``layers`` as ``[("Dense", {"units": 3}), ...]``."""
    return {
        "input_shape": list(input_shape), "dtype": "float32", "seed": 0,
        "layers": [{"class": name, "config": arguments} for name, arguments in layers],
        "format": FORMAT, "version": VERSION, **extra,
    }  # fmt: skip


def write_model_file(path, header, **arrays):
    """A model file as ``save`` writes one: ``header`` (any JSON value) and arrays."""
    np.savez(path, config=np.array(json.dumps(header)), **arrays)
    return path


def load_fails(path, *patterns):
    """Load ``path``: a ValueError naming the file and each pattern, without allocating."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as error:
            Sequential.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"{peak:,} bytes allocated to reject {path}"
    message = str(error.value)
    assert str(path) in message and "allow_pickle" not in message
    for pattern in patterns:
        assert pattern in message, message
    return message


def every_layer_model(dtype="float32"):
    return Sequential(
        [Conv2D(2, 3, padding="same"), ReLU(), MaxPool2D(2), Dropout(0.5), Flatten(), Dense(4),
         Softmax()],
        input_shape=(6, 6, 1), seed=3, dtype=dtype,
    )  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_layer_class_round_trips(tmp_path, rng, dtype):
    model = every_layer_model(dtype)
    assert {type(layer).__name__ for layer in model.layers} == set(LAYERS) == set(PARAMETER_SHAPES)
    model.save(tmp_path / "m.npz")
    loaded = Sequential.load(tmp_path / "m.npz")
    assert loaded.get_config() == model.get_config()
    x = rng.random((3, 6, 6, 1))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_random_bytes_are_not_a_zip_archive(tmp_path):
    path = tmp_path / "model.npz"
    for content in [np.random.default_rng(0).bytes(300), b"", b"\x93NUMPY junk", b"PK\x03\x04"]:
        path.write_bytes(content)
        load_fails(path, "is not a valid tinynet model file: not a zip archive")


def test_a_300_byte_file_describing_a_huge_model_is_refused_before_allocating(tmp_path):
    """Dense(10000) on 20,000 inputs (2.4 GB to build) and no weights."""
    path = write_model_file(
        tmp_path / "huge.npz", config([("Dense", {"units": 10_000})], input_shape=[20_000])
    )
    assert path.stat().st_size < 1000
    load_fails(path, "layer 0 (Dense) parameter 'W' should have shape (20000, 10000)", "nothing")


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def huge_dense_header():
    """The ``.npy`` header of Dense(10240)'s weights on 5,120 inputs: 200 MiB of float32."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (5_120, 10_240)})  # fmt: skip
    return header.getvalue()


def huge_dense_file(path, weights_entry):
    """A file for Dense(10240) on 5,120 inputs; ``weights_entry(archive)`` writes ``0/W.npy``."""
    huge = config([("Dense", {"units": 10_240})], input_shape=[5_120])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.npy", npy_bytes(np.array(json.dumps(huge))))
        archive.writestr("0/b.npy", npy_bytes(np.zeros(10_240, np.float32)))
        weights_entry(archive)
    return path


def test_a_zip_bomb_is_refused_unread(tmp_path):
    def bomb(archive):
        with archive.open("0/W.npy", "w", force_zip64=True) as entry:
            entry.write(huge_dense_header())
            zeros = bytes(1 << 20)
            for _ in range(200):  # 200 MiB of zeros, about 200 kB compressed
                entry.write(zeros)

    path = huge_dense_file(tmp_path / "bomb.npz", bomb)
    load_fails(path, "bytes in a file of", "a zip bomb, not a model")


def test_a_zip_directory_that_lies_about_sizes_is_refused(tmp_path):
    """A tiny file whose zip directory claims the 200 MiB of weights its config needs."""
    path = huge_dense_file(tmp_path / "liar.npz", lambda archive: archive.writestr(
        zipfile.ZipInfo("0/W.npy"), huge_dense_header()))  # the header alone, stored  # fmt: skip
    size = len(huge_dense_header()) + 200 * (1 << 20)
    content = bytearray(path.read_bytes())
    # Sizes of "0/W.npy" in its local header (at 18) and its central directory entry (at 20).
    for signature, sizes_at, name_at in ((b"PK\x03\x04", 18, 30), (b"PK\x01\x02", 20, 46)):
        start = content.find(signature)
        while content[start + name_at : start + name_at + 7] != b"0/W.npy":
            start = content.find(signature, start + 4)
        content[start + sizes_at : start + sizes_at + 8] = struct.pack("<II", size, size)
    path.write_bytes(bytes(content))
    assert len(content) < 2000
    load_fails(path, "its zip directory declares 209,715,")


@pytest.mark.parametrize(
    "header, problem",
    [
        (3.0, "its config is a float, not a JSON object"),
        ([1, 2], "its config is a list"),
        ({"format": "keras"}, "no tinynet model header"),
        (config([("Flatten", {})], input_shape=[-4, 4, 1]), "input_shape must be a list of"),
        (config([("Flatten", {})], input_shape=[]), "input_shape must be"),
        (config([("Flatten", {})], input_shape=[True, 4]), "input_shape must be"),
        (config([("Flatten", {})], dtype="complex128"), "dtype must be 'float32' or 'float64'"),
        (config([("Flatten", {})], seed=-1), "seed must be null or an integer >= 0"),
        (config([("Flatten", {})], version=2), "format version 2 is not 1"),
        (config([("Flatten", {})], extra=1), "its config has keys"),
        (config([]), "layers must be a non-empty list"),
        (config([("Lambda", {})]), "layer 0 has unknown class 'Lambda'"),
        (config([(["Dense"], {})]), "layer 0 has unknown class ['Dense']"),
        (config([("Flatten", {}), ("Dense", {"units": -3})]), "layer 1 (Dense): Dense: units"),
        (config([("Dropout", {"rate": "a"})]), "layer 0 (Dropout)"),
        (config([("Dense", {"unit": 3})]), "layer 0 (Dense)"),
        (config([("Dense", {"units": {"a": 1}})]), "layer 0 (Dense): bad arguments"),
        (config([("MaxPool2D", {"pool_size": 5})]), "does not fit"),
        (config([("Dense", {"units": 3})]), "layer 0 (Dense) parameter 'W' should have shape"),
    ],
)  # fmt: skip
def test_bad_configs_are_named(tmp_path, header, problem):
    load_fails(write_model_file(tmp_path / "m.npz", header), problem)


def test_deeply_nested_json_is_refused(tmp_path):
    path = tmp_path / "deep.npz"
    np.savez(path, config=np.array("[" * 100_000 + "]" * 100_000))
    load_fails(path, "nested too deeply")


def saved_arrays(tmp_path):
    """A small model's file contents, to tamper with."""
    path = tmp_path / "good.npz"
    Sequential([Flatten(), Dense(8), ReLU(), Dense(3)], input_shape=(4, 4, 1)).save(path)
    with np.load(path) as archive:
        arrays = dict(archive)
    return json.loads(str(arrays.pop("config"))), arrays


@pytest.mark.parametrize(
    "name, value, problem",
    [
        ("1/W", np.zeros((16, 8), np.complex64), "array '1/W' has dtype complex64"),
        ("1/W", np.full((16, 8), "abc"), "array '1/W' has dtype <U3"),
        ("1/b", np.zeros(8, np.int64), "array '1/b' has dtype int64"),
        ("1/W", np.zeros((3, 3), np.float32), "layer 1 (Dense) parameter 'W' should have shape "
                                             "(16, 8), the file holds (3, 3)"),
        ("1/W", None, "parameter 'W' should have shape (16, 8), the file holds nothing"),
        ("2/W", np.zeros(3, np.float32), "unexpected arrays ['2/W']"),
        ("weights", np.zeros(3), "unexpected array 'weights'"),
        ("3/b", np.array([0, np.nan, 0], np.float32), "parameter '3/b' holds NaN or infinite"),
        ("1/W", np.full((16, 8), np.inf, np.float32), "parameter '1/W' holds NaN or infinite"),
        ("1/W", np.full((16, 8), 1e300), "NaN or infinite values (as float32)"),
    ],
)  # fmt: skip
def test_bad_weights_are_named(tmp_path, name, value, problem):
    header, arrays = saved_arrays(tmp_path)
    arrays.pop(name, None)
    if value is not None:
        arrays[name] = value
    load_fails(write_model_file(tmp_path / "bad.npz", header, **arrays), problem)


def test_pickled_arrays_are_refused_without_running_them(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, config=np.array([{"format": FORMAT}], dtype=object))
    load_fails(path, "array 'config' has dtype object")


def test_a_save_that_fails_half_way_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    model = every_layer_model()
    model.save(path)
    before = path.read_bytes()

    def interrupted_savez(handle, **arrays):
        handle.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted_savez)
    with pytest.raises(KeyboardInterrupt):
        model.save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_missing_files_and_folders(tmp_path):
    with pytest.raises(ValueError, match="no model file"):
        Sequential.load(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="does not exist"):
        Sequential([Flatten()], input_shape=(2,)).save(tmp_path / "no" / "such" / "model.npz")


# --- fuzzing: the only outcomes are a model or the documented ValueError -------------------


def load_or_value_error(path):
    """Load ``path``; anything but a model or a ValueError naming the file fails the test."""
    try:
        model = Sequential.load(path)
    except ValueError as error:
        assert str(path) in str(error) and "allow_pickle" not in str(error)
        event(f"refused: {str(error).split(': ')[1][:30]}")  # --hypothesis-show-statistics
        return None
    event("loaded")
    assert all(np.isfinite(p).all() for p in model.parameters()[0])
    return model


FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


@FUZZ
@given(data=st.data(), truncate=st.booleans())
def test_fuzzed_bytes_of_a_real_file(tmp_path, data, truncate):
    path = tmp_path / "m.npz"
    every_layer_model().save(path)
    content = bytearray(path.read_bytes())
    if truncate:
        content = content[: data.draw(st.integers(0, len(content) - 1))]
    else:
        for _ in range(data.draw(st.integers(1, 8))):
            position = data.draw(st.integers(0, len(content) - 1))
            content[position] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(content))
    load_or_value_error(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                      children, max_size=4),
    max_leaves=20,
)  # fmt: skip
SIZES = st.integers(-2, 6) | st.sampled_from([0, 10**6, 10**12, 2**63])
ARGUMENTS = {
    "Dense": st.fixed_dictionaries({"units": SIZES | JSON}),
    "Conv2D": st.fixed_dictionaries({"filters": SIZES, "kernel_size": SIZES | st.lists(SIZES),
                                     "padding": st.sampled_from(["same", "valid", "full"])}),
    "MaxPool2D": st.fixed_dictionaries({"pool_size": SIZES, "stride": SIZES | st.none()}),
    "Dropout": st.fixed_dictionaries({"rate": st.floats() | JSON}),
}  # fmt: skip
LAYER = st.sampled_from(sorted(LAYERS) + ["Lambda"]).flatmap(
    lambda name: st.tuples(st.just(name), ARGUMENTS.get(name, st.just({})) | JSON)
)


@FUZZ
@given(
    layers=st.lists(LAYER, max_size=5),
    input_shape=st.lists(SIZES, max_size=4) | JSON,
    shapes=st.dictionaries(st.sampled_from(["0/W", "0/b", "1/W", "2/W", "4/b", "x"]),
                           st.lists(st.integers(0, 5), max_size=3), max_size=4),
    dtype=st.sampled_from(["f4", "f8", "f2", "c8", "i4", "U2", "S3", "?"]),
    raw_config=JSON | st.none(),
)  # fmt: skip
def test_fuzzed_configs_and_arrays(tmp_path, layers, input_shape, shapes, dtype, raw_config):
    header = config(layers) if raw_config is None else raw_config
    if isinstance(header, dict) and raw_config is None:
        header["input_shape"] = input_shape
    arrays = {name: np.zeros(shape, dtype) for name, shape in shapes.items()}
    tracemalloc.start()
    try:
        load_or_value_error(write_model_file(tmp_path / "m.npz", header, **arrays))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES


@FUZZ
@given(data=st.data())
def test_fuzzed_changes_to_a_real_config_and_its_weights(tmp_path, data):
    """Replace a few values deep inside a real model's config, and maybe one array."""
    model = every_layer_model()
    header = config([(type(layer).__name__, layer.get_config()) for layer in model.layers],
                    input_shape=model.input_shape)  # fmt: skip
    arrays = {f"{i}/{key}": value for i, layer in enumerate(model.layers)
              for key, value in layer.params.items()}  # fmt: skip
    for _ in range(data.draw(st.integers(1, 3))):
        parent, key, node = None, None, header
        deeper = st.integers(0, 3)  # go one level deeper 3 times out of 4
        while isinstance(node, dict | list) and node and (not parent or data.draw(deeper) < 3):
            keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            keys = ["layers"] * 6 + keys if node is header else keys  # mostly layer arguments
            parent, key = node, data.draw(st.sampled_from(keys))
            node = parent[key]
        parent[key] = data.draw(SIZES | JSON | st.sampled_from(sorted(LAYERS)))
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(sorted(arrays)))
        shape = data.draw(st.lists(st.integers(0, 9), max_size=4))
        arrays[name] = np.zeros(shape, data.draw(st.sampled_from(["f4", "f8", "c8", "i2", "U1"])))
    load_or_value_error(write_model_file(tmp_path / "m.npz", header, **arrays))

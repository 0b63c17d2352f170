"""Each Numba kernel against its plain-NumPy reference."""

import os
import subprocess
import sys

import numpy as np
import pytest

from tinynet.kernels import numba_kernels, reference, winograd
from tinynet.layers.conv import conv_output_size
from tinynet.layers.pooling import max_pool
from tinynet.optimizers import adam_step

# (N, H, W, C, kernel_h, kernel_w, stride, padding)
CONV_CASES = [
    (2, 28, 28, 1, 3, 3, 1, "same"),
    (2, 7, 8, 1, 3, 3, 1, "same"),  # one channel, 3x3: odd and even rows of whole windows
    (1, 6, 9, 1, 3, 3, 1, "valid"),
    (2, 9, 8, 1, 3, 3, 2, "same"),  # one channel, 3x3, stride 2
    (1, 8, 9, 1, 3, 3, 2, "valid"),
    (3, 7, 6, 2, 3, 3, 1, "same"),
    (2, 7, 7, 3, 3, 3, 2, "same"),
    (2, 8, 8, 4, 3, 3, 2, "same"),
    (1, 9, 7, 5, 3, 2, 2, "valid"),
    (2, 5, 5, 1, 5, 5, 1, "valid"),
    (2, 6, 5, 3, 1, 1, 1, "valid"),
    (2, 6, 7, 3, 2, 4, 1, "same"),
]
DTYPES = [np.float32, np.float64]
#: The element-wise kernels take threads from numba_kernels.PARALLEL_SIZE numbers, more than
#: a test should allocate; the tests lower it so that their "threads" cases take them.
THREADS_FROM = 1 << 19
#: Agreement of kernels that add in another order than their reference (chunked GEMMs,
#: direct loops): tight in float64, float32 rounding of sums of a few hundred terms.
TOLERANCE = {np.float64: 1e-12, np.float32: 2e-5}


def conv_args(h, w, kh, kw, stride, padding):
    out_h, pad_top = conv_output_size(h, kh, stride, padding)
    out_w, pad_left = conv_output_size(w, kw, stride, padding)
    return kh, kw, stride, pad_top, pad_left, out_h, out_w


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "threads"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, kh, kw, stride, padding", CONV_CASES)
def test_im2col_and_col2im_agree(rng, dtype, n, h, w, c, kh, kw, stride, padding, parallel,
                                 monkeypatch):  # fmt: skip
    monkeypatch.setattr(numba_kernels, "PARALLEL_SIZE", 1 if parallel else 1 << 40)
    args = conv_args(h, w, kh, kw, stride, padding)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    cols = reference.im2col(x, *args)
    np.testing.assert_array_equal(numba_kernels.im2col(x, *args), cols)
    grad_cols = rng.standard_normal(cols.shape).astype(dtype)
    expected = reference.col2im(grad_cols, x.shape, *args)
    # Same additions in the same order: equal to the last bit.
    np.testing.assert_array_equal(numba_kernels.col2im(grad_cols, x.shape, *args), expected)
    assert expected.dtype == dtype and expected.shape == x.shape


@pytest.mark.parametrize(
    "chunk_bytes, workers", [(1, 2), (1, 1), (1 << 30, 2)],
    ids=["image-by-image-2-threads", "image-by-image-1-thread", "one-chunk"],
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, kh, kw, stride, padding", CONV_CASES)
def test_conv2d_kernels_agree(
    rng, monkeypatch, chunk_bytes, workers, dtype, n, h, w, c, kh, kw, stride, padding
):
    monkeypatch.setattr(numba_kernels, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(numba_kernels, "WORKERS", workers)
    geometry = reference.ConvGeometry(*conv_args(h, w, kh, kw, stride, padding))
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    filters = 1 if c == 2 else 3  # one output channel: a one-channel gradient to convolve
    weights = rng.standard_normal((kh, kw, c, filters)).astype(dtype)
    bias = rng.standard_normal(filters).astype(dtype)
    y = reference.conv2d_forward(x, weights, bias, geometry)
    grad = rng.standard_normal(y.shape).astype(dtype)
    pairs = [
        (numba_kernels.conv2d_forward(x, weights, bias, geometry), y),
        *zip(
            numba_kernels.conv2d_backward_weights(x, grad, geometry),
            reference.conv2d_backward_weights(x, grad, geometry),
            strict=True,
        ),
        (
            numba_kernels.conv2d_backward_data(grad, weights, geometry, x.shape),
            reference.conv2d_backward_data(grad, weights, geometry, x.shape),
        ),
    ]
    for got, expected in pairs:
        assert got.dtype == expected.dtype == dtype and got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])


# Winograd's cases: (N, H, W, C, F, padding), many channels, odd and even outputs.
WINOGRAD_CASES = [
    (3, 9, 7, 64, 64, "same"),  # odd output: the last tiles stick out
    (2, 8, 6, 64, 96, "valid"),
    (2, 5, 4, 96, 48, "same"),
    (2, 10, 13, 48, 64, "valid"),  # 8x11: whole tiles down, the last one sticks out across
    (2, 3, 2, 32, 32, "same"),  # smaller than one tile
    (1, 4, 8, 32, 32, "same"),  # whole tiles only
    (2, 6, 5, 32, 48, "same"),  # one output column in the last tiles, three beyond it
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, f, padding", WINOGRAD_CASES)
def test_winograd_transforms_agree(rng, dtype, n, h, w, c, f, padding):
    geometry = reference.ConvGeometry(*conv_args(h, w, 3, 3, 1, padding))
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    v = winograd.input_tiles_reference(x, geometry)
    for fast in (winograd.input_tiles(x, geometry), winograd.gradient_tiles(x, geometry)):
        assert fast.dtype == dtype  # the compiled transforms compute in the input's dtype
    np.testing.assert_allclose(winograd.input_tiles(x, geometry), v,
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])  # fmt: skip
    m = rng.standard_normal((len(v), v.shape[1], f)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    y = winograd.output_tiles_reference(m, bias, geometry, n)
    assert y.shape == (n, geometry.out_h, geometry.out_w, f) and y.dtype == dtype
    np.testing.assert_allclose(winograd.output_tiles(m, bias, geometry, n), y,
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])  # fmt: skip
    grad = rng.standard_normal(y.shape).astype(dtype)
    z = winograd.gradient_tiles_reference(grad, geometry)
    assert z.shape == m.shape and z.dtype == dtype
    np.testing.assert_allclose(winograd.gradient_tiles(grad, geometry), z,
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_output_transform_writes_only_its_images(rng, dtype):
    """Outputs of tiles that stick out of the image are thrown away, not written past it."""
    geometry = reference.ConvGeometry(*conv_args(5, 5, 3, 3, 1, "same"))  # 2x2 tiles of 4x4
    tiles_h, tiles_w = winograd.tile_counts(geometry)
    m = rng.standard_normal((winograd.TILE_ENTRIES, 2 * tiles_h * tiles_w, 8)).astype(dtype)
    bias = rng.standard_normal(8).astype(dtype)
    batch = np.full((4, 5, 5, 8), np.nan, dtype=dtype)  # two images between two others
    winograd.output_tiles(m, bias, geometry, 2, out=batch[1:3])
    assert np.isnan(batch[[0, 3]]).all()
    np.testing.assert_allclose(batch[1:3], winograd.output_tiles_reference(m, bias, geometry, 2),
                               rtol=TOLERANCE[dtype], atol=TOLERANCE[dtype])  # fmt: skip


@pytest.mark.parametrize("chunk_bytes, workers", [(1, 2), (1 << 30, 1)], ids=["chunks", "one"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n, h, w, c, f, padding", WINOGRAD_CASES)
def test_winograd_convolution_agrees_with_im2col(
    rng, monkeypatch, chunk_bytes, workers, dtype, n, h, w, c, f, padding
):
    monkeypatch.setattr(numba_kernels, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(numba_kernels, "WORKERS", workers)
    geometry = reference.ConvGeometry(*conv_args(h, w, 3, 3, 1, padding))
    assert winograd.applies(geometry, c, f) and winograd.applies(geometry, f, c)
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    weights = (rng.standard_normal((3, 3, c, f)) / np.sqrt(9 * c)).astype(dtype)
    bias = rng.standard_normal(f).astype(dtype)
    y = reference.conv2d_forward(x, weights, bias, geometry)
    grad = rng.standard_normal(y.shape).astype(dtype)
    pairs = [
        *[(winograd.conv2d_forward_reference(x, weights, bias, geometry, transform), y)
          for transform in (winograd.F_2X2, winograd.F_4X4)],
        (numba_kernels.conv2d_forward(x, weights, bias, geometry), y),
        (  # the input gradient: a convolution too, so Winograd's as well
            numba_kernels.conv2d_backward_data(grad, weights, geometry, x.shape),
            reference.conv2d_backward_data(grad, weights, geometry, x.shape),
        ),
    ]
    weight_gradients = reference.conv2d_backward_weights(x, grad, geometry)
    for by_winograd in (
        winograd.conv2d_backward_weights_reference(x, grad, geometry, winograd.F_2X2),
        winograd.conv2d_backward_weights_reference(x, grad, geometry, winograd.F_4X4),
        numba_kernels.conv2d_backward_weights(x, grad, geometry),
    ):
        pairs += zip(by_winograd, weight_gradients, strict=True)
    for got, expected in pairs:
        assert got.dtype == dtype and got.shape == expected.shape
        # Relative to the largest output: the transforms add numbers of every size.
        scale = np.abs(expected).max()
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE[dtype] * scale)


def test_winograd_is_used_only_where_it_pays():
    same_3x3 = reference.ConvGeometry(*conv_args(28, 28, 3, 3, 1, "same"))
    for channels, filters in [(64, 64), (64, 32), (32, 32)]:  # cnn's and dcnn's layers
        assert winograd.applies(same_3x3, channels, filters)
    assert not winograd.applies(same_3x3, 1, 64)  # their first: a direct loop is faster
    assert not winograd.applies(same_3x3, 16, 16)
    assert not winograd.applies(reference.ConvGeometry(*conv_args(28, 28, 3, 3, 2, "same")), 64, 64)
    assert not winograd.applies(reference.ConvGeometry(*conv_args(28, 28, 5, 5, 1, "same")), 64, 64)


def test_conv2d_weight_gradient_is_the_same_bits_every_time(rng, monkeypatch):
    """Chunks run in threads, but their partial sums are added in one fixed order."""
    monkeypatch.setattr(numba_kernels, "CHUNK_BYTES", 1)
    monkeypatch.setattr(numba_kernels, "WORKERS", 2)
    geometry = reference.ConvGeometry(*conv_args(12, 12, 3, 3, 1, "same"))
    x = rng.standard_normal((16, 12, 12, 8)).astype(np.float32)
    grad = rng.standard_normal((16, 12, 12, 5)).astype(np.float32)
    first = numba_kernels.conv2d_backward_weights(x, grad, geometry)[0]
    for _ in range(5):
        again = numba_kernels.conv2d_backward_weights(x, grad, geometry)[0]
        np.testing.assert_array_equal(again, first)


def test_im2col_of_a_strided_view(rng):
    args = conv_args(5, 5, 3, 3, 1, "same")
    x = rng.standard_normal((2, 5, 10, 4))[:, :, ::2, :]  # not contiguous
    np.testing.assert_array_equal(numba_kernels.im2col(x, *args), reference.im2col(x, *args))


def test_col2im_is_the_adjoint_of_im2col(rng):
    """<im2col(x), G> == <x, col2im(G)>: what makes the conv input gradient right."""
    args = conv_args(7, 7, 3, 3, 2, "same")
    x = rng.standard_normal((2, 7, 7, 3))
    grad_cols = rng.standard_normal((2 * args[5] * args[6], 27))
    lhs = np.sum(reference.im2col(x, *args) * grad_cols)
    rhs = np.sum(x * reference.col2im(grad_cols, x.shape, *args))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def test_im2col_writes_into_a_given_buffer(rng):
    args = conv_args(6, 6, 3, 3, 1, "same")
    x = rng.standard_normal((2, 6, 6, 2)).astype(np.float32)
    buffer = np.full((72, 18), np.nan, dtype=np.float32)
    for kernels in (reference, numba_kernels):
        result = kernels.im2col(x, *args, out=buffer)
        assert result is buffer
        np.testing.assert_array_equal(buffer, reference.im2col(x, *args))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, pool, stride",
    [((2, 28, 28, 64), 2, 2), ((12, 28, 28, 64), 2, 2), ((3, 7, 5, 3), 2, 2), ((2, 9, 9, 2), 3, 2),
     ((1, 6, 6, 1), 3, 1), ((12, 28, 28, 64), 3, 1), ((2, 10, 11, 3), 3, 3)],
    ids=["2x2", "2x2-threads", "2x2-odd", "3x3-stride-2", "3x3-stride-1", "3x3-threads",
         "3x3-tiles-odd"],
)  # fmt: skip
def test_maxpool_agrees(rng, dtype, shape, pool, stride, monkeypatch):
    monkeypatch.setattr(numba_kernels, "PARALLEL_SIZE", THREADS_FROM)
    assert (np.prod(shape) >= numba_kernels.PARALLEL_SIZE) == (shape[0] == 12)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, :pool, :pool, 0] = 1.5  # a tie: the first maximum must win in both
    out, argmax = reference.maxpool2d_forward(x, pool, stride)
    out_nb, argmax_nb = numba_kernels.maxpool2d_forward(x, pool, stride)
    np.testing.assert_array_equal(out_nb, out)
    np.testing.assert_array_equal(argmax_nb, argmax)
    assert argmax[0, 0, 0, 0] == 0
    grad = rng.standard_normal(out.shape).astype(dtype)
    grad[0, 0, 0, :] = -0.0  # dropout's backward makes these; the reference returns 0.0
    expected = reference.maxpool2d_backward(grad, argmax, shape, pool, stride)
    got = numba_kernels.maxpool2d_backward(grad, argmax_nb, shape, pool, stride)
    assert got.dtype == dtype
    if stride == pool:  # every pixel written once: the same bits, signs of zeros included
        bits = np.uint32 if dtype == np.float32 else np.uint64
        np.testing.assert_array_equal(got.view(bits), expected.view(bits))
        return
    # Overlapping windows (stride < pool) may add the same pixel's shares in another order.
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("kernels", [reference, numba_kernels], ids=["numpy", "numba"])
@pytest.mark.parametrize("shape, pool", [((3, 8, 8, 5), 2), ((2, 7, 9, 3), 2), ((2, 9, 9, 4), 3)])
def test_maxpool_kernels_compute_the_layer_files_max_pool(rng, kernels, shape, pool):
    x = rng.standard_normal(shape)
    y, _ = kernels.maxpool2d_forward(x, pool, pool)
    np.testing.assert_array_equal(y, max_pool(x, pool))


@pytest.mark.parametrize("shape, pool, stride", [((1, 4, 4, 3), 2, 2), ((1, 5, 5, 3), 3, 2)])
def test_maxpool_nan_wins_as_in_the_reference(shape, pool, stride):
    """np.argmax counts NaN as the largest value: the first NaN in a window wins."""
    x = np.zeros(shape, np.float32)
    x[0, 0, 1, 0] = np.nan  # a later entry of the first window
    x[0, 1, 0, 1] = x[0, 1, 1, 1] = np.nan  # two NaNs: the first one wins
    x[0, 0, 0, 2], x[0, 1, 1, 2] = np.nan, 5.0  # a NaN first, then a larger number
    out, argmax = reference.maxpool2d_forward(x, pool, stride)
    out_nb, argmax_nb = numba_kernels.maxpool2d_forward(x, pool, stride)
    np.testing.assert_array_equal(argmax[0, 0, 0], [1, pool, 0])
    np.testing.assert_array_equal(out_nb, out)  # NaN where NaN
    np.testing.assert_array_equal(argmax_nb, argmax)


def test_maxpool_forward_reference_by_hand():
    x = np.array([[1, 5, 2, 0], [3, 4, 8, 8], [0, 0, 1, 1], [9, 0, 1, 1]], float)[None, :, :, None]
    out, argmax = reference.maxpool2d_forward(x, 2, 2)
    np.testing.assert_array_equal(out[0, :, :, 0], [[5, 8], [9, 1]])
    np.testing.assert_array_equal(argmax[0, :, :, 0], [[1, 2], [2, 0]])


def test_the_numpy_backend_trains_to_the_same_numbers():
    """TINYNET_KERNELS=numpy runs the whole library on the references."""
    script = (
        "import numpy as np\n"
        "from tinynet import Sequential, kernels\n"
        "from tinynet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU\n"
        "rng = np.random.default_rng(0)\n"
        "x = rng.random((64, 10, 10, 1)); y = rng.integers(0, 3, 64)\n"
        "m = Sequential([Conv2D(4, 3, padding='same'), ReLU(), MaxPool2D(2), Conv2D(4, 3,"
        " stride=2, padding='same'), ReLU(), Flatten(), Dense(3)], (10, 10, 1), seed=1,"
        " dtype='float64')\n"
        "h = m.fit(x, y, epochs=2, batch_size=16, verbose=0)\n"
        "print(kernels.BACKEND, repr(h.history['loss'][-1]), repr(float(m.predict(x).sum())))\n"
    )
    outputs = {}
    for backend in ("numba", "numpy"):
        env = dict(os.environ, TINYNET_KERNELS=backend)
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)
        name, loss, total = run.stdout.split()
        assert name == backend
        outputs[backend] = (float(loss), float(total))
    np.testing.assert_allclose(outputs["numba"], outputs["numpy"], rtol=1e-12)


def test_unknown_backend_is_refused():
    env = dict(os.environ, TINYNET_KERNELS="cuda")
    run = subprocess.run([sys.executable, "-c", "import tinynet.kernels"], env=env,
                         capture_output=True, text=True)
    assert run.returncode != 0
    assert "TINYNET_KERNELS='cuda' is not a kernel backend" in run.stderr


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(37, 5), (800, 700)], ids=["serial", "threads"])
def test_adam_update_agrees(rng, dtype, shape, monkeypatch):
    monkeypatch.setattr(numba_kernels, "PARALLEL_SIZE", THREADS_FROM)
    assert (np.prod(shape) >= numba_kernels.PARALLEL_SIZE) == (shape == (800, 700))
    arrays = [rng.standard_normal(shape).astype(dtype) for _ in range(2)]
    states = [(arrays[0].copy(), np.zeros_like(arrays[0]), np.zeros_like(arrays[0]))
              for _ in range(3)]
    scalars = [dtype(s) for s in (1e-2, 0.9, 0.999, 1e-7)]
    # The kernels against each other and against optimizers.adam_step, Adam's lines.
    updates = (reference.adam_update, numba_kernels.adam_update, adam_step)
    for update, (param, m, v) in zip(updates, states, strict=True):
        for _ in range(3):
            update(param, arrays[1], m, v, *scalars)
    for a, b, c in zip(*states, strict=True):
        np.testing.assert_array_equal(b, a)
        np.testing.assert_array_equal(c, a)
    assert not np.array_equal(states[0][0], arrays[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "threads"])
def test_adam_moments_never_stay_denormal(dtype, parallel, monkeypatch):
    # A weight whose gradient becomes 0 for good: its moments shrink each step. Without
    # the flush they sink into the denormal range and stick there.
    monkeypatch.setattr(numba_kernels, "PARALLEL_SIZE", 1 if parallel else 1 << 40)
    tiny = np.finfo(dtype).tiny
    grad = np.zeros(6, dtype)
    scalars = [dtype(s) for s in (1e-3, 0.9, 0.999, 1e-7)]
    for update in (reference.adam_update, numba_kernels.adam_update, adam_step):
        param = np.array([0.5, -0.5, 0.25, 1.0, 2.0, np.nan], dtype)
        m = np.array([100, -100, 100, 2, 0, np.nan], dtype) * tiny
        v = np.array([1.05, 1.05, 0, 1, 1.05, 1], dtype) * tiny
        for step in range(200):
            update(param, grad, m, v, *scalars)
            denormal = (m != 0) & (np.abs(m) < tiny) | (v != 0) & (v < tiny)
            assert not denormal.any(), (update.__module__, step, m, v)
        assert (m[:5] == 0).all() and (v[:5] == 0).all()
        assert np.isnan(m[5]) and np.isnan(param[5])  # NaN is not flushed away
        np.testing.assert_array_equal(param[:5], [0.5, -0.5, 0.25, 1.0, 2.0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "threads"])
def test_adam_flushes_alike_bit_for_bit(dtype, parallel, monkeypatch):
    # beta_1 = beta_2 = 1 leaves the moments as they are, so each value below reaches
    # the flush unchanged: the smallest normal number (kept), the largest denormal
    # (flushed), zeros of both signs, inf, NaN and a negative v (from a damaged state).
    monkeypatch.setattr(numba_kernels, "PARALLEL_SIZE", 1 if parallel else 1 << 40)
    tiny = np.finfo(dtype).tiny
    values = [tiny, -tiny, np.nextafter(tiny, 0), -np.nextafter(tiny, 0), -0.0, np.inf,
              np.nan, -1.0, np.nextafter(0, 1)]
    bits = np.uint32 if dtype == np.float32 else np.uint64
    scalars = [dtype(s) for s in (1e-3, 1.0, 1.0, 1e-7)]
    results = []
    for update in (reference.adam_update, numba_kernels.adam_update, adam_step):
        param, grad = np.full(len(values), 0.5, dtype), np.zeros(len(values), dtype)
        m, v = np.array(values, dtype), np.array(values[::-1], dtype)
        with np.errstate(invalid="ignore"):  # sqrt of the negative v
            update(param, grad, m, v, *scalars)
        results.append([a.view(bits).copy() for a in (param, m, v)])
    for other in results[1:]:
        for got, expected in zip(other, results[0], strict=True):
            np.testing.assert_array_equal(got, expected)
    m = results[0][1].view(dtype)
    assert m[0] == tiny and m[2] == m[3] == m[8] == 0 and np.isnan(m[6])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 5, 4, 2), (4, 96, 96, 16)], ids=["serial", "threads"])
def test_relu_kernels_agree(rng, dtype, shape, monkeypatch):
    monkeypatch.setattr(numba_kernels, "PARALLEL_SIZE", THREADS_FROM)
    assert (np.prod(shape) >= numba_kernels.PARALLEL_SIZE) == (shape[0] == 4)
    x = rng.standard_normal(shape).astype(dtype)
    x[0, 0, 0, 0] = 0.0
    x[0, 0, 0, 1] = np.nan  # passes through, so that fit can report it
    y = reference.relu_forward(x)
    assert np.isnan(y[0, 0, 0, 1])
    np.testing.assert_array_equal(numba_kernels.relu_forward(x), y)
    grad = rng.standard_normal(x.shape).astype(dtype)
    expected = reference.relu_backward(grad, y)
    np.testing.assert_array_equal(numba_kernels.relu_backward(grad, y), expected)
    assert expected[0, 0, 0, 0] == 0 and expected.dtype == dtype


#: The loss kernel adds exponentials in another order and divides by their sum where the
#: reference subtracts a logarithm: tight in float64, a few float32 roundings apart.
LOSS_TOLERANCE = {np.float64: 1e-13, np.float32: 1e-6}


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_kernels_agree(rng, dtype):
    logits = (rng.standard_normal((37, 10)) * 5).astype(dtype)
    logits[1, 0] = -np.inf  # a class that cannot win: probability 0, nothing undefined
    logits[2] += 1e4  # large logits: the row maximum is taken out first
    labels = rng.integers(1, 10, 37)  # never the class that cannot win
    loss, probs = reference.softmax_cross_entropy(logits, labels)
    fast_loss, fast_probs = numba_kernels.softmax_cross_entropy(logits, labels)
    tolerance = LOSS_TOLERANCE[dtype]
    assert np.isfinite(loss) and fast_loss == pytest.approx(loss, rel=tolerance)
    assert fast_probs.dtype == dtype and np.isfinite(fast_probs).all()
    np.testing.assert_allclose(fast_probs, probs, rtol=0, atol=tolerance)
    grad = reference.softmax_cross_entropy_backward(probs, labels)
    fast_grad = numba_kernels.softmax_cross_entropy_backward(fast_probs, labels)
    assert fast_grad.dtype == dtype
    np.testing.assert_allclose(fast_grad, grad, rtol=0, atol=tolerance / len(labels))
    # The reference is the definition: its gradient is (softmax - onehot) / N.
    onehot = np.eye(10)[labels]
    np.testing.assert_allclose(grad, (np.exp(reference.log_softmax(logits)) - onehot) / 37,
                               rtol=0, atol=tolerance)  # fmt: skip


@pytest.mark.parametrize("label", [-1, 3])
def test_softmax_cross_entropy_kernels_refuse_a_label_out_of_range(label):
    # The loss checks its labels first; called directly, a kernel must not read or
    # write outside its arrays.
    logits, labels = np.zeros((2, 3)), np.array([0, label])
    with pytest.raises(IndexError):
        numba_kernels.softmax_cross_entropy(logits, labels)
    with pytest.raises(IndexError):
        numba_kernels.softmax_cross_entropy_backward(np.full((2, 3), 1 / 3), labels)


def test_softmax_cross_entropy_kernel_passes_nan_through():
    logits = np.array([[np.nan, 1.0, 2.0], [0.0, 1.0, 2.0]])
    loss, probs = numba_kernels.softmax_cross_entropy(logits, np.array([0, 2]))
    assert np.isnan(loss) and np.isnan(probs[0]).all() and np.isfinite(probs[1]).all()


CHUNK_THREADS_SCRIPT = """
import numpy as np
from tinynet.kernels import ConvGeometry, numba_kernels as nk
x = np.random.default_rng(0).standard_normal((16, 14, 14, 8)).astype(np.float32)
w = np.ones((3, 3, 8, 8), np.float32)
geometry = ConvGeometry(3, 3, 1, 1, 1, 14, 14)
nk.im2col(x, *geometry)            # the parallel kernel first, as a layer-free caller might
nk.WORKERS, nk.CHUNK_BYTES = 2, 1 << 14   # many chunks, two threads
for _ in range(5):
    y = nk.conv2d_forward(x, w, np.zeros(8, np.float32), geometry)
    nk.conv2d_backward_data(y, w, geometry, x.shape)
    nk.conv2d_backward_weights(x, y, geometry)
print("done")
"""


def test_chunk_threads_never_launch_a_parallel_kernel_at_once():
    # Two chunk threads running a parallel Numba loop at the same time abort the whole
    # process under the workqueue threading layer; run it in a child to see that.
    for _ in range(2):  # the second run loads the kernels from Numba's disk cache
        result = subprocess.run(
            [sys.executable, "-c", CHUNK_THREADS_SCRIPT], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr[-2000:]
        assert result.stdout.strip() == "done"

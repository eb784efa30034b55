"""The L04 (convolution) **check** items of SYLLABUS.md and the claims lecture 04 makes beyond
tests/test_conv.py, asserted against the code the lecture runs and against an independent
reference (PyTorch modules and autograd, NumPy closed forms, the formulas typed again).

Cells of ``notebook_sources/lectures/04_convolution.py`` whose first line is
``# check: L04 ...`` are executed in order, in a namespace that holds the names the lecture
imports (``np``, ``torch``, ``F``, ``nn``, ``conv``, ``data``, ``kernel_preset``) and with
torch's default dtype left alone (float32): the lecture asks for float64 explicitly where it
compares exactly. The tests then call what those cells define. The output-size and
parameter-count helpers of ``course.conv`` have their own tests in tests/test_conv.py; the
lecture's exercises are proven (blank and solved) by tests/test_notebooks.py via tools.nbrun.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import conv, data
from course.widgets.convolution import kernel_preset
from tools import nbbuild

SOURCE = nbbuild.SOURCES / "lectures" / "04_convolution.py"


@pytest.fixture(scope="module")
def l04() -> dict:
    """Execute, in order, the cells of the lecture source marked ``# check: L04``."""
    cells = nbbuild.parse_source(SOURCE.read_text(), SOURCE.name)
    marked = [
        "\n".join(c["lines"])
        for c in cells
        if not c["options"]["markdown"] and c["lines"] and c["lines"][0].startswith("# check: L04")
    ]
    assert len(marked) >= 10, f"{SOURCE.name} lost some of its '# check: L04' cells"
    namespace = {
        "np": np,
        "torch": torch,
        "F": F,
        "nn": nn,
        "conv": conv,
        "data": data,
        "kernel_preset": kernel_preset,
    }
    assert torch.get_default_dtype() == torch.float32
    for code in marked:
        exec(compile(code, str(SOURCE), "exec"), namespace)  # our own notebook code
    return namespace


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def rng_tensor(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=shape))


# --- why not fully connected: (512² + 1)·64 ≈ 16.8 million vs (7² + 1)·64 = 3,200 ----------


def test_parameter_check_matches_torch_modules(l04):
    dense = n_params(nn.Linear(512 * 512, 64, device="meta"))
    filters = n_params(nn.Conv2d(1, 64, 7, device="meta"))
    assert l04["dense_params"] == dense == (512**2 + 1) * 64 == 16_777_280
    assert f"{l04['dense_params'] / 1e6:.1f}" == "16.8"
    assert l04["filter_params"] == filters == (7**2 + 1) * 64 == 3_200


def test_answers_typed_in_the_lecture_text_match_torch():
    # section 1: 224x224 RGB into 1,000 units, and 1,000 filters of 3x3x3
    assert n_params(nn.Linear(224 * 224 * 3, 1000, device="meta")) == 150_529_000
    assert n_params(nn.Conv2d(3, 1000, 3, device="meta")) == 28_000
    # section 10: 32x32x3 input, 10 filters of 5x5, stride 1, padding 2
    layer = nn.Conv2d(3, 10, 5, stride=1, padding=2)
    assert tuple(layer(torch.zeros(1, 3, 32, 32)).shape[1:]) == (10, 32, 32)
    assert n_params(layer) == conv.conv_params(3, 10, 5) == 760
    # section 7: 'same' padding for F=5 on 32, then stride 2
    assert F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 5, 5), padding=2).shape[-1] == 32
    assert (
        F.conv2d(torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 5, 5), padding=2, stride=2).shape[-1]
        == 16
    )


# --- output size: N=7, F=3: S=1 → 5, S=2 → 3, S=3 does not fit (2.33); P=1, S=1 → 7 ------


@pytest.mark.parametrize("stride,padding,expected", [(1, 0, 5), (2, 0, 3), (3, 0, 2), (1, 1, 7)])
def test_output_size_checks_equal_the_shape_torch_produces(l04, stride, padding, expected):
    out = F.conv2d(torch.zeros(1, 1, 7, 7), torch.zeros(1, 1, 3, 3), stride=stride, padding=padding)
    assert out.shape[-2:] == (expected, expected)
    assert conv.output_size(7, 3, stride=stride, padding=padding) == expected


def test_stride_three_leaves_the_last_column_unread():
    # torch rounds down: the last input column never reaches the output
    x = torch.zeros(1, 1, 7, 7)
    x[..., -1] = 1.0
    out = F.conv2d(x, torch.ones(1, 1, 3, 3), stride=3)
    assert out.abs().sum() == 0
    assert (7 - 3) / 3 + 1 == pytest.approx(2.33, abs=0.005)
    with pytest.raises(ValueError, match="2.33"):
        conv.output_size(7, 3, stride=3, strict=True)


# --- translation equivariance ------------------------------------------------------------


def circular_correlation_reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """x: (H, W), w: (F, F) with F odd; the circular cross-correlation by np.roll sums."""
    p = w.shape[0] // 2
    out = np.zeros_like(x)
    for m in range(w.shape[0]):
        for n in range(w.shape[1]):
            out += w[m, n] * np.roll(x, (p - m, p - n), axis=(0, 1))  # x[i + m - p, j + n - p]
    return out


def test_circular_convolution_of_the_lecture_is_a_circular_correlation(l04):
    x, w = rng_tensor(1, 1, 9, 12), rng_tensor(1, 1, 5, 5, seed=1)
    ours = l04["conv_circular"](x, w)[0, 0].numpy()
    assert np.allclose(ours, circular_correlation_reference(x[0, 0].numpy(), w[0, 0].numpy()))


@pytest.mark.parametrize("dy,dx", [(0, 1), (3, 0), (5, 7), (-2, 4), (11, 13)])
def test_shift_then_convolve_equals_convolve_then_shift(l04, dy, dx):
    shift, conv_circular = l04["shift"], l04["conv_circular"]
    x, w = rng_tensor(2, 3, 16, 13), rng_tensor(4, 3, 3, 3, seed=1)
    assert torch.allclose(conv_circular(shift(x, dy, dx), w), shift(conv_circular(x, w), dy, dx))
    # the shift itself: (T x)[i, j] = x[i - dy, j - dx]
    shifted = shift(x, dy, dx)
    assert shifted[0, 0, dy % 16, dx % 13] == x[0, 0, 0, 0]


def test_equivariance_fails_for_a_dense_layer_and_near_a_zero_padded_border(l04):
    shift = l04["shift"]
    x = rng_tensor(12, 10)
    dense = rng_tensor(120, 120, seed=2)

    def f(img):
        return (dense @ img.reshape(-1)).reshape(12, 10)

    assert (f(shift(x, 2, 3)) - shift(f(x), 2, 3)).abs().max() > 1.0
    w = rng_tensor(1, 1, 3, 3, seed=3)
    lhs = F.conv2d(shift(x, 2, 3)[None, None], w, padding=1)[0, 0]
    rhs = shift(F.conv2d(x[None, None], w, padding=1), 2, 3)[0, 0]
    assert not torch.allclose(lhs, rhs)
    interior = (slice(4, 11), slice(5, 9))  # at least 2 pixels from the border and the seams
    assert torch.allclose(lhs[interior], rhs[interior])


def test_rotation_needs_a_rotated_kernel(l04):
    conv_circular = l04["conv_circular"]
    x, sobel = rng_tensor(1, 1, 10, 14), torch.from_numpy(kernel_preset("Sobel x")[0] * 1.0)

    def rot(t, k=1):
        return torch.rot90(t, k, dims=(-2, -1))

    w = sobel[None, None]
    assert not torch.allclose(conv_circular(rot(x), w), rot(conv_circular(x, w)))
    assert torch.allclose(conv_circular(rot(x), w), rot(conv_circular(x, rot(w, -1))))


# --- convolution vs cross-correlation ----------------------------------------------------


def test_convolution_is_correlation_with_the_flipped_kernel_1d_and_2d():
    from scipy import signal  # an independent reference for true convolution

    gen = np.random.default_rng(0)
    x1, w1 = gen.normal(size=11), gen.normal(size=4)
    assert np.allclose(np.convolve(x1, w1, "valid"), np.correlate(x1, w1[::-1], "valid"))
    x2, w2 = gen.normal(size=(7, 8)), gen.normal(size=(3, 2))
    assert np.allclose(conv.convolve2d(x2, w2), signal.convolve2d(x2, w2, mode="valid"))
    assert np.allclose(conv.correlate2d(x2, w2), signal.correlate2d(x2, w2, mode="valid"))
    torch_out = F.conv2d(torch.from_numpy(x2)[None, None], torch.from_numpy(w2)[None, None])
    assert np.allclose(torch_out[0, 0].numpy(), signal.correlate2d(x2, w2, mode="valid"))
    assert not np.allclose(torch_out[0, 0].numpy(), signal.convolve2d(x2, w2, mode="valid"))


def test_impulse_response_is_the_kernel_for_convolution_and_rotated_for_correlation():
    impulse = np.zeros((5, 5))
    impulse[2, 2] = 1
    k = np.arange(1.0, 10.0).reshape(3, 3)
    assert np.array_equal(conv.convolve2d(impulse, k, padding="same")[1:4, 1:4], k)
    assert np.array_equal(conv.correlate2d(impulse, k, padding="same")[1:4, 1:4], np.rot90(k, 2))


# --- Gabor kernels from their formula ----------------------------------------------------


def test_gabor_kernel_matches_the_formula_element_by_element(l04):
    size, sigma, theta, lam, gamma, psi = 9, 2.0, 0.7, 5.0, 0.6, 0.3
    g = l04["gabor_kernel"](size, sigma, theta, lam, gamma=gamma, psi=psi)
    assert g.shape == (size, size)
    for r in range(size):
        for c in range(size):
            x, y = c - size // 2, size // 2 - r  # x to the right, y up, origin at the centre
            along = x * math.cos(theta) + y * math.sin(theta)
            across = -x * math.sin(theta) + y * math.cos(theta)
            expected = math.exp(-(gamma**2 * along**2 + across**2) / (2 * sigma**2)) * math.cos(
                2 * math.pi * across / lam + psi
            )
            assert g[r, c] == pytest.approx(expected, abs=1e-12)


def test_gabor_orientations_and_separability(l04):
    gabor = l04["gabor_kernel"]
    g0 = gabor(11, 2.5, 0.0, 6)
    assert np.allclose(gabor(11, 2.5, np.pi / 2, 6), g0.T)  # 90° is the transpose
    assert np.allclose(gabor(11, 2.5, np.pi, 6), g0)  # a cosine is even
    assert np.linalg.matrix_rank(g0, tol=1e-10) == 1  # a product of f(x) and g(y)
    assert np.linalg.matrix_rank(gabor(11, 2.5, np.pi / 4, 6), tol=1e-10) > 1
    with pytest.raises(ValueError, match="odd"):
        gabor(10, 2.5, 0.0, 6)


@pytest.mark.parametrize(
    "degrees,right,up", [(0, 1, 0), (45, 1, 1), (90, 0, 1), (135, -1, 1)]
)
def test_gabor_stripes_run_at_the_stated_angle_in_the_plotted_kernel(l04, degrees, right, up):
    # In the plotted kernel (row 0 at the top) a step of (right, up) cells along the stated
    # angle keeps the value (the centre stripe); a step at a right angle to it changes it.
    g = l04["gabor_kernel"](41, 6.0, np.deg2rad(degrees), 12, gamma=0.0)  # no taper along
    c = 20
    for k in (-6, -2, 3, 7):
        assert g[c - k * up, c + k * right] == pytest.approx(g[c, c])
        assert g[c - k * right, c - k * up] < 0.9 * g[c, c]  # (right, up) turned by 90°


# --- 1x1 convolution ---------------------------------------------------------------------


def test_1x1_convolution_is_a_matrix_product_over_channels():
    x, w = rng_tensor(6, 5, 7).numpy(), rng_tensor(4, 6, seed=1).numpy()
    by_matrix = (w @ x.reshape(6, -1)).reshape(4, 5, 7)
    assert np.allclose(conv.correlate2d(x, w[:, :, None, None]), by_matrix)
    torch_out = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(w)[:, :, None, None])
    assert np.allclose(torch_out[0].numpy(), by_matrix)


def test_1x1_convolution_with_luma_weights_is_the_gray_photo():
    rgb = data.load_photo(size=(30, 26)).transpose(2, 0, 1)  # (3, H, W)
    luma = np.array([[0.299, 0.587, 0.114]])[:, :, None, None]  # (K=1, S=3, 1, 1)
    assert np.allclose(conv.correlate2d(rgb, luma)[0], data.load_photo(gray=True, size=(30, 26)))


# --- convolution as a matrix product and its backward pass --------------------------------

MATRIX_CASES = [  # (input (H, W), kernel (F_h, F_w), stride, padding)
    ((5, 5), (3, 3), 1, 0),
    ((5, 5), (3, 3), 2, 0),
    ((6, 7), (3, 2), 1, 1),
    ((7, 7), (3, 3), 3, 0),  # the stride drops the last row and column
    ((8, 6), (5, 3), 2, 2),
    ((4, 4), (1, 1), 1, 0),
]


@pytest.mark.parametrize("shape,kshape,stride,padding", MATRIX_CASES)
def test_conv_matrix_times_the_input_is_conv2d(l04, shape, kshape, stride, padding):
    x, w = rng_tensor(*shape), rng_tensor(*kshape, seed=1)
    T = l04["conv_matrix"](w.numpy(), shape, stride=stride, padding=padding)
    out = F.conv2d(x[None, None], w[None, None], stride=stride, padding=padding)[0, 0]
    assert T.shape == (out.numel(), x.numel())
    assert np.allclose(T @ x.numpy().ravel(), out.numpy().ravel())
    assert (np.count_nonzero(T, axis=1) <= w.numel()).all()  # locality


@pytest.mark.parametrize("shape,kshape,stride,padding", MATRIX_CASES)
def test_conv_matrix_transpose_is_the_input_gradient(l04, shape, kshape, stride, padding):
    x = rng_tensor(*shape)[None, None].requires_grad_(True)
    w = rng_tensor(*kshape, seed=1)[None, None]
    out = F.conv2d(x, w, stride=stride, padding=padding)
    g = rng_tensor(*out.shape, seed=2)
    out.backward(g)
    T = l04["conv_matrix"](w[0, 0].numpy(), shape, stride=stride, padding=padding)
    assert np.allclose(T.T @ g.numpy().ravel(), x.grad.numpy().ravel())
    extra = [conv.dropped(n, k, stride, padding) for n, k in zip(shape, kshape, strict=True)]
    transposed = F.conv_transpose2d(g, w, stride=stride, padding=padding, output_padding=extra)
    assert torch.allclose(transposed, x.grad)


def test_backward_is_a_full_convolution_and_the_weight_gradient_a_correlation():
    x = rng_tensor(1, 1, 6, 7).requires_grad_(True)
    w = rng_tensor(1, 1, 3, 3, seed=1).requires_grad_(True)
    for stride in (1, 2):
        x.grad = w.grad = None
        out = F.conv2d(x, w, stride=stride)
        g = rng_tensor(*out.shape, seed=2)
        out.backward(g)
        G = g[0, 0].numpy()
        dw = conv.correlate2d(x.detach()[0, 0].numpy(), G, dilation=stride)[:3, :3]  # m, n < F
        assert np.allclose(dw, w.grad[0, 0].numpy())
        if stride == 1:
            dx = conv.convolve2d(G, w.detach()[0, 0].numpy(), padding="full")
            assert np.allclose(dx, x.grad[0, 0].numpy())


def test_the_32x32_same_padding_matrix_of_the_lecture(l04):
    T = l04["conv_matrix"](np.arange(1.0, 10.0).reshape(3, 3), (32, 32), padding=1)
    assert T.shape == (1024, 1024)
    # along one axis, 32 windows of 3 taps read 3·32 − 2 pixels inside the image
    assert np.count_nonzero(T) == (3 * 32 - 2) ** 2 <= 9 * 1024
    assert set(np.unique(T)) == set(range(10))  # the 9 weights and zero, nothing else


def test_im2col_with_unfold_is_the_convolution():
    x, w = rng_tensor(1, 2, 6, 5), rng_tensor(3, 2, 3, 3, seed=1)
    columns = F.unfold(x, kernel_size=3)  # (1, C·F·F, H'·W')
    by_im2col = (w.reshape(3, -1) @ columns[0]).reshape(3, 4, 3)
    assert np.allclose(by_im2col.numpy(), conv.correlate2d(x[0].numpy(), w.numpy()))


# --- spatially separable, grouped and depthwise separable convolutions --------------------


def test_sobel_is_an_outer_product_and_two_1d_passes_equal_one_2d_pass(l04):
    assert np.array_equal(l04["sobel_2d"], kernel_preset("Sobel x")[0])
    assert torch.allclose(l04["two_passes"], l04["one_pass"])
    gen = np.random.default_rng(0)
    x, u, v = gen.normal(size=(9, 11)), gen.normal(size=5), gen.normal(size=3)
    passes = conv.correlate2d(conv.correlate2d(x, u[:, None]), v[None, :])
    assert np.allclose(passes, conv.correlate2d(x, np.outer(u, v)))


@pytest.mark.parametrize(
    "in_channels,out_channels,kernel_size,groups",
    [(64, 64, 3, 1), (64, 64, 3, 2), (64, 64, 3, 64), (12, 18, 5, 3), (8, 4, 1, 4)],
)
def test_grouped_conv_params_match_torch(l04, in_channels, out_channels, kernel_size, groups):
    layer = nn.Conv2d(in_channels, out_channels, kernel_size, groups=groups)
    ours = l04["grouped_conv_params"](in_channels, out_channels, kernel_size, groups)
    assert ours == n_params(layer)


def test_grouped_conv_params_rejects_groups_that_do_not_divide(l04):
    with pytest.raises(ValueError, match="groups=3"):
        l04["grouped_conv_params"](64, 64, 3, 3)
    with pytest.raises(ValueError):
        nn.Conv2d(64, 64, 3, groups=3)  # torch refuses as well


@pytest.mark.parametrize("in_channels,out_channels,kernel_size", [(64, 64, 3), (128, 256, 3)])
def test_depthwise_separable_params_match_torch(l04, in_channels, out_channels, kernel_size):
    block = nn.Sequential(
        nn.Conv2d(in_channels, in_channels, kernel_size, groups=in_channels),
        nn.Conv2d(in_channels, out_channels, 1),
    )
    ours = l04["depthwise_separable_params"](in_channels, out_channels, kernel_size)
    assert ours == n_params(block)


def test_depthwise_separable_numbers_typed_in_the_lecture(l04):
    assert l04["depthwise_separable_params"](128, 256, 3) == 1_280 + 33_024 == 34_304
    assert n_params(nn.Conv2d(128, 256, 3)) == 295_168
    assert f"{295_168 / 34_304:.1f}" == "8.6"


def test_grouped_convolution_is_independent_convolutions_on_channel_groups():
    x, w = rng_tensor(1, 6, 7, 7), rng_tensor(4, 3, 3, 3, seed=1)  # 2 groups of 3 channels
    together = F.conv2d(x, w, groups=2)[0].numpy()
    first = conv.correlate2d(x[0, :3].numpy(), w[:2].numpy())
    second = conv.correlate2d(x[0, 3:].numpy(), w[2:].numpy())
    assert np.allclose(together, np.concatenate([first, second]))


# --- learning a kernel by gradient descent -------------------------------------------------


def test_one_step_of_learn_kernel_is_the_closed_form_gradient_step(l04):
    # L = mean((X ⋆ w - Y)²): dL/dw = 2/M · Σ_n X_n ⋆ err_n, a correlation of the inputs with
    # the errors (M = number of outputs), written here with F.conv2d over the batch axis.
    gen = torch.Generator().manual_seed(3)
    X = torch.randn(5, 1, 9, 8, generator=gen, dtype=torch.float64)
    Y = torch.randn(5, 1, 7, 6, generator=gen, dtype=torch.float64)
    w0 = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    err = F.conv2d(X, w0) - Y
    grad = 2 / Y.numel() * F.conv2d(X.transpose(0, 1), err.transpose(0, 1))  # (1, 1, 3, 3)
    w1, losses = l04["learn_kernel"](X, Y, lr=0.05, num_steps=1, seed=7)
    assert torch.allclose(w1, w0 - 0.05 * grad)
    assert losses == [pytest.approx((err**2).mean().item())]


@pytest.mark.parametrize("seed", [1, 2])
def test_learn_kernel_recovers_a_random_hidden_kernel_from_noise(l04, seed):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(1, 1, 3, 3, generator=gen)
    X = torch.randn(8, 1, 24, 24, generator=gen)
    w, losses = l04["learn_kernel"](X, F.conv2d(X, hidden), num_steps=80, seed=seed + 10)
    assert torch.allclose(w, hidden, atol=1e-3)
    assert losses[-1] < 1e-6 * losses[0]
    start = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(seed + 10))
    assert not torch.allclose(start, hidden, atol=0.1)  # the start was far from the answer

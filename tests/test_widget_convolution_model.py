"""The convolution explorer's model and readouts, without widgets: the layer against
torch.nn.functional, kernels and parsing against worked examples (no ipywidgets, no drawing)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.widgets import convolution_model as model
from course.widgets import convolution_readouts as readouts


def torch_conv(x, weights, stride, padding, dilation) -> np.ndarray:
    """Cross-correlation of ``x: (C, H, W)`` with ``weights: (K, C, F, F)`` by torch."""
    out = F.conv2d(
        torch.as_tensor(x, dtype=torch.float64)[None],
        torch.as_tensor(weights, dtype=torch.float64),
        stride=stride,
        padding=padding,
        dilation=dilation,
    )
    return out[0].numpy()


@pytest.mark.parametrize(
    ("channels", "size", "f", "stride", "padding", "dilation"),
    [(1, 7, 3, 1, 0, 1), (1, 9, 5, 2, 2, 1), (3, 8, 3, 3, 1, 2), (1, 6, 3, 2, 4, 2)],
)
@pytest.mark.parametrize("flip", [False, True])
def test_apply_kernel_matches_torch(channels, size, f, stride, padding, dilation, flip):
    rng = np.random.default_rng(size + f)
    x = rng.normal(size=(channels, size, size + 1))
    kernel = rng.integers(-2, 3, size=(f, f)).astype(float)
    weights, out, title = model.apply_kernel(
        x, kernel, np.eye(1), False, flip, stride, padding, dilation
    )
    applied = np.flip(kernel, (0, 1)) if flip else kernel  # convolution flips the kernel
    expected = torch_conv(x, np.repeat(applied[None, None], channels, axis=1), stride, padding,
                          dilation)[0]  # fmt: skip
    np.testing.assert_allclose(out, expected, atol=1e-10)
    assert weights.shape == (channels, f, f) and ("flipped" in title) == flip
    assert ("R, G, B" in title) == (channels == 3)


def test_apply_kernel_mixing_is_a_1x1_convolution():
    rng = np.random.default_rng(1)
    x = rng.random((3, 5, 6))
    sepia = np.array(model.MIXING_PRESETS["sepia"])
    weights, out, title = model.apply_kernel(x, np.eye(3), sepia, True, False, 2, 1, 3)
    np.testing.assert_allclose(out, torch_conv(x, sepia[:, :, None, None], 2, 1, 1), atol=1e-12)
    assert out.shape == (3, 4, 4) and title == "1x1 mixing matrix"


def test_apply_kernel_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"x must have shape \(C, H, W\); got \(4, 4\)"):
        model.apply_kernel(np.zeros((4, 4)), np.eye(3), np.eye(1), False, False, 1, 0, 1)
    with pytest.raises(ValueError, match=r"kernel must have shape \(F, F\)"):
        model.apply_kernel(np.zeros((1, 4, 4)), np.ones((2, 3)), np.eye(1), False, False, 1, 0, 1)
    with pytest.raises(ValueError, match=r"mixing_matrix must have shape \(K, 3\)"):
        model.apply_kernel(np.zeros((3, 4, 4)), np.eye(3), np.ones((1, 2)), True, False, 1, 0, 1)


@pytest.mark.parametrize("size", [3, 5])
def test_presets_worked_examples(size):
    binomial = np.array([1, 2, 1] if size == 3 else [1, 4, 6, 4, 1])
    numerators, denominator = model.kernel_preset("Gaussian blur", size)
    np.testing.assert_array_equal(numerators, np.outer(binomial, binomial))
    assert denominator == binomial.sum() ** 2  # the blur keeps a flat image as it is
    box, n = model.kernel_preset("box blur", size)
    assert box.sum() == n == size * size
    for name in ("sharpen", "identity"):  # weights adding up to 1 keep flat regions
        numerators, denominator = model.kernel_preset(name, size)
        assert numerators.sum() == denominator
    for name in ("Sobel x", "Sobel y", "Laplacian"):  # derivatives: 0 on a flat image
        assert model.kernel_preset(name, size)[0].sum() == 0
    sobel_x = model.kernel_preset("Sobel x", size)[0]
    np.testing.assert_array_equal(model.kernel_preset("Sobel y", size)[0], sobel_x.T)
    ramp = np.tile(np.arange(size, dtype=float), (size, 1))  # brighter to the right
    assert (sobel_x * ramp).sum() > 0
    with pytest.raises(ValueError, match="3x3 or 5x5"):
        model.kernel_preset("identity", 4)
    with pytest.raises(ValueError, match="unknown kernel preset 'blur'"):
        model.kernel_preset("blur")


def test_random_preset_follows_its_generator():
    a = model.kernel_preset("random", 3, np.random.default_rng(5))[0]
    b = model.kernel_preset("random", 3, np.random.default_rng(5))[0]
    np.testing.assert_array_equal(a, b)
    assert a.min() >= -2 and a.max() <= 2


def test_matrix_text_round_trips_through_parse_matrix():
    gauss = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256
    text = model.matrix_text(gauss)
    assert "36/256" in text and "9/64" not in text  # over the common denominator
    np.testing.assert_allclose(model.parse_matrix(text, "kernel"), gauss)
    luma = model.MIXING_PRESETS["RGB → gray (luma)"]
    np.testing.assert_allclose(model.parse_matrix(model.matrix_text(luma), "mix"), luma)
    assert model.common_denominator(np.array([0.5, 0.25, 1 / 3])) == 12
    assert model.common_denominator(np.array([np.pi])) == 1


def test_parse_matrix_errors_name_the_row():
    assert model.parse_matrix("[[1, −2], [3, 1/4]]", "kernel").tolist() == [[1, -2], [3, 0.25]]
    with pytest.raises(ValueError, match="the grid is empty"):
        model.parse_matrix("  \n", "grid")
    with pytest.raises(ValueError, match="row 2 of the kernel: 'x' is not a number"):
        model.parse_matrix("1 2\n3 x", "kernel")
    with pytest.raises(ValueError, match="row 2 of the kernel has 1 number but row 1 has 2"):
        model.parse_matrix("1 2\n3", "kernel")


def test_resize_kernel_pads_and_crops_around_the_centre():
    k = np.arange(9.0).reshape(3, 3)
    big = model.resize_kernel(k, 5)
    assert big.shape == (5, 5) and big.sum() == k.sum() and big[2, 2] == k[1, 1]
    np.testing.assert_array_equal(model.resize_kernel(big, 3), k)
    with pytest.raises(ValueError, match="differ from 3 by an even number"):
        model.resize_kernel(k, 4)


@pytest.mark.parametrize(("n", "window", "stride"), [(5, 2, 2), (6, 3, 1), (7, 3, 2)])
def test_pooled_cells_are_the_windows_that_hold_the_cell(n, window, stride):
    """Reference: torch's unfold of the cell indices, one column per pooling window."""
    index = torch.arange(n * n, dtype=torch.float64).reshape(1, 1, n, n)
    columns = F.unfold(index, window, stride=stride)[0]  # (window², windows)
    m = (n - window) // stride + 1
    for i in range(n):
        for j in range(n):
            held = model.pooled_cells((i, j), (m, m), window, stride)
            expected = [divmod(k, m) for k in range(m * m) if (columns[:, k] == i * n + j).any()]
            assert held == expected


def test_formula_and_products_agree_with_torch():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, size=(1, 9, 9)).astype(float)
    kernel, denominator = model.kernel_preset("Gaussian blur", 3)
    s, p, d = 2, 1, 1
    weights, out, _ = model.apply_kernel(x, kernel / denominator, None, False, False, s, p, d)
    expected = torch_conv(x, weights[None], s, p, d)
    formula = readouts.formula_html(3, 9, 9, s, p, d, 1, out)
    size = re.search(r"output (\d+)×(\d+)", formula)
    assert (int(size[1]), int(size[2])) == expected.shape[-2:]
    assert "(3·3·1)·1 + 1 = 10" in formula  # parameters: F·F·D₁·K + K
    cell = (2, 3)
    rows = np.arange(3) + cell[0] * s - p
    cols = np.arange(3) + cell[1] * s - p
    text = readouts.products_html(x, cell, (rows, cols), weights, False, False)
    total = float(re.search(r"<b>([^<]+)</b>", text)[1].replace("\u2212", "-"))
    assert total == pytest.approx(expected[0][cell], abs=1e-4)
    assert text.count("/16)·") == 9


def test_warning_names_rows_a_stride_never_reads():
    """N = 8, F = 3, S = 2, P = 0: windows start at 0, 2, 4 and end at 6, so row 7 is unread."""
    drop = (1, 1)
    html = readouts.warning_html([], 3, 8, 8, 2, 0, 1, drop, np.zeros((3, 3)))
    assert "rows 7" not in html and "row 7 of the input is never read" in html
    assert readouts.warning_html([], 3, 7, 7, 2, 0, 1, (0, 0), np.zeros((3, 3))) == ""


def test_model_and_readouts_import_no_widgets_or_drawing():
    code = (
        "import sys, course.widgets.convolution_model, course.widgets.convolution_readouts; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in "
        "('ipywidgets', 'matplotlib', 'PIL')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"\[\]\s*", out.stdout), out.stdout

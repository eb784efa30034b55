"""course.conv: arithmetic checked against SYLLABUS worked examples and closed forms, the
reference NumPy operations checked against torch.nn.functional."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course import conv

# --- output size (L04 checks) -------------------------------------------------------------


def test_output_size_syllabus_checks():
    assert conv.output_size(7, 3, stride=1) == 5
    assert conv.output_size(7, 3, stride=2) == 3
    assert conv.output_size(7, 3, stride=3) == 2  # floor, as PyTorch
    assert conv.output_size(7, 3, stride=1, padding=1) == 7


def test_stride_three_does_not_fit_strict():
    with pytest.raises(ValueError) as info:
        conv.output_size(7, 3, stride=3, strict=True)
    message = str(info.value)
    assert "2.33" in message and "(7 − 3 + 0)/3 + 1" in message and "drops 1 column" in message
    assert conv.dropped(7, 3, stride=3) == 1


def test_strict_accepts_exact_tiling():
    assert conv.output_size(7, 3, stride=2, strict=True) == 3
    assert conv.dropped(7, 3, stride=2) == 0


@pytest.mark.parametrize("kernel_size,dilation", [(3, 1), (3, 2), (3, 3), (5, 2), (2, 4)])
def test_dilation_effective_size(kernel_size, dilation):
    effective = dilation * (kernel_size - 1) + 1
    # an input exactly the effective size gives one output cell; one smaller is an error
    assert conv.output_size(effective, kernel_size, dilation=dilation) == 1
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv.output_size(effective - 1, kernel_size, dilation=dilation)


@given(
    n=st.integers(1, 40),
    k=st.integers(1, 7),
    s=st.integers(1, 5),
    p=st.integers(0, 4),
    d=st.integers(1, 4),
)
@settings(max_examples=200, deadline=None)
def test_output_size_matches_torch(n, k, s, p, d):
    if d * (k - 1) + 1 > n + 2 * p:
        with pytest.raises(ValueError):
            conv.output_size(n, k, s, p, d)
        return
    layer = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d)
    expected = layer(torch.zeros(1, 1, n)).shape[-1]
    assert conv.output_size(n, k, s, p, d) == expected
    drop = conv.dropped(n, k, s, p, d)
    assert 0 <= drop < s
    assert (drop == 0) == ((n + 2 * p - d * (k - 1) - 1) % s == 0)


@pytest.mark.parametrize(
    "kwargs,words",
    [
        (dict(n=7, kernel_size=3, stride=0), "stride must be >= 1"),
        (dict(n=7, kernel_size=3, padding=-1), "padding"),
        (dict(n=7, kernel_size=0), "kernel_size must be >= 1"),
        (dict(n=2, kernel_size=3), "larger than the padded input N + 2P = 2"),
        (dict(n=7.0, kernel_size=3), "must be an integer"),
        (dict(n=7, kernel_size=3, dilation=0), "dilation must be >= 1"),
    ],
)
def test_output_size_errors_speak(kwargs, words):
    with pytest.raises(ValueError, match=words.replace("+", r"\+")):
        conv.output_size(**kwargs)


def test_padding_for_modes_keep_or_grow_size():
    for kernel_size in (1, 3, 5, 7):
        for dilation in (1, 2, 3):
            span = dilation * (kernel_size - 1)
            same = conv.padding_for("same", kernel_size, dilation)
            full = conv.padding_for("full", kernel_size, dilation)
            assert conv.padding_for("valid", kernel_size, dilation) == 0
            assert conv.output_size(9, kernel_size, 1, same, dilation) == 9
            assert conv.output_size(9 + span, kernel_size, 1, full, dilation) == 9 + 2 * span


def test_padding_for_errors():
    with pytest.raises(ValueError, match="even"):
        conv.padding_for("same", 2)
    with pytest.raises(ValueError, match="valid"):
        conv.padding_for("half", 3)


# --- parameter counts and receptive fields ------------------------------------------------


def test_parameter_counts_syllabus_check():
    dense = conv.linear_params(512 * 512, 64)
    filters = conv.conv_params(1, 64, 7)
    assert dense == (512**2 + 1) * 64 == 16_777_280
    assert round(dense / 1e6, 1) == 16.8
    assert filters == (7**2 + 1) * 64 == 3_200


@pytest.mark.parametrize(
    "in_channels,out_channels,kernel_size,bias",
    [(3, 16, 5, True), (8, 4, (3, 1), False), (1, 1, 1, True)],
)
def test_parameter_counts_match_torch(in_channels, out_channels, kernel_size, bias):
    layer = torch.nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)
    assert conv.conv_params(in_channels, out_channels, kernel_size, bias) == sum(
        p.numel() for p in layer.parameters()
    )
    dense = torch.nn.Linear(in_channels, out_channels, bias=bias)
    assert conv.linear_params(in_channels, out_channels, bias) == sum(
        p.numel() for p in dense.parameters()
    )


def _receptive_field_by_gradient(layers, n=64):
    """Independent reference: which input pixels change the centre output of a 1-D stack."""
    x = torch.ones(1, 1, n, requires_grad=True)
    y = x
    for layer in layers:
        kernel, stride = layer[0], layer[1]
        dilation = layer[2] if len(layer) == 3 else 1
        weight = torch.ones(1, 1, kernel, dtype=x.dtype)
        y = F.conv1d(y, weight, stride=stride, dilation=dilation)
    y[0, 0, y.shape[-1] // 2].backward()
    touched = torch.nonzero(x.grad[0, 0]).flatten()
    return int(touched.max() - touched.min() + 1)


@pytest.mark.parametrize(
    "layers",
    [
        [(3, 1)] * 3,
        [(7, 2), (3, 2), (3, 1), (3, 1)],
        [(3, 1, 2), (3, 1, 4)],
        [(5, 1), (2, 2), (5, 1), (2, 2)],
        [(1, 1)],
    ],
)
def test_receptive_field_matches_gradient_footprint(layers):
    assert conv.receptive_field(layers) == _receptive_field_by_gradient(layers)
    strides = np.cumprod([layer[1] for layer in layers])
    assert [jump for _, jump in conv.receptive_field_table(layers)] == strides.tolist()


def test_three_stacked_3x3_see_7x7():
    assert conv.receptive_field([(3, 1)] * 3) == 7
    assert conv.receptive_field([]) == 1
    with pytest.raises(ValueError, match="layer 1"):
        conv.receptive_field([(3, 1), (3,)])


# --- reference operations against torch ---------------------------------------------------


def _torch_conv(image, kernel, stride, padding, dilation):
    x = torch.from_numpy(np.asarray(image, dtype=np.float64))
    w = torch.from_numpy(np.asarray(kernel, dtype=np.float64))
    if x.ndim == 2:
        x, w = x[None], w[None, None]
    elif w.ndim == 3:
        w = w[None]
    out = F.conv2d(x[None], w, stride=stride, padding=padding, dilation=dilation)[0]
    return out.numpy()


@st.composite
def conv_case(draw):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    sh, sw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # an input at least as large as the effective kernel minus the padding
    h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 13))
    w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 13))
    channels = draw(st.sampled_from([None, 1, 3]))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    shape = (h, w) if channels is None else (channels, h, w)
    image = rng.integers(-4, 5, size=shape).astype(float)
    kernel_shape = (kh, kw) if channels is None else (channels, kh, kw)
    kernel = rng.normal(size=kernel_shape)
    return image, kernel, (sh, sw), (ph, pw), (dh, dw)


@given(conv_case())
@settings(max_examples=150, deadline=None)
def test_correlate2d_matches_torch_conv2d(case):
    image, kernel, stride, padding, dilation = case
    ours = conv.correlate2d(image, kernel, stride, padding, dilation)
    expected = _torch_conv(image, kernel, stride, padding, dilation)
    expected = expected[0] if ours.ndim == 2 else expected
    np.testing.assert_allclose(ours, expected, atol=1e-10)


@given(conv_case())
@settings(max_examples=60, deadline=None)
def test_convolve2d_is_correlation_with_flipped_kernel(case):
    image, kernel, stride, padding, dilation = case
    ours = conv.convolve2d(image, kernel, stride, padding, dilation)
    flipped = np.flip(kernel, axis=(-2, -1)).copy()
    expected = _torch_conv(image, flipped, stride, padding, dilation)
    np.testing.assert_allclose(ours, expected[0] if ours.ndim == 2 else expected, atol=1e-10)


def test_correlate2d_filter_bank_and_string_padding():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(3, 9, 8))
    bank = rng.normal(size=(4, 3, 3, 3))  # (K, C, kh, kw)
    ours = conv.correlate2d(image, bank, stride=1, padding="same", dilation=2)
    expected = F.conv2d(
        torch.from_numpy(image)[None], torch.from_numpy(bank), padding="same", dilation=2
    )[0].numpy()
    assert ours.shape == (4, 9, 8)
    np.testing.assert_allclose(ours, expected, atol=1e-10)


def test_correlate2d_errors_speak():
    with pytest.raises(ValueError, match=r"kernel \(3, 3\) is 2-D but the image has 3 channels"):
        conv.correlate2d(np.zeros((3, 5, 5)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="depth 2 but the image has 3 channels"):
        conv.correlate2d(np.zeros((3, 5, 5)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv.correlate2d(np.zeros((2, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"shape \(H, W\) or \(C, H, W\)"):
        conv.correlate2d(np.zeros(5), np.zeros((3, 3)))


@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    kh=st.integers(1, 4),
    kw=st.integers(1, 4),
    sh=st.integers(1, 4),
    sw=st.integers(1, 4),
    channels=st.sampled_from([None, 2]),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=150, deadline=None)
def test_pool2d_matches_torch(h, w, kh, kw, sh, sw, channels, seed):
    if kh > h or kw > w:
        with pytest.raises(ValueError):
            conv.pool2d(np.zeros((h, w)), (kh, kw), (sh, sw))
        return
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(h, w) if channels is None else (channels, h, w))
    t = torch.from_numpy(x)[None] if channels else torch.from_numpy(x)[None, None]
    for mode, reference in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        expected = reference(t, (kh, kw), stride=(sh, sw))[0].numpy()
        expected = expected[0] if channels is None else expected
        np.testing.assert_allclose(conv.pool2d(x, (kh, kw), (sh, sw), mode), expected)


def test_pooling_syllabus_checks():
    x = [[3, 3, 2, 1, 0], [0, 0, 1, 3, 1], [3, 1, 2, 2, 3], [2, 0, 0, 2, 2], [2, 0, 0, 0, 1]]
    assert conv.pool2d(x, 3, stride=1).tolist() == [[3, 3, 3], [3, 3, 3], [3, 2, 3]]
    average = np.round(conv.pool2d(x, 3, stride=1, mode="avg"), 2)
    assert average.tolist() == [[1.67, 1.67, 1.67], [1.0, 1.22, 1.78], [1.11, 0.78, 1.33]]
    y = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]
    assert conv.pool2d(y, 2, stride=2).tolist() == [[6, 8], [3, 4]]


def test_pool2d_errors():
    with pytest.raises(ValueError, match="'max' or 'avg'"):
        conv.pool2d(np.zeros((4, 4)), 2, mode="mean")
    with pytest.raises(ValueError, match="larger than the padded input"):
        conv.pool2d(np.zeros((2, 4)), 3)


@given(conv_case())
@settings(max_examples=80, deadline=None)
def test_window_positions_reproduce_each_output_cell(case):
    """Reading the input at the returned positions (zeros outside) gives torch's output."""
    image, kernel, stride, padding, dilation = case
    expected = _torch_conv(image, kernel, stride, padding, dilation)
    x = image[None] if image.ndim == 2 else image  # (C, H, W)
    k = kernel[None] if kernel.ndim == 2 else kernel  # (C, kh, kw)
    (ph, pw), (h, w) = padding, x.shape[1:]
    padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    _, rows_out, cols_out = expected.shape
    for i in range(rows_out):
        for j in range(cols_out):
            rows, cols = conv.window_positions(
                i, j, k.shape[1:], stride, padding, dilation, input_shape=(h, w)
            )
            values = padded[:, rows + ph][:, :, cols + pw]  # (C, kh, kw)
            is_padding = ((rows < 0) | (rows >= h))[:, None] | ((cols < 0) | (cols >= w))[None]
            assert np.all(values[:, is_padding] == 0)
            assert np.isclose((values * k).sum(), expected[0, i, j])


def test_window_positions_checks_the_cell():
    with pytest.raises(ValueError, match=r"outside the 5x5 output"):
        conv.window_positions(5, 0, 3, input_shape=(7, 7))

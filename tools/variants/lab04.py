"""Variants of lab 04 (convolution and pooling): typical mistakes and correct alternatives.

The lab specifies PyTorch's conventions: cross-correlation (no flipped kernel), zero padding
on both sides, stride and dilation, the im2col layout of ``F.unfold``, gradients that sum
over the batch and all positions, pooling without padding, max-pool gradients to the arg max
(the first maximum when a window has several), average-pool shares of 1 / window^2, no input
modified in place, NumPy only, and float32 results accepted within tolerance.
"""

from __future__ import annotations

from tools.mutants import correct, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

_NAIVE = """
def conv_forward_naive(x, w, b, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    num_filters, _, HH, WW = w.shape
    span_h, span_w = dilation * (HH - 1) + 1, dilation * (WW - 1) + 1
    H_out = (H + 2 * padding - span_h) // stride + 1
    W_out = (W + 2 * padding - span_w) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((N, num_filters, H_out, W_out))
    for n in range(N):
        for f in range(num_filters):
            for i in range(H_out):
                for j in range(W_out):
                    top, left = i * stride, j * stride
                    rows = slice(top, top + span_h, dilation)
                    cols = slice(left, left + span_w, dilation)
                    out[n, f, i, j] = np.sum(x_pad[n, :, rows, cols] * w[f]) + b[f]
    return out, (x, w, b, stride, padding, dilation)
"""

_BACKWARD = """
def conv_backward(dout, cache):
    x, w, b, stride, padding, dilation = cache
    N, C, H, W = x.shape
    num_filters, _, HH, WW = w.shape
    H_out, W_out = dout.shape[2], dout.shape[3]
    dout_mat = dout.reshape(N, num_filters, H_out * W_out)
    cols = im2col(x, HH, WW, stride, padding, dilation)
    db = dout.sum(axis=(0, 2, 3))
    dw = np.einsum("nfl,nkl->fk", dout_mat, cols).reshape(w.shape)
    dcols = np.matmul(w.reshape(num_filters, -1).T, dout_mat)
    dcols = dcols.reshape(N, C, HH, WW, H_out, W_out)
    dx_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    for k in range(HH):
        top = k * dilation
        for l in range(WW):
            left = l * dilation
            dx_pad[:, :, top : top + stride * (H_out - 1) + 1 : stride,
                   left : left + stride * (W_out - 1) + 1 : stride] += dcols[:, :, k, l]
    dx = dx_pad[:, :, padding : padding + H, padding : padding + W]
    return dx, dw, db
"""

_MAX_BACKWARD = """
def max_pool_backward(dout, cache):
    x, window, stride = cache
    N, C, H, W = x.shape
    dx = np.zeros(x.shape)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    top, left = i * stride, j * stride
                    region = x[n, c, top : top + window, left : left + window]
                    k, l = np.unravel_index(region.argmax(), region.shape)
                    dx[n, c, top + k, left + l] += dout[n, c, i, j]
    return dx
"""

_AVG_BACKWARD = """
def avg_pool_backward(dout, cache):
    x, window, stride = cache
    dx = np.zeros(x.shape)
    share = dout / (window * window)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            top, left = i * stride, j * stride
            dx[:, :, top : top + window, left : left + window] += share[:, :, i, j, None, None]
    return dx
"""


def _edit(grade_id: str, base: str, *changes: tuple[str, str]) -> dict[str, str]:
    """``base`` (a solution written out above) with some text replaced: (old, new) pairs."""
    for old, new in changes:
        if old not in base:
            raise ValueError(f"{old!r} is not in {grade_id}")
        base = base.replace(old, new)
    return {grade_id: base}


#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = 'max pool backward: gradient to every tied maximum'

VARIANTS = [
    # -- conv_forward_naive ----------------------------------------------------------------
    wrong("conv naive: flipped kernel (true convolution)", _edit(
        "conv_forward_naive", _NAIVE, ("* w[f])", "* w[f, :, ::-1, ::-1])")),
        "test_conv_forward_naive"),
    wrong("conv naive: dilation ignored", _edit(
        "conv_forward_naive", _NAIVE,
        ("span_h, span_w = dilation * (HH - 1) + 1, dilation * (WW - 1) + 1",
         "span_h, span_w = HH, WW"),
        ("slice(top, top + span_h, dilation)", "slice(top, top + span_h)"),
        ("slice(left, left + span_w, dilation)", "slice(left, left + span_w)")),
        "test_conv_forward_naive"),
    wrong("conv naive: stride ignored in the window position", _edit(
        "conv_forward_naive", _NAIVE, ("top, left = i * stride, j * stride", "top, left = i, j")),
        "test_conv_forward_naive"),
    wrong("conv naive: output size off by one (no + 1)", _edit(
        "conv_forward_naive", _NAIVE, ("- span_h) // stride + 1", "- span_h) // stride"),
        ("- span_w) // stride + 1", "- span_w) // stride")),
        "test_conv_forward_naive"),
    wrong("conv naive: padding on one side only", _edit(
        "conv_forward_naive", _NAIVE,
        ("((0, 0), (0, 0), (padding, padding), (padding, padding))",
         "((0, 0), (0, 0), (0, 2 * padding), (0, 2 * padding))")),
        "test_conv_forward_naive"),
    wrong("conv naive: dilated span d * HH", _edit(
        "conv_forward_naive", _NAIVE,
        ("dilation * (HH - 1) + 1, dilation * (WW - 1) + 1", "dilation * HH, dilation * WW")),
        "test_conv_forward_naive"),
    wrong("conv naive: output allocated like x (integers truncate)", _edit(
        "conv_forward_naive", _NAIVE, ("out = np.zeros((N, num_filters, H_out, W_out))",
                                       "out = np.zeros((N, num_filters, H_out, W_out), x.dtype)")),
        "test_conv_forward_naive"),
    wrong("conv naive: calls torch's conv2d", {"conv_forward_naive": """
def conv_forward_naive(x, w, b, stride=1, padding=0, dilation=1):
    import torch
    out = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w),
                                     torch.from_numpy(b), stride, padding, dilation)
    return out.numpy(), (x, w, b, stride, padding, dilation)
"""}, "test_conv_forward_naive"),
    correct("conv naive: float32 inputs and output", {"conv_forward_naive": _NAIVE.replace(
        "    N, C, H, W = x.shape\n",
        "    x_in, w_in, b_in = x, w, b\n"
        "    x, w, b = x.astype(np.float32), w.astype(np.float32), b.astype(np.float32)\n"
        "    N, C, H, W = x.shape\n").replace(
        "np.zeros((N, num_filters, H_out, W_out))",
        "np.zeros((N, num_filters, H_out, W_out), dtype=np.float32)").replace(
        "(x, w, b, stride, padding, dilation)", "(x_in, w_in, b_in, stride, padding, dilation)")}),
    correct("conv naive: loops over positions, einsum over the window", {"conv_forward_naive": """
def conv_forward_naive(x, w, b, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    x_pad = np.pad(x, [(0, 0), (0, 0), (padding,) * 2, (padding,) * 2])
    out = np.empty((N, F, H_out, W_out))
    for j in range(W_out):
        for i in range(H_out):
            rows = i * stride + dilation * np.arange(HH)
            cols = j * stride + dilation * np.arange(WW)
            window = x_pad[:, :, rows[:, None], cols[None, :]]  # (N, C, HH, WW)
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", window, w) + b
    return out, (x, w, b, stride, padding, dilation)
"""}),
    correct("conv naive: dense kernel with zeros between the taps", {"conv_forward_naive": """
def conv_forward_naive(x, w, b, stride=1, padding=0, dilation=1):
    F, C, HH, WW = w.shape
    w_dense = np.zeros((F, C, dilation * (HH - 1) + 1, dilation * (WW - 1) + 1))
    w_dense[:, :, ::dilation, ::dilation] = w
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    N, _, Hp, Wp = x_pad.shape
    KH, KW = w_dense.shape[2:]
    H_out, W_out = (Hp - KH) // stride + 1, (Wp - KW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                patch = x_pad[n, :, i * stride : i * stride + KH, j * stride : j * stride + KW]
                for f in range(F):
                    out[n, f, i, j] = (patch * w_dense[f]).sum() + b[f]
    return out, (x, w, b, stride, padding, dilation)
"""}),
    # -- im2col ----------------------------------------------------------------------------
    wrong("im2col: window flattened in (HH, WW, C) order", {"im2col": """
def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((N, HH, WW, C, H_out, W_out))
    for k in range(HH):
        for l in range(WW):
            rows = slice(k * dilation, k * dilation + stride * (H_out - 1) + 1, stride)
            cols_ = slice(l * dilation, l * dilation + stride * (W_out - 1) + 1, stride)
            cols[:, k, l] = x_pad[:, :, rows, cols_]
    return cols.reshape(N, HH * WW * C, H_out * W_out)
"""}, "test_im2col"),
    wrong("im2col: positions in column-major order (j * H_out + i)", {"im2col": """
def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((N, C, HH, WW, W_out, H_out))
    for k in range(HH):
        for l in range(WW):
            rows = slice(k * dilation, k * dilation + stride * (H_out - 1) + 1, stride)
            cols_ = slice(l * dilation, l * dilation + stride * (W_out - 1) + 1, stride)
            cols[:, :, k, l] = x_pad[:, :, rows, cols_].transpose(0, 1, 3, 2)
    return cols.reshape(N, C * HH * WW, H_out * W_out)
"""}, "test_im2col"),
    wrong("im2col: dilation ignored", {"im2col": """
def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.empty((N, C, HH, WW, H_out, W_out))
    for k in range(HH):
        for l in range(WW):
            cols[:, :, k, l] = x_pad[:, :, k : k + stride * (H_out - 1) + 1 : stride,
                                     l : l + stride * (W_out - 1) + 1 : stride]
    return cols.reshape(N, C * HH * WW, H_out * W_out)
"""}, "test_im2col"),
    correct("im2col: sliding_window_view", {"im2col": """
def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    N, C = x.shape[:2]
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    span = (dilation * (HH - 1) + 1, dilation * (WW - 1) + 1)
    view = np.lib.stride_tricks.sliding_window_view(x_pad, span, axis=(2, 3))
    view = view[:, :, ::stride, ::stride, ::dilation, ::dilation]  # (N, C, Ho, Wo, HH, WW)
    H_out, W_out = view.shape[2:4]
    return view.transpose(0, 1, 4, 5, 2, 3).reshape(N, C * HH * WW, H_out * W_out)
"""}),
    correct("im2col: one column per output position", {"im2col": """
def im2col(x, HH, WW, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    cols = np.zeros((N, C * HH * WW, H_out * W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride : i * stride + dilation * (HH - 1) + 1 : dilation,
                           j * stride : j * stride + dilation * (WW - 1) + 1 : dilation]
            cols[:, :, i * W_out + j] = window.reshape(N, -1)
    return cols
"""}),
    # -- conv_forward_im2col ---------------------------------------------------------------
    wrong("conv im2col: bias broadcast along positions (+ b)", {"conv_forward_im2col": """
def conv_forward_im2col(x, w, b, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    out = w.reshape(F, -1) @ im2col(x, HH, WW, stride, padding, dilation) + b
    return out.reshape(N, F, H_out, W_out), (x, w, b, stride, padding, dilation)
"""}, "test_conv_forward_im2col"),
    wrong("conv im2col: batch and filter axes mixed up in the reshape",
          {"conv_forward_im2col": """
def conv_forward_im2col(x, w, b, stride=1, padding=0, dilation=1):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    W_out = (W + 2 * padding - dilation * (WW - 1) - 1) // stride + 1
    cols = im2col(x, HH, WW, stride, padding, dilation)  # (N, K, L)
    cols = cols.transpose(1, 0, 2).reshape(C * HH * WW, -1)  # (K, N*L)
    out = w.reshape(F, -1) @ cols + b[:, None]  # (F, N*L)
    return out.reshape(N, F, H_out, W_out), (x, w, b, stride, padding, dilation)
"""}, "test_conv_forward_im2col"),
    correct("conv im2col: tensordot", {"conv_forward_im2col": """
def conv_forward_im2col(x, w, b, stride=1, padding=0, dilation=1):
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    cols = im2col(x, HH, WW, stride, padding, dilation)  # (N, K, L)
    out = np.tensordot(cols, w.reshape(F, -1), axes=([1], [1]))  # (N, L, F)
    out = out.transpose(0, 2, 1) + b.reshape(1, F, 1)
    H_out = (H + 2 * padding - dilation * (HH - 1) - 1) // stride + 1
    return out.reshape(N, F, H_out, -1), (x, w, b, stride, padding, dilation)
"""}),
    # -- conv_backward ---------------------------------------------------------------------
    wrong("conv backward: db of the first image only", _edit(
        "conv_backward", _BACKWARD,
        ("db = dout.sum(axis=(0, 2, 3))", "db = dout[0].sum(axis=(1, 2))")),
        "test_conv_backward"),
    wrong("conv backward: db not summed over positions", _edit(
        "conv_backward", _BACKWARD,
        ("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=0)[:, 0, 0]")),
        "test_conv_backward"),
    wrong("conv backward: stride ignored when scattering dx", _edit(
        "conv_backward", _BACKWARD,
        ("top : top + stride * (H_out - 1) + 1 : stride", "top : top + H_out"),
        ("left : left + stride * (W_out - 1) + 1 : stride", "left : left + W_out")),
        "test_conv_backward"),
    wrong("conv backward: dilation ignored when scattering dx", _edit(
        "conv_backward", _BACKWARD,
        ("top = k * dilation", "top = k"), ("left = l * dilation", "left = l")),
        "test_conv_backward"),
    wrong("conv backward: = instead of += (overlapping windows)", _edit(
        "conv_backward", _BACKWARD, ("] += dcols", "] = dcols")),
        "test_conv_backward"),
    wrong("conv backward: padding cropped with [p:-p] (empty for p = 0)", _edit(
        "conv_backward", _BACKWARD,
        ("dx_pad[:, :, padding : padding + H, padding : padding + W]",
         "dx_pad[:, :, padding:-padding, padding:-padding]")),
        "test_conv_backward"),
    wrong("conv backward: dw of the first image only", _edit(
        "conv_backward", _BACKWARD,
        ('np.einsum("nfl,nkl->fk", dout_mat, cols)', "(dout_mat[0] @ cols[0].T)")),
        "test_conv_backward"),
    wrong("conv backward: dx_pad allocated like x (integers truncate)", _edit(
        "conv_backward", _BACKWARD,
        ("dx_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding))",
         "dx_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=x.dtype)")),
        "test_conv_backward"),
    correct("conv backward: loops over images, filters and positions", {"conv_backward": """
def conv_backward(dout, cache):
    x, w, b, stride, padding, dilation = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    dx_pad, dw = np.zeros(x_pad.shape), np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * stride, i * stride + dilation * (HH - 1) + 1, dilation)
                    cols = slice(j * stride, j * stride + dilation * (WW - 1) + 1, dilation)
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
    dx = dx_pad[:, :, padding : padding + H, padding : padding + W]
    return dx, dw, np.einsum("nfij->f", dout)
"""}),
    correct("conv backward: float32 gradients", _edit(
        "conv_backward", _BACKWARD,
        ("    H_out, W_out = dout.shape[2], dout.shape[3]\n",
         "    H_out, W_out = dout.shape[2], dout.shape[3]\n"
         "    x, w, dout = x.astype(np.float32), w.astype(np.float32), dout.astype(np.float32)\n"),
        ("np.zeros((N, C, H + 2 * padding, W + 2 * padding))",
         "np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=np.float32)"))),
    # -- max pooling -----------------------------------------------------------------------
    wrong("max pool forward: output size off by one", {"max_pool_forward": """
def max_pool_forward(x, window=2, stride=2):
    N, C, H, W = x.shape
    H_out, W_out = (H - window) // stride, (W - window) // stride
    out = np.empty((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * stride : i * stride + window,
                                j * stride : j * stride + window].max(axis=(2, 3))
    return out, (x, window, stride)
"""}, "test_max_pool_forward"),
    wrong("max pool forward: windows start at i * window (stride ignored)", {"max_pool_forward": """
def max_pool_forward(x, window=2, stride=2):
    N, C, H, W = x.shape
    H_out, W_out = (H - window) // stride + 1, (W - window) // stride + 1
    out = np.empty((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * window : i * window + window,
                                j * window : j * window + window].max(axis=(2, 3))
    return out, (x, window, stride)
"""}, "test_max_pool_forward"),
    correct("max pool forward: sliding_window_view", {"max_pool_forward": """
def max_pool_forward(x, window=2, stride=2):
    view = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(2, 3))
    return view[:, :, ::stride, ::stride].max(axis=(4, 5)), (x, window, stride)
"""}),
    wrong("max pool backward: gradient to every tied maximum", _edit(
        "max_pool_backward", _MAX_BACKWARD,
        ("k, l = np.unravel_index(region.argmax(), region.shape)\n"
         "                    dx[n, c, top + k, left + l] += dout[n, c, i, j]",
         "dx[n, c, top : top + window, left : left + window] += (\n"
         "                        (region == region.max()) * dout[n, c, i, j])")),
        "test_max_pool_backward",
        note="the lab specifies the first maximum; after a ReLU whole windows tie at 0"),
    wrong("max pool backward: ties routed to the last maximum", _edit(
        "max_pool_backward", _MAX_BACKWARD,
        ("k, l = np.unravel_index(region.argmax(), region.shape)",
         "k, l = np.unravel_index(region.size - 1 - region[::-1, ::-1].argmax(), region.shape)")),
        "test_max_pool_backward",
        note="decided: the lab and PyTorch route a tie to the first maximum in row-major order"),
    wrong("max pool backward: dx allocated like x (integers truncate)", _edit(
        "max_pool_backward", _MAX_BACKWARD, ("dx = np.zeros(x.shape)", "dx = np.zeros_like(x)")),
        "test_max_pool_backward"),
    wrong("max pool backward: = instead of += (overlapping windows)", _edit(
        "max_pool_backward", _MAX_BACKWARD, ("] += dout[n, c, i, j]", "] = dout[n, c, i, j]")),
        "test_max_pool_backward"),
    wrong("max pool backward: stride ignored", _edit(
        "max_pool_backward", _MAX_BACKWARD,
        ("top, left = i * stride, j * stride", "top, left = i * window, j * window")),
        "test_max_pool_backward"),
    correct("max pool backward: loops with unravel_index", {"max_pool_backward": _MAX_BACKWARD}),
    correct("max pool backward: one-hot of the first arg max per window, float32 dout", {
        "max_pool_backward": """
def max_pool_backward(dout, cache):
    x, window, stride = cache
    dout = dout.astype(np.float32)
    view = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(2, 3))
    view = view[:, :, ::stride, ::stride]  # (N, C, H_out, W_out, window, window)
    flat = view.reshape(*view.shape[:4], -1)
    first = flat.argmax(axis=-1)  # (N, C, H_out, W_out)
    dx = np.zeros(x.shape, dtype=np.float32)
    N, C, H_out, W_out = first.shape
    for i in range(H_out):
        for j in range(W_out):
            k, l = np.divmod(first[:, :, i, j], window)
            n_idx, c_idx = np.indices((N, C))
            np.add.at(dx, (n_idx, c_idx, i * stride + k, j * stride + l), dout[:, :, i, j])
    return dx
"""}),
    # -- average pooling -------------------------------------------------------------------
    wrong("avg pool forward: sum instead of mean", {"avg_pool_forward": """
def avg_pool_forward(x, window=2, stride=2):
    view = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(2, 3))
    return view[:, :, ::stride, ::stride].sum(axis=(4, 5)), (x, window, stride)
"""}, "test_avg_pool_forward"),
    wrong("avg pool forward: output allocated like x (integers truncate)", {"avg_pool_forward": """
def avg_pool_forward(x, window=2, stride=2):
    view = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(2, 3))
    out = np.empty_like(view[:, :, ::stride, ::stride, 0, 0])
    out[...] = view[:, :, ::stride, ::stride].mean(axis=(-2, -1))
    return out, (x, window, stride)
"""}, "test_avg_pool_forward"),
    correct("avg pool forward: sliding_window_view mean", {"avg_pool_forward": """
def avg_pool_forward(x, window=2, stride=2):
    view = np.lib.stride_tricks.sliding_window_view(x, (window, window), axis=(2, 3))
    return view[:, :, ::stride, ::stride].mean(axis=(-2, -1)), (x, window, stride)
"""}),
    wrong("avg pool backward: dx allocated like x (integers truncate)", _edit(
        "avg_pool_backward", _AVG_BACKWARD, ("dx = np.zeros(x.shape)", "dx = np.zeros_like(x)")),
        "test_avg_pool_backward"),
    wrong("avg pool backward: not divided by the window size", _edit(
        "avg_pool_backward", _AVG_BACKWARD, ("share = dout / (window * window)", "share = dout")),
        "test_avg_pool_backward"),
    wrong("avg pool backward: divided by window, not window^2", _edit(
        "avg_pool_backward", _AVG_BACKWARD,
        ("share = dout / (window * window)", "share = dout / window")),
        "test_avg_pool_backward"),
    wrong("avg pool backward: = instead of += (overlapping windows)", _edit(
        "avg_pool_backward", _AVG_BACKWARD, ("] += share", "] = share")),
        "test_avg_pool_backward"),
    wrong("avg pool backward: dout /= window^2 (modifies dout in place)", _edit(
        "avg_pool_backward", _AVG_BACKWARD,
        ("share = dout / (window * window)", "dout /= window * window\n    share = dout")),
        "test_avg_pool_backward"),
    correct("avg pool backward: np.add.at per window tap", {"avg_pool_backward": """
def avg_pool_backward(dout, cache):
    x, window, stride = cache
    N, C, H_out, W_out = dout.shape
    dx = np.zeros_like(x, dtype=float)
    rows = stride * np.arange(H_out)
    cols = stride * np.arange(W_out)
    for k in range(window):
        for l in range(window):
            np.add.at(dx, (slice(None), slice(None), (rows + k)[:, None], (cols + l)[None, :]),
                      dout / window**2)
    return dx
"""}),
]

"""The convolution explorer's text readouts (HTML): output size, warnings, products.

Pure functions of the numbers in :mod:`course.widgets.convolution_model`: the output-size
formula with the numbers filled in (and the layer's parameter count and the pooled size),
the warnings (a stride that leaves rows or columns unread, pooling that skips some) and the
element-wise products of the current window, weights written over their common denominator.
"""

from __future__ import annotations

import html

import numpy as np

from course import conv
from course.widgets.convolution_model import (
    MINUS,
    common_denominator,
    format_sum,
    format_value,
    format_weight,
    over,
)

__all__ = ["formula_html", "warning_html", "products_html", "error_html"]

EQUALS = "&nbsp;=&nbsp;"  # a long sum wraps before its last term, never before "= total"


def formula_html(f, h, w, s, p, d, channels, output, pooled=None, pool=(2, 2)) -> str:
    """Output size ⌊(N − d(F − 1) − 1 + 2P)/S⌋ + 1 with the numbers filled in, the effective
    kernel size, the parameter count and the pooled size; ``output: (H', W')`` or
    ``(K, H', W')``, ``pool``: (window, stride)."""
    out_h, out_w = output.shape[-2:]

    def one(n, size):
        inner = n - d * (f - 1) - 1 + 2 * p
        return f"⌊({n} − {d}·({f} − 1) − 1 + 2·{p})/{s}⌋ + 1 = ⌊{inner}/{s}⌋ + 1 = <b>{size}</b>"

    lines = ["<b>Output size</b> ⌊(N − d(F − 1) − 1 + 2P)/S⌋ + 1:"]
    if h == w:
        lines.append(f"rows and columns: {one(h, out_h)}")
    else:
        lines.append(f"rows: {one(h, out_h)}; columns: {one(w, out_w)}")
    lines.append(f"→ output {out_h}×{out_w}.")
    body = " ".join(lines)
    extra = []
    if d > 1:
        extra.append(f"effective kernel size d(F − 1) + 1 = {d}·({f} − 1) + 1 = {d * (f - 1) + 1}")
    k_out = output.shape[0] if output.ndim == 3 else 1
    params = conv.conv_params(channels, k_out, f)
    extra.append(
        f"parameters of this layer ({k_out} filter{'s' if k_out > 1 else ''} of depth "
        f"D₁ = {channels}, with biases): (F·F·D₁)·K + K = ({f}·{f}·{channels})·{k_out} + "
        f"{k_out} = {params}"
    )
    if pooled is not None:
        window, stride = pool
        ph, pw = pooled.shape[-2:]
        sizes = f"⌊({out_h} − {window})/{stride}⌋ + 1 = <b>{ph}</b>"
        if out_h != out_w:
            sizes += f"; columns ⌊({out_w} − {window})/{stride}⌋ + 1 = <b>{pw}</b>"
        extra.append(f"pooling ⌊(N − F)/S⌋ + 1: {sizes}")
    return f"<div style='line-height:1.6'>{body}<br>" + "<br>".join(extra) + "</div>"


def warning_html(notes, f, h, w, s, p, d, drop, output, pooled=None, pool=(2, 2)) -> str:
    """``notes`` and the rows and columns a stride or a pooling window never reads (HTML)."""
    messages = list(notes)
    for axis, n, count in (("row", h, drop[0]), ("column", w, drop[1])):
        if not count:
            continue
        effective = d * (f - 1) + 1
        exact = (n - effective + 2 * p) / s + 1
        formula = f"({n} − {effective} + {2 * p})/{s} + 1 = {exact:.2f}"
        first = n + p - count  # first dropped index in input coordinates
        names = [str(k) if k < n else f"{k} (padding)" for k in range(first, n + p)]
        plural = "s" if count > 1 else ""
        messages.append(
            f"stride {s} does not tile the {n} {axis}s: {formula} is not an integer, so "
            f"{axis}{plural} {', '.join(names)} of the input {'are' if count > 1 else 'is'} "
            f"never read (hatched in red)."
        )
    if pooled is not None:
        out_h, out_w = output.shape[-2:]
        window, stride = pool
        for axis, n in (("row", out_h), ("column", out_w)):
            left = conv.dropped(n, window, stride)
            if left:
                messages.append(
                    f"pooling window {window}, stride {stride} skips the last {left} "
                    f"output {axis}{'s' if left > 1 else ''}."
                )
    if not messages:
        return ""
    items = "<br>".join(f"⚠ {html.escape(m)}" for m in messages)
    return (
        "<div style='background:#fff4e5;border-left:4px solid #ff7f0e;padding:4px 8px;"
        f"line-height:1.45'>{items}</div>"
    )


def products_html(x, cell, window, weights, mixing: bool, photo: bool) -> str:
    """The sum of products of output ``cell`` (HTML): ``x: (C, H, W)``, ``window``: the input
    rows and columns it reads, ``weights`` as applied (``(C, F, F)`` or ``(K, C)``)."""
    (i, j), (rows, cols) = cell, window
    _, h, w = x.shape

    def value_at(c, r, q):
        inside = 0 <= r < h and 0 <= q < w
        return (x[c, r, q] if inside else 0.0), not inside

    lines = []
    if mixing:
        pixel = [value_at(c, rows[0], cols[0]) for c in range(x.shape[0])]
        for k, row in enumerate(weights):
            terms = [
                f"{_factor_text(format_weight(float(wk)))}·{_factor(value, False, grey=padded)}"
                for wk, (value, padded) in zip(row, pixel, strict=True)
            ]
            total = sum(wk * value for wk, (value, _) in zip(row, pixel, strict=True))
            name = "RGB"[k] if len(weights) == 3 else "out"
            lines.append(
                f"{name}[{i}, {j}] = " + " + ".join(terms) + f"{EQUALS}<b>{format_sum(total)}</b>"
            )
        return (
            "<div style='font-family:monospace;font-size:12px'>"
            + "<br>".join(lines)
            + (
                "<br><small>one pixel, all channels: pixel values in [0, 1], 2 decimals</small>"
                "</div>"
            )
        )
    total = 0.0
    channels = []
    denominator = common_denominator(weights[0])  # 2/16 as in the kernel box
    for c, kernel in enumerate(weights):
        terms, subtotal = [], 0.0
        for a, r in enumerate(rows):
            for b, q in enumerate(cols):
                value, padded = value_at(c, r, q)
                subtotal += kernel[a, b] * value
                weight = _factor(kernel[a, b], True, denominator=denominator)
                terms.append(f"{weight}·{_factor(value, False, grey=padded)}")
        total += subtotal
        channels.append((terms, subtotal))
    head = f"output[{i}, {j}] = "
    if len(channels) == 1:
        lines.append(head + " + ".join(channels[0][0]) + f"{EQUALS}<b>{format_sum(total)}</b>")
    else:
        for name, (terms, subtotal) in zip("RGB", channels, strict=True):
            lines.append(f"{name}: " + " + ".join(terms) + f"{EQUALS}{format_sum(subtotal)}")
        sums = " + ".join(format_sum(subtotal) for _, subtotal in channels)
        lines.append(head + f"{sums} = <b>{format_sum(total)}</b>")
    in_padding = np.any((rows < 0) | (rows >= h)) or np.any((cols < 0) | (cols >= w))
    note = "input values in grey are padding zeros" if in_padding else ""
    if photo:
        note = (note + "; " if note else "") + "pixel values in [0, 1], shown to 2 decimals"
    text = "<br>".join(lines)
    if note:
        text += f"<br><small>{note}</small>"
    return f"<div style='font-family:monospace;font-size:12px'>{text}</div>"


def _factor(value: float, fraction: bool, grey: bool = False, denominator: int = 1) -> str:
    """A factor of a product; kernel weights over their common ``denominator`` when > 1."""
    if denominator > 1:
        text = over(round(value * denominator), denominator)
    else:
        text = format_value(value, fraction)
    text = _factor_text(text)
    return f'<span style="color:#999">{text}</span>' if grey else text


def _factor_text(text: str) -> str:
    """A number as a factor: in brackets when negative or a fraction, with a real minus."""
    text = text.replace("-", MINUS)
    return f"({text})" if text.startswith(MINUS) or "/" in text else text


def error_html(error: Exception) -> str:
    return f"<span style='color:#c62828'>⚠ {html.escape(str(error))}</span>"

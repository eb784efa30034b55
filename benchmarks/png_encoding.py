"""PNG encoding of the explorers' frames: the unfiltered writer in course.widgets.raster
against Pillow's encoder (level 1), on real frames of both explorers.

Prints one JSON line per frame, e.g.
``{"frame": "convolution", "pixels": 933156, "raster_ms": 9.1, "pillow_ms": 30.2, ...}``,
after checking that both files decode (with Pillow) to the same pixels. This is the
measurement behind keeping a PNG writer in :mod:`course.widgets.raster`: Pillow always tries
four row filters per row, which costs more than drawing a convolution frame.

Run: ``python benchmarks/png_encoding.py [--repeat 9]``
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

import numpy as np


def frames() -> dict:
    """name -> (H, W, 3 or 4) uint8 bitmap, as each explorer hands it to the encoder."""
    from course import widgets
    from course.widgets import convolution_view

    out = {}
    gd = widgets.gradient_descent_explorer(function="rosenbrock", optimizers=("gd", "adam"))
    figure = gd._figure()
    figure.frame(gd.runs, dict.fromkeys(gd.runs, "x"), 5, gd.steps.value)
    out["gradient_descent"] = np.asarray(figure.canvas.buffer_rgba()).copy()
    for name, kwargs in [("convolution", {}), ("convolution_photo", {"source": "photo"})]:
        explorer = widgets.convolution_explorer(**kwargs)
        grabbed = []
        original = convolution_view.render

        def grab(frame, original=original, grabbed=grabbed):
            grabbed.append(original(frame))
            return grabbed[-1]

        import course.widgets.convolution as controls

        controls.render = grab
        try:
            explorer.refresh()
        finally:
            controls.render = original
        out[name] = grabbed[-1]
    return out


def median_ms(encode, pixels, repeat: int) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(encode(pixels))
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(times), 1), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    from PIL import Image

    from course.widgets.raster import array_to_png, pillow_png

    for name, pixels in frames().items():
        ours, theirs = array_to_png(pixels), pillow_png(pixels)
        decoded = [np.asarray(Image.open(io.BytesIO(png))) for png in (ours, theirs)]
        if not (np.array_equal(decoded[0], pixels) and np.array_equal(decoded[1], pixels)):
            raise RuntimeError(f"{name}: a PNG does not decode to the frame's pixels")
        raster_ms, raster_bytes = median_ms(array_to_png, pixels, args.repeat)
        pillow_ms, pillow_bytes = median_ms(pillow_png, pixels, args.repeat)
        row = {"frame": name, "shape": list(pixels.shape), "raster_ms": raster_ms,
               "pillow_ms": pillow_ms, "raster_kB": raster_bytes // 1000,
               "pillow_kB": pillow_bytes // 1000}  # fmt: skip
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()

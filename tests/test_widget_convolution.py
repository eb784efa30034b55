"""The convolution explorer without a browser: set controls, check numbers against torch,
the formula, warnings, highlighted window, readout and the picture."""

from __future__ import annotations

import html
import io
import re
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from course import widgets
from course.widgets.convolution import KERNEL_PRESETS, SCALE, parse_matrix
from course.widgets.raster import array_to_png

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

GRID_7 = parse_matrix(widgets.convolution.DEFAULT_GRID, "grid")  # the default 7x7 grid


@pytest.fixture(scope="module")
def explorer():
    return widgets.convolution_explorer()


@pytest.fixture(scope="module")
def photo():
    return widgets.convolution_explorer(source="photo")


def reset(e, **values):
    """Back to a known state (one redraw), then apply ``values`` one by one, in order."""
    with e.batch():
        e.source.value = "grid"
        e.grid_text.value = widgets.convolution.DEFAULT_GRID
        e.mode.value = "kernel"
        e.kernel_preset.value = "Sobel x"
        e.kernel_size.value = 3
        e.operation.value = "correlation"
        e.pool_mode.value = "none"
        e.padding_mode.value = "valid"
        e.dilation.value = 1
        e.stride.value = 1
        e.position.value = 0
    for name, value in values.items():
        getattr(e, name).value = value
    return e


def torch_output(e):
    """Reference: torch.nn.functional on the explorer's input and kernel as typed."""
    x = torch.from_numpy(e.input)[None]  # (1, C, H, W)
    if e.mode.value == "mix":
        weight = torch.from_numpy(e.mixing)[:, :, None, None]  # (K, C, 1, 1)
        out = F.conv2d(x, weight, stride=e.stride.value, padding=e.padding.value)[0]
    else:
        k = torch.from_numpy(e.kernel.copy())
        if e.operation.value == "convolution":
            k = torch.flip(k, dims=(0, 1))
        weight = k.expand(1, x.shape[1], *k.shape)  # the same kernel on every channel
        out = F.conv2d(
            x,
            weight.contiguous(),
            stride=e.stride.value,
            padding=e.padding.value,
            dilation=e.dilation.value,
        )[0, 0]
    return out


def torch_pooled(e, out):
    t = out if out.ndim == 3 else out[None]
    window, stride = e.pool_window.value, e.pool_stride.value
    pool = F.max_pool2d if e.pool_mode.value == "max" else F.avg_pool2d
    pooled = pool(t[None], window, stride=stride)[0]
    return pooled if out.ndim == 3 else pooled[0]


def text_of(widget) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", widget.value)).replace("\u2212", "-")


def png(e) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(e.image.value)).convert("RGB"))


def count_colour(picture: np.ndarray, rgb, tolerance: int = 3) -> int:
    return int(np.sum(np.all(np.abs(picture.astype(int) - rgb) <= tolerance, axis=-1)))


def has_colour(picture: np.ndarray, rgb, tolerance: int = 3) -> bool:
    return count_colour(picture, rgb, tolerance) > 0


# --- numbers ------------------------------------------------------------------------------


def test_default_output_is_sobel_x_on_the_grid(explorer):
    reset(explorer)
    sobel_x = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=torch.float64)
    expected = F.conv2d(torch.from_numpy(GRID_7)[None, None], sobel_x[None, None])[0, 0]
    assert explorer.output.shape == (5, 5)
    np.testing.assert_allclose(explorer.output, expected.numpy())


def test_every_stride_padding_dilation_offered_matches_torch(explorer):
    """Walk through every setting the sliders offer for a 3x3 kernel on the 7x7 grid."""
    reset(explorer)
    checked = 0
    for mode in ["valid", "same", "full", "number"]:
        explorer.padding_mode.value = mode
        paddings = [None]
        if mode == "number":
            paddings = range(explorer.padding.min, explorer.padding.max + 1)
        for p in paddings:
            if p is not None:
                explorer.padding.value = p
            for d in range(1, explorer.dilation.max + 1):
                with explorer.batch():
                    explorer.stride.value = 1
                    explorer.dilation.value = d
                for s in range(1, explorer.stride.max + 1):
                    explorer.stride.value = s
                    assert (explorer.dilation.value, explorer.stride.value) == (d, s)
                    np.testing.assert_allclose(explorer.output, torch_output(explorer).numpy())
                    checked += 1
    assert checked >= 50


@given(
    preset=st.sampled_from(KERNEL_PRESETS),
    size=st.sampled_from([3, 5]),
    operation=st.sampled_from(["correlation", "convolution"]),
    mode=st.sampled_from(["valid", "same", "full", "number"]),
    padding=st.integers(0, 8),
    dilation=st.integers(1, 4),
    stride=st.integers(1, 6),
    pool=st.sampled_from(["max", "avg"]),
    window=st.integers(1, 5),
    pool_stride=st.integers(1, 5),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_settings_match_torch_and_stay_valid(
    explorer, preset, size, operation, mode, padding, dilation, stride, pool, window, pool_stride
):
    e = explorer
    with e.batch():  # set everything, then redraw once (the sliders clamp what does not fit)
        reset(e, kernel_preset=preset, kernel_size=size, operation=operation)
        e.padding_mode.value = mode
        e.padding.value = padding
        e.dilation.value = dilation
        e.stride.value = stride
        e.pool_mode.value = pool
        e.pool_window.value = window
        e.pool_stride.value = pool_stride
    out = torch_output(e)
    np.testing.assert_allclose(e.output, out.numpy(), atol=1e-12)
    np.testing.assert_allclose(e.pooled, torch_pooled(e, out).numpy(), atol=1e-12)
    # the sliders only offer valid settings
    n = min(e.input.shape[1:])
    assert e.dilation.value * (size - 1) + 1 <= n + 2 * e.padding.value
    assert e.position.max == out.shape[-2] * out.shape[-1] - 1
    assert e.play.max == e.position.max
    assert e.pool_window.value <= min(out.shape[-2:])


def test_pooling_matches_torch_and_the_syllabus_check(explorer):
    grid = "3 3 2 1 0\n0 0 1 3 1\n3 1 2 2 3\n2 0 0 2 2\n2 0 0 0 1"
    reset(explorer, grid_text=grid, kernel_preset="identity", padding_mode="same")
    np.testing.assert_allclose(explorer.output, parse_matrix(grid, "grid"))
    explorer.pool_mode.value = "max"
    explorer.pool_window.value = 3
    explorer.pool_stride.value = 1
    assert explorer.pooled.tolist() == [[3, 3, 3], [3, 3, 3], [3, 2, 3]]
    explorer.pool_mode.value = "avg"
    expected = [[1.67, 1.67, 1.67], [1.0, 1.22, 1.78], [1.11, 0.78, 1.33]]
    assert np.round(explorer.pooled, 2).tolist() == expected


@pytest.mark.parametrize("color", ["gray", "rgb"])
def test_photo_output_matches_torch(photo, color):
    photo.color.value = color
    photo.mode.value = "kernel"
    photo.kernel_preset.value = "Laplacian"
    photo.padding_mode.value = "same"
    photo.stride.value = 2
    photo.dilation.value = 2
    channels = 3 if color == "rgb" else 1
    assert photo.input.shape == (channels, 64, 55)
    assert photo.output.shape == (32, 28)
    np.testing.assert_allclose(photo.output, torch_output(photo).numpy(), atol=1e-12)
    photo.stride.value = 1
    photo.dilation.value = 1


def test_channel_mixing_matches_a_1x1_convolution(photo):
    photo.source.value = "grid"
    photo.mode.value = "mix"  # switches to the RGB photo by itself
    assert (photo.source.value, photo.color.value) == ("photo", "rgb")
    assert "switched to the RGB photo" in text_of(photo.warning)
    for preset in ["RGB → gray (luma)", "sepia", "red minus green"]:
        photo.mixing_preset.value = preset
        np.testing.assert_allclose(photo.output, torch_output(photo).numpy(), atol=1e-12)
    gray = np.array([[0.299, 0.587, 0.114]])
    photo.mixing_preset.value = "RGB → gray (luma)"
    np.testing.assert_allclose(photo.output, np.einsum("kc,chw->khw", gray, photo.input))
    photo.mode.value = "kernel"


def test_convolution_toggle_flips_the_kernel(explorer):
    reset(explorer, kernel_preset="Sobel x")
    correlation = explorer.output.copy()
    explorer.operation.value = "convolution"
    flipped = torch.from_numpy(explorer.kernel[::-1, ::-1].copy())[None, None]
    expected = F.conv2d(torch.from_numpy(GRID_7)[None, None], flipped)[0, 0]
    np.testing.assert_allclose(explorer.output, expected.numpy())
    np.testing.assert_allclose(explorer.output, -correlation)  # Sobel x flipped is −Sobel x
    np.testing.assert_allclose(explorer.weights[0], explorer.kernel[::-1, ::-1])


# --- text: formula, warnings, readout -----------------------------------------------------


def test_formula_has_the_numbers_filled_in(explorer):
    reset(explorer, stride=2)
    text = text_of(explorer.formula)
    assert "⌊(7 - 1·(3 - 1) - 1 + 2·0)/2⌋ + 1 = ⌊4/2⌋ + 1 = 3" in text
    assert "output 3×3" in text
    explorer.stride.value = 1
    explorer.padding_mode.value = "same"
    assert "⌊(7 - 1·(3 - 1) - 1 + 2·1)/1⌋ + 1 = ⌊6/1⌋ + 1 = 7" in text_of(explorer.formula)
    explorer.padding_mode.value = "valid"
    explorer.dilation.value = 2
    text = text_of(explorer.formula)
    assert "effective kernel size d(F - 1) + 1 = 2·(3 - 1) + 1 = 5" in text
    assert "(3·3·1)·1 + 1 = 10" in text  # parameters of the layer


def test_formula_for_a_non_square_input(explorer):
    reset(explorer, grid_text="1 2 3 4 5\n6 7 8 9 10\n1 1 1 1 1")
    text = text_of(explorer.formula)
    assert "rows: ⌊(3 - 1·(3 - 1) - 1 + 2·0)/1⌋ + 1 = ⌊0/1⌋ + 1 = 1" in text
    assert "columns: ⌊(5 - 1·(3 - 1) - 1 + 2·0)/1⌋ + 1 = ⌊2/1⌋ + 1 = 3" in text
    assert explorer.output.shape == (1, 3)


def test_stride_that_does_not_tile_warns_and_names_the_dropped_column(explorer):
    reset(explorer, stride=2)
    assert explorer.warning.value == ""
    explorer.stride.value = 3
    text = text_of(explorer.warning)
    assert "(7 - 3 + 0)/3 + 1 = 2.33" in text
    assert "column 6" in text and "row 6" in text
    assert explorer.output.shape == (2, 2)  # floor, as PyTorch


def test_dropped_cells_are_drawn_hatched(explorer):
    reset(explorer, stride=2)
    hatch = (214, 39, 40)  # the red of the hatching lines
    input_panel = slice(0, 290 * SCALE)  # left of the window/kernel column
    assert not has_colour(png(explorer)[:, input_panel], hatch, tolerance=40)
    explorer.stride.value = 3
    assert has_colour(png(explorer)[:, input_panel], hatch, tolerance=40)


def test_padded_cells_are_drawn_distinctly(explorer):
    reset(explorer)
    pale = (230, 230, 230)  # the padding colour of the grid (text edges have a few too)
    assert count_colour(png(explorer), pale, tolerance=0) < 300
    explorer.padding_mode.value = "same"
    assert explorer.padding.value == 1 and explorer.output.shape == (7, 7)
    assert count_colour(png(explorer), pale, tolerance=0) > 24 * 20 * 20  # 24 padded cells
    rows, cols = explorer.window  # position 0 reads the padding above and left
    assert rows.tolist() == [-1, 0, 1] and cols.tolist() == [-1, 0, 1]
    assert "padding zeros" in text_of(explorer.products)


def test_window_coordinates_for_a_position(explorer):
    reset(explorer, padding_mode="number")
    explorer.padding.value = 1
    explorer.stride.value = 2
    assert explorer.output.shape == (4, 4)  # ⌊(7 − 3 + 2)/2⌋ + 1
    explorer.position.value = 6  # row-major: output cell (1, 2)
    assert explorer.cell == (1, 2)
    rows, cols = explorer.window
    assert rows.tolist() == [1, 2, 3]  # 1·2 − 1 + [0, 1, 2]
    assert cols.tolist() == [3, 4, 5]  # 2·2 − 1 + [0, 1, 2]
    explorer.padding.value = 0
    explorer.dilation.value = 2
    explorer.stride.value = 1
    explorer.position.value = 1  # cell (0, 1) of a 3x3 output
    assert explorer.window[0].tolist() == [0, 2, 4]
    assert explorer.window[1].tolist() == [1, 3, 5]


def _terms(line: str) -> tuple[float, float]:
    """Parse 'name = a·b + c·d + … = total' into (sum of the products, total)."""
    middle, total = line.split("=")[1:3]
    products = 0.0
    for term in middle.split(" + "):
        a, b = term.strip().split("·")
        products += float(Fraction(a.strip("()"))) * float(Fraction(b.strip("()")))
    return products, float(total)


@pytest.mark.parametrize("preset", ["Sobel x", "Gaussian blur", "box blur", "emboss"])
def test_products_readout_sums_to_the_output_cell(explorer, preset):
    reset(explorer, kernel_preset=preset, padding_mode="same", stride=2)
    for position in [0, 5, explorer.position.max]:
        explorer.position.value = position
        i, j = explorer.cell
        line = text_of(explorer.products).splitlines()[0]
        assert line.startswith(f"output[{i}, {j}] = ")
        products, total = _terms(line.split("padding zeros")[0].split("input values")[0])
        assert products == pytest.approx(explorer.output[i, j])
        assert total == pytest.approx(explorer.output[i, j], abs=1e-4)


def test_products_readout_on_the_rgb_photo(photo):
    photo.mode.value = "kernel"
    photo.color.value = "rgb"
    photo.kernel_preset.value = "Sobel y"
    i, j = photo.cell
    text = text_of(photo.products)
    assert text.count("R:") == 1 and "G:" in text and "B:" in text
    total = float(re.search(rf"output\[{i}, {j}\] = .* = (-?[\d.]+)", text).group(1))
    assert total == pytest.approx(photo.output[i, j], abs=1e-4)


# --- controls -----------------------------------------------------------------------------


def test_malformed_kernel_shows_an_error_and_keeps_the_last_kernel(explorer):
    reset(explorer)
    before = explorer.output.copy()
    explorer.kernel_text.value = "1 2 3\n4 5"
    assert "row 2 of the kernel has 2 numbers but row 1 has 3" in text_of(explorer.kernel_error)
    np.testing.assert_allclose(explorer.output, before)
    explorer.kernel_text.value = "1 0\n0 1"
    assert "3x3 or 5x5" in text_of(explorer.kernel_error)
    explorer.kernel_text.value = "1 x 0\n0 1 0\n0 0 1"
    assert "'x' is not a number" in text_of(explorer.kernel_error)
    explorer.kernel_text.value = "0 0 0\n0 1/2 0\n0 0 -1/2"
    assert explorer.kernel_error.value == ""
    assert explorer.kernel_preset.value == "custom"
    np.testing.assert_allclose(explorer.output, torch_output(explorer).numpy())


def test_malformed_grid_shows_an_error(explorer):
    reset(explorer)
    explorer.grid_text.value = "1 2\n3"
    assert "row 2 of the grid" in text_of(explorer.grid_error)
    explorer.grid_text.value = "\n".join(["1 " * 13] * 3)
    assert "at most 12" in text_of(explorer.grid_error)
    explorer.grid_text.value = widgets.convolution.DEFAULT_GRID
    assert explorer.grid_error.value == ""
    explorer.source.value = "photo"  # a bad grid after the photo keeps the last valid grid
    explorer.grid_text.value = "1 2\n3"
    explorer.source.value = "grid"
    assert "row 2 of the grid" in text_of(explorer.grid_error)
    np.testing.assert_allclose(explorer.input[0], GRID_7)


def test_malformed_mixing_matrix_shows_an_error(photo):
    photo.mode.value = "mix"
    photo.mixing_text.value = "1 2"
    assert "3 columns" in text_of(photo.mixing_error)
    assert photo.mixing_preset.value == "custom"
    photo.mixing_text.value = "0.299 0.587 0.114"
    assert photo.mixing_error.value == ""
    assert photo.mixing_preset.value == "RGB → gray (luma)"
    photo.mode.value = "kernel"


def test_kernel_too_big_for_the_grid_switches_to_same_padding(explorer):
    reset(explorer, kernel_size=5)
    explorer.grid_text.value = "1 2 3\n4 5 6\n7 8 9"
    assert explorer.padding_mode.value == "same"
    assert "does not fit" in text_of(explorer.warning)
    np.testing.assert_allclose(explorer.output, torch_output(explorer).numpy())


def test_presets_and_kernel_size(explorer):
    reset(explorer, kernel_preset="Gaussian blur", kernel_size=5)
    binomial = np.array([1, 4, 6, 4, 1])
    np.testing.assert_allclose(explorer.kernel, np.outer(binomial, binomial) / 256)
    explorer.kernel_preset.value = "box blur"
    np.testing.assert_allclose(explorer.kernel, np.full((5, 5), 1 / 25))
    explorer.kernel_size.value = 3
    np.testing.assert_allclose(explorer.kernel, np.full((3, 3), 1 / 9))
    for name in ["identity", "sharpen", "Laplacian", "emboss"]:
        explorer.kernel_preset.value = name
        assert explorer.kernel.sum() == pytest.approx(0 if name == "Laplacian" else 1)


def test_random_buttons(explorer):
    reset(explorer)
    explorer.random_grid.click()
    assert explorer.grid_text.value != widgets.convolution.DEFAULT_GRID
    assert explorer.input.shape == (1, 7, 7)
    before = explorer.kernel.copy()
    explorer.random_kernel.click()
    assert explorer.kernel_preset.value == "random"
    assert not np.array_equal(before, explorer.kernel)
    np.testing.assert_allclose(explorer.output, torch_output(explorer).numpy())


def test_slider_maxima_follow_the_sizes(explorer):
    reset(explorer)
    assert explorer.position.max == 24  # 5x5 output
    assert explorer.stride.max == 5  # ⌊(7 − 3)⌋ + 1 positions for the window
    assert explorer.dilation.max == 3  # 3·(3 − 1) + 1 = 7 still fits in 7
    explorer.kernel_size.value = 5
    assert explorer.dilation.max == 1 and explorer.stride.max == 3
    explorer.padding_mode.value = "full"
    assert explorer.padding.value == 4 and explorer.position.max == 11 * 11 - 1
    explorer.position.value = explorer.position.max
    explorer.padding_mode.value = "valid"  # the output shrinks: the position follows
    assert explorer.position.value <= explorer.position.max == 8
    explorer.pool_mode.value = "max"
    assert explorer.pool_window.max == 3


def test_image_changes_with_the_position_and_is_a_png(explorer):
    reset(explorer)
    first = explorer.image.value
    explorer.position.value = 1
    assert explorer.image.value != first
    picture = Image.open(io.BytesIO(explorer.image.value))
    assert picture.format == "PNG" and picture.width > 500


def test_benchmark_changes_each_draw_a_new_image():
    e = widgets.convolution_explorer()
    for label, change in e.benchmark_changes() * 2:
        before = e.image.value
        change()
        assert e.image.value != before, label
        np.testing.assert_allclose(e.output, torch_output(e).numpy())


def test_bad_arguments():
    with pytest.raises(ValueError, match="source must be 'grid' or 'photo'"):
        widgets.convolution_explorer(source="video")
    with pytest.raises(ValueError, match="kernel must be one of"):
        widgets.convolution_explorer(kernel="blur")


# --- the picture as the browser shows it, and the layout ----------------------------------

OUTPUT_AREA = 848  # px: JupyterLab's output area at 1280x800 with the file browser open


def shown_width(e) -> int:
    width = e.image.layout.width
    assert width.endswith("px"), width
    return int(width[:-2])


def test_array_to_png_round_trips_and_rejects_bad_input():
    rgb = np.random.default_rng(0).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    decoded = Image.open(io.BytesIO(array_to_png(rgb)))
    assert decoded.format == "PNG" and decoded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(decoded), rgb)
    with pytest.raises(ValueError, match=r"\(H, W, 3\) bitmap; got shape \(5, 7\)"):
        array_to_png(rgb[..., 0])
    with pytest.raises(ValueError, match="uint8"):
        array_to_png(rgb / 255)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"source": "photo"},
        {"kernel_size": 5, "padding_mode": "full", "pool_mode": "max"},  # four panels
    ],
)
def test_picture_is_drawn_at_twice_its_shown_size_and_fits(explorer, changes):
    """Shown pixel for pixel on a normal screen (an Image stretched to the box blurs), with
    2x2 bitmap pixels per shown pixel for high-density screens, within the output area."""
    reset(explorer)
    with explorer.batch():
        for name, value in changes.items():
            getattr(explorer, name).value = value
    picture = Image.open(io.BytesIO(explorer.image.value))
    assert SCALE == 2
    assert picture.width == 2 * shown_width(explorer)
    assert picture.height % 2 == 0
    assert shown_width(explorer) <= OUTPUT_AREA - 8
    assert explorer.image.layout.max_width == "100%"  # narrower screens shrink it
    assert explorer.image.layout.height == "auto"  # keeping its proportions


def test_a_wide_frame_puts_the_pooled_map_under_the_output(explorer):
    reset(explorer, grid_text="\n".join(["1 2 3 0 1 2 3 0 1 2 3 0"] * 12), kernel_size=5)
    with explorer.batch():
        explorer.padding_mode.value = "full"
        explorer.pool_mode.value = "avg"
        explorer.pool_window.value = 2
        explorer.pool_stride.value = 2
    assert explorer.output.shape == (16, 16) and explorer.pooled.shape == (8, 8)
    assert shown_width(explorer) <= OUTPUT_AREA - 8
    picture = png(explorer)
    # the orange outline of the current output cell (0, 0) and the dashed one of the pooled
    # cell (0, 0) that holds it are one above the other, not side by side
    orange = np.argwhere(np.all(np.abs(picture.astype(int) - (255, 128, 13)) <= 12, axis=-1))
    right_of_input = orange[orange[:, 1] > picture.shape[1] // 2]
    rows = np.unique(right_of_input[:, 0])
    assert rows.max() - rows.min() > picture.shape[0] // 2


def test_kernel_fractions_are_written_one_way_everywhere(explorer):
    """Over the common denominator (2/16, never 1/8): in the text box, on the picture and in
    the products, as the binomial kernel (1 2 1)ᵀ(1 2 1)/16 is usually written."""
    from course.widgets.convolution_view import _kernel_labels

    reset(explorer, kernel_preset="Gaussian blur", padding_mode="same", position=8)
    sixteenths = np.outer([1, 2, 1], [1, 2, 1])
    expected = [[f"{n}/16" for n in row] for row in sixteenths]
    assert [row.split() for row in explorer.kernel_text.value.splitlines()] == expected
    labels, title = _kernel_labels(explorer.weights[0], 36 * SCALE, "kernel")
    assert labels == expected and "×" not in title
    products = text_of(explorer.products)
    assert "1/8" not in products and "1/4" not in products
    weights = re.findall(r"\((\d+/16)\)·", products)
    assert weights == [t for row in expected for t in row]
    explorer.kernel_size.value = 5  # 5x5: 36/256 at the centre, in the box and the products
    assert "36/256" in explorer.kernel_text.value and "(36/256)" in text_of(explorer.products)
    assert "9/64" not in text_of(explorer.products)


def _widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from _widgets(child)


def _label_width(text: str) -> float:
    """Width in px of a button label as the browser draws it: JupyterLab's 13 px UI font,
    DejaVu Sans on Debian (measured in Chromium ~4% wider than FreeType says: 6% margin)."""
    from matplotlib import font_manager, ft2font

    font = ft2font.FT2Font(font_manager.findfont("DejaVu Sans"))
    font.set_size(13, 72)
    font.set_text(text, 0.0)
    return font.get_width_height()[0] / 64 * 1.06


def test_button_labels_fit_their_buttons(explorer):
    """No label cut to "cross-correlati…": ipywidgets buttons have 10 px padding each side."""
    checked = 0
    for w in _widgets(explorer):
        if isinstance(w, widgets.convolution.W.ToggleButtons):
            width = int(w.style.button_width.removesuffix("px"))
            labels = list(w._options_labels)
        elif isinstance(w, widgets.convolution.W.Button):
            width, labels = int(w.layout.width.removesuffix("px")), [w.description]
        else:
            continue
        for label in labels:
            assert _label_width(label) + 20 <= width, f"{label!r} does not fit in {width} px"
            checked += 1
    assert checked >= 18


MARGIN = 2  # px around every widget (ipywidgets' --jp-widgets-margin)


def _outer_width(w) -> int:
    """Width in px a control takes in its column, margins included (0 when not fixed)."""
    W = widgets.convolution.W
    if isinstance(w, W.ToggleButtons):
        each = int(w.style.button_width.removesuffix("px")) + 2 * MARGIN
        return len(w._options_labels) * each + 2 * MARGIN
    if isinstance(w, W.HBox):
        return sum(_outer_width(child) for child in w.children) + 2 * MARGIN
    if w.layout.width and w.layout.width.endswith("px"):
        return int(w.layout.width.removesuffix("px")) + 2 * MARGIN
    return 0


def test_picture_comes_first_and_three_control_columns_fit(explorer):
    """The student sees the picture while moving the window or changing a control; the
    three columns of controls fit side by side, and every control fits in its column."""
    image, player, controls = explorer.children[:3]
    assert image is explorer.image
    assert explorer.play in player.children and explorer.position in player.children
    columns = controls.children
    assert len(columns) == 3
    total = sum(int(c.layout.width.removesuffix("px")) + 10 for c in columns)  # + margin
    assert total <= OUTPUT_AREA
    checked = 0
    for column in columns:
        width = int(column.layout.width.removesuffix("px"))
        for w in _widgets(column):
            if w is not column and not isinstance(w, widgets.convolution.W.VBox):
                assert _outer_width(w) <= width, f"{w!r} is wider than its column"
                checked += 1
    assert checked >= 20

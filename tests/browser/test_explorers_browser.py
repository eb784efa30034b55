"""The explorers in a real JupyterLab in headless Chromium, driven as a student drives them.

Each test opens a demo notebook, runs all cells, waits for the widget's PNG, then presses
ArrowRight on a slider, picks a dropdown option and clicks a button; after each change it
waits for the new PNG and checks that the picture and the text readouts changed and that the
browser console stayed free of errors. Screenshots go to artifacts/browser/.
"""

from __future__ import annotations

import json
import re
import time
import warnings

import pytest

from browser.conftest import JS_IMAGE_LOADED

pytestmark = pytest.mark.browser


def assert_no_console_errors(lab) -> None:
    assert not lab.errors, "the browser console shows errors:\n" + "\n".join(lab.errors)


def test_smoke_slider_redraws_image(lab_page):
    """The test machinery itself: a slider whose value sets the width of a PNG."""
    lab = lab_page
    lab.open_notebook("demo_smoke.ipynb")
    lab.run_all()
    before = lab.wait_for_image("img.test-image")
    assert before["naturalWidth"] == 8 * 3
    assert lab.page.locator(".test-readout").inner_text() == "n = 3"

    lab.page.locator(".test-slider .noUi-handle").focus()
    lab.page.keyboard.press("ArrowRight")
    after = lab.wait_for_image("img.test-image", before["src"])

    assert after["naturalWidth"] == 8 * 4, "ArrowRight on the slider should give n = 4"
    assert after["sha1"] != before["sha1"]
    assert lab.page.locator(".test-readout").inner_text() == "n = 4"
    lab.screenshot("page")
    assert_no_console_errors(lab)


# --- the explorers --------------------------------------------------------------------------

IMAGE = "img.test-image"
EXPLORER = ".test-explorer"


def press_arrow_right(lab, slider: str) -> None:
    """Focus the slider's handle (as after a Tab or a click) and press the right arrow key."""
    lab.page.locator(f"{slider} .noUi-handle").focus()
    lab.page.keyboard.press("ArrowRight")


def slider_value(lab, slider: str) -> float:
    text = lab.page.locator(f"{slider} .widget-readout").inner_text()
    return float(text.strip().replace("\u2212", "-"))


def choose(lab, dropdown: str, label: str) -> None:
    lab.page.locator(f"{dropdown} select").select_option(label=label)


def option_labels(lab, dropdown: str) -> list[str]:
    return [text.strip() for text in lab.page.locator(f"{dropdown} option").all_inner_texts()]


def open_explorer(lab, notebook: str) -> dict:
    lab.open_notebook(notebook)
    lab.run_all()
    first = lab.wait_for_image(IMAGE)
    lab.page.locator(EXPLORER).scroll_into_view_if_needed()
    return first


def record_layout(lab) -> dict:
    """Print (and save) the sizes the report to the widget owners is based on."""
    sizes = lab.layout(EXPLORER, IMAGE)
    lab.artifact("layout.json").write_text(json.dumps(sizes, indent=1))
    print(lab.name, sizes)
    return sizes


def assert_changed(before: dict, after: dict, readout: str, what: str) -> None:
    assert after["image"]["sha1"] != before["image"]["sha1"], f"{what}: the picture did not change"
    assert after["image"]["naturalWidth"] > 0
    assert after["text"][readout] != before["text"][readout], f"{what}: {readout} did not change"


# The start point the kernel runs from, the one the function defines and the one the sliders
# show must agree. A slider rounds the value it shows to its step and writes that back to
# the kernel; a range or step changed under a displayed value can also make the browser
# write back an old value. Either way the runs would not start where the lecture says.
START = """{
    "kernel": [explorer.x0.value, explorer.y0.value][: explorer.surface.dim],
    "defined": [float(v) for v in explorer.surface.start],
}"""


def start_mismatch(lab) -> str | None:
    """None when the kernel's, the function's and the sliders' start points agree."""
    start = lab.kernel_json(START)
    shown = [slider_value(lab, ".test-x0"), slider_value(lab, ".test-y0")][: len(start["kernel"])]
    name = lab.page.locator(".test-function select").evaluate("(el) => el.selectedOptions[0].text")
    if start["kernel"] != pytest.approx(start["defined"], abs=1e-9):
        return (
            f"{name}: runs start at {start['kernel']}, the function's start is {start['defined']}"
        )
    if shown != pytest.approx(start["kernel"], abs=0.006):  # the readouts show 2 decimals
        return f"{name}: the x0/y0 sliders show {shown}, the runs start at {start['kernel']}"
    return None


JS_IMAGE_RAW = """(img) => ({src: img.src, complete: img.complete,
    naturalWidth: img.naturalWidth,
    rendered: img.checkVisibility ? img.checkVisibility({contentVisibilityAuto: true}) : null})"""


def choose_function(lab, index: int, readouts: list[str]) -> tuple[dict, dict]:
    """Pick option ``index`` of the function dropdown; the image and readouts before and
    after (see ``LabPage.change``).

    Seen in about one run in four of the whole browser suite, never when this test runs
    alone (issue 16): the kernel has switched the function and drawn the new frame, but the
    page keeps showing the old image. The kernel side is asserted, the miss is reported as a
    warning with what the page and the kernel hold, and the function is chosen again by way
    of another one: the page must then follow."""
    select = lab.page.locator(".test-function select")
    labels = option_labels(lab, ".test-function")
    lab.settle()
    old_src = lab.wait_for_image(IMAGE)["src"]
    since = time.monotonic()
    try:
        return lab.change(lambda: select.select_option(index=index), IMAGE, readouts)
    except Exception as error:  # playwright's TimeoutError (playwright may be absent)
        if type(error).__name__ != "TimeoutError":
            raise
    chosen = lab.kernel_json("explorer.function.value")
    drawn = lab.kernel_json("__import__('hashlib').sha1(explorer.image.value).hexdigest()")
    page = lab.page.locator(IMAGE).evaluate(JS_IMAGE_RAW)
    image_id = lab.kernel_json("explorer.image.model_id")
    sent = lab.frames_mentioning(image_id, since)
    # One suspect: the notebook skips rendering what it thinks is off screen
    # (content-visibility), so a new src is set but never loaded. Scrolling the image into
    # view tells that apart from a message that never arrived.
    lab.page.locator(IMAGE).scroll_into_view_if_needed()
    try:
        lab.page.wait_for_function(JS_IMAGE_LOADED, arg=[IMAGE, old_src], timeout=5_000)
        scrolled = "loaded once scrolled into view"
    except Exception as error:
        if type(error).__name__ != "TimeoutError":
            raise
        scrolled = "still not loaded when scrolled into view"
    warnings.warn(
        f"the page missed the image of choosing {labels[index]!r}: the kernel has {chosen!r} "
        f"and drew {drawn[:10]}; the page's image: src "
        f"{'unchanged' if page['src'] == old_src else 'new'}, complete {page['complete']}, "
        f"naturalWidth {page['naturalWidth']}, rendered {page['rendered']}; {scrolled}; "
        f"websocket frames naming the Image model since the selection: {sent} (bytes); "
        "re-selected", stacklevel=2)
    assert chosen == lab.kernel_json(f"explorer.function.options[{index}][1]"), \
        f"choosing {labels[index]!r} did not reach the kernel (it has {chosen!r})"
    lab.change(lambda: select.select_option(index=(index + 1) % len(labels)), IMAGE, readouts)
    return lab.change(lambda: select.select_option(index=index), IMAGE, readouts)


def test_gradient_descent_explorer(lab_page):
    lab = lab_page
    open_explorer(lab, "demo_gradient_descent.ipynb")
    explorer = lab.page.locator(EXPLORER)
    lab.screenshot("1-start", explorer)
    readouts = [".test-readout", ".test-regime"]

    # Keyboard: one ArrowRight on the log-scale learning-rate slider is one step of 0.01 in
    # log10(η), so η grows by the factor 10^0.01 (the readout shows 3 significant digits).
    lr = slider_value(lab, ".test-lr")
    before, after = lab.change(lambda: press_arrow_right(lab, ".test-lr"), IMAGE, readouts)
    assert slider_value(lab, ".test-lr") / lr == pytest.approx(10**0.01, rel=6e-3)
    assert_changed(before, after, ".test-readout", "ArrowRight on η")
    lab.screenshot("2-lr", explorer)

    # Dropdown: a 2-D function (contour plot instead of a curve).
    labels = option_labels(lab, ".test-function")
    index = next((i for i, text in enumerate(labels) if "Rosenbrock" in text), len(labels) - 1)
    before, after = choose_function(lab, index, readouts)
    assert_changed(before, after, ".test-readout", f"choosing {labels[index]!r}")
    lab.screenshot("3-function", explorer)

    # Button: Step advances the step slider by one and redraws the current point.
    t = slider_value(lab, ".test-step")
    click = lab.page.locator("button.test-step_button").click
    before, after = lab.change(click, IMAGE, readouts)
    assert slider_value(lab, ".test-step") == t + 1
    assert_changed(before, after, ".test-readout", "the Step button")
    lab.screenshot("4-step", explorer)
    lab.screenshot("page")
    record_layout(lab)
    assert_no_console_errors(lab)


def test_gradient_descent_start_points(lab_page):
    """Every function in the dropdown starts where it is defined, in the kernel and on the
    sliders (the saddle's start y = 0.01 is what lets gradient descent leave the ridge)."""
    lab = lab_page
    open_explorer(lab, "demo_gradient_descent.ipynb")
    lab.settle()
    problems = [start_mismatch(lab)]
    select = lab.page.locator(".test-function select")
    first = select.evaluate("(el) => el.selectedIndex")
    for index in range(select.locator("option").count()):
        if index != first:
            choose_function(lab, index, [])
            problems.append(start_mismatch(lab))
    problems = [p for p in problems if p]
    assert not problems, "start points that do not agree:\n" + "\n".join(problems)
    assert_no_console_errors(lab)


def output_size(formula: str) -> tuple[int, int]:
    match = re.search(r"output (\d+)\s*[×x]\s*(\d+)", formula)
    assert match, f"no 'output H×W' in the formula readout: {formula!r}"
    return int(match[1]), int(match[2])


def test_convolution_explorer(lab_page):
    lab = lab_page
    open_explorer(lab, "demo_convolution.ipynb")
    explorer = lab.page.locator(EXPLORER)
    lab.screenshot("1-start", explorer)
    readouts = [".test-formula", ".test-products"]

    # Keyboard: ArrowRight on the window position moves the window one cell; the element-wise
    # products now read other input values.
    position = slider_value(lab, ".test-position")
    before, after = lab.change(lambda: press_arrow_right(lab, ".test-position"), IMAGE, readouts)
    assert slider_value(lab, ".test-position") == position + 1
    assert_changed(before, after, ".test-products", "ArrowRight on the window position")
    assert after["text"][".test-formula"] == before["text"][".test-formula"]

    # Keyboard: stride 1 -> 2. Without padding the output has N - F + 1 = n1 rows at stride 1,
    # hence floor((N - F)/2) + 1 = floor((n1 - 1)/2) + 1 rows at stride 2.
    rows, cols = output_size(after["text"][".test-formula"])
    before, after = lab.change(lambda: press_arrow_right(lab, ".test-stride"), IMAGE, readouts)
    assert slider_value(lab, ".test-stride") == 2
    assert output_size(after["text"][".test-formula"]) == ((rows - 1) // 2 + 1, (cols - 1) // 2 + 1)
    assert_changed(before, after, ".test-formula", "ArrowRight on the stride")
    lab.screenshot("2-stride", explorer)

    # Toggle buttons: 'same' padding for a 3x3 kernel is P = (F - 1)/2 = 1, in the kernel and
    # on the (disabled) padding slider; at stride 2 the output has floor((N - F + 2P)/2) + 1
    # = floor((n1 - 1 + 2)/2) + 1 rows.
    same = lab.page.locator(".test-padding_mode button").filter(
        has_text=re.compile(r"^\s*same\s*$")
    )
    before, after = lab.change(same.click, IMAGE, readouts)
    assert output_size(after["text"][".test-formula"]) == ((rows + 1) // 2 + 1, (cols + 1) // 2 + 1)
    assert lab.kernel_json("explorer.padding.value") == 1
    assert slider_value(lab, ".test-padding") == 1
    assert_changed(before, after, ".test-formula", "'same' padding")

    # Dropdown: the 3x3 Gaussian blur is (1 2 1)ᵀ(1 2 1)/16, so the products show sixteenths.
    before, after = lab.change(
        lambda: choose(lab, ".test-kernel_preset", "Gaussian blur"), IMAGE, readouts
    )
    assert_changed(before, after, ".test-products", "choosing the Gaussian blur")
    assert "1/16" in after["text"][".test-products"]
    lab.screenshot("3-kernel", explorer)

    # Button: a new random kernel (integers, no sixteenths).
    click = lab.page.locator("button.test-random_kernel").click
    before, after = lab.change(click, IMAGE, readouts)
    assert_changed(before, after, ".test-products", "the 'new random' button")
    assert "/16" not in after["text"][".test-products"]
    lab.screenshot("4-random", explorer)
    lab.screenshot("page")
    record_layout(lab)
    assert_no_console_errors(lab)


# --- latency where the student sees it -------------------------------------------------------

LATENCY_CHANGES = 24  # key presses per explorer (the issue asks for >= 20)

# In the page: the time of the last key press on the slider's handle (capture phase, before
# the slider handles it) and the time of every `load` event of the explorer's <img>; the
# element is looked up again each time, in case the widget view replaced it.
JS_LATENCY_PROBE = """([image, slider]) => {
    const probe = window.__latency = {pressed: null, loaded: []};
    const handle = document.querySelector(slider + ' .noUi-handle');
    handle.addEventListener('keydown', () => { probe.pressed = performance.now(); }, true);
    document.addEventListener('load', (event) => {
        if (event.target === document.querySelector(image)) {
            probe.loaded.push(performance.now());
        }
    }, true);
}"""
JS_LATENCY_DONE = """(count) => window.__latency.loaded.length >= count"""
JS_LATENCY_LAST = """() => window.__latency.loaded.at(-1) - window.__latency.pressed"""


def painted_latency(lab, slider: str, changes: int = LATENCY_CHANGES) -> list[float]:
    """Milliseconds from a key press on ``slider`` to the `load` event of the new image, for
    ``changes`` presses of ArrowRight, one at a time (the kernel idle before each)."""
    lab.page.evaluate(JS_LATENCY_PROBE, [IMAGE, slider])
    handle = lab.page.locator(f"{slider} .noUi-handle")
    times = []
    for count in range(1, changes + 1):
        lab.settle(150)
        handle.focus()
        lab.page.keyboard.press("ArrowRight")
        lab.page.wait_for_function(JS_LATENCY_DONE, arg=count, timeout=30_000, polling="raf")
        times.append(lab.page.evaluate(JS_LATENCY_LAST))
    return times


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {
        "n": len(ordered),
        "median_ms": round(ordered[len(ordered) // 2], 1),
        "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))], 1),
    }


@pytest.mark.parametrize(
    ("explorer", "slider"),
    [("gradient_descent", ".test-lr"), ("convolution", ".test-position")],
)
def test_painted_latency(lab_page, capsys, explorer, slider):
    """Key press on a slider -> new PNG loaded in the page: median and p90 are printed (and
    saved to artifacts/browser/), not asserted; the budget is p90 <= 150 ms on an idle
    machine. Each press must produce exactly one new image."""
    lab = lab_page
    open_explorer(lab, f"demo_{explorer}.ipynb")
    lab.settle()
    times = painted_latency(lab, slider)
    assert len(times) == LATENCY_CHANGES and all(t > 0 for t in times)
    lab.settle()
    assert lab.page.evaluate("() => window.__latency.loaded.length") == LATENCY_CHANGES, (
        "a key press produced more or fewer than one new image"
    )
    figures = {"widget": explorer, "slider": slider.removeprefix(".test-"), **summary(times)}
    lab.artifact("latency.json").write_text(json.dumps({**figures, "times_ms": times}))
    with capsys.disabled():
        print("\npainted latency", json.dumps(figures))
    assert_no_console_errors(lab)

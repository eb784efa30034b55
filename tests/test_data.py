"""course.data: bundled sets, generators and the offline behaviour of downloads."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course import data


def test_digits_split_is_deterministic_stratified_and_complete():
    a, b = data.load_digits(seed=3), data.load_digits(seed=3)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.y_test, b.y_test)
    assert len(a.y_train) + len(a.y_test) == 1797
    # stratified: every digit keeps close to its share in the test part
    counts = np.bincount(a.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37
    from sklearn.datasets import load_digits

    raw = load_digits()
    # the split is a permutation of the raw images (scaled to [0, 1])
    ours = np.concatenate([a.X_train, a.X_test]).reshape(1797, 64)
    assert np.allclose(np.sort(ours.sum(1)), np.sort(raw.data.sum(1) / 16), atol=1e-4)


@pytest.mark.parametrize("size", [16, 28, 32])
def test_digits_resize(size):
    split = data.load_digits(image_size=size)
    assert split.X_train.shape[1:] == (1, size, size)
    assert split.X_train.dtype == np.float32
    assert 0 <= split.X_train.min() and split.X_train.max() <= 1
    small = data.load_digits()
    # the resized image, averaged back to 8x8 blocks, keeps the digit's overall brightness
    assert abs(split.X_train.mean() - small.X_train.mean()) < 0.02


def test_digits_rejects_unsupported_size():
    with pytest.raises(ValueError, match="image_size must be one of"):
        data.load_digits(image_size=20)


def test_flatten():
    split = data.load_digits(flatten=True)
    assert split.X_train.shape[1] == 64


def test_diabetes_standardized():
    X, y = data.load_diabetes()
    assert X.shape == (442, 10) and y.shape == (442,)
    assert np.allclose(X.mean(0), 0, atol=1e-12) and np.allclose(X.std(0), 1)
    X_raw, _ = data.load_diabetes(standardize=False)
    assert X_raw[:, 0].min() >= 19 and X_raw[:, 0].max() <= 79  # age in years


def test_karate_factions_match_networkx():
    import networkx as nx

    G, labels = data.load_karate()
    reference = nx.karate_club_graph()
    assert labels[0] == 0 and labels[33] == 1  # Mr. Hi and the officer
    expected = [reference.nodes[v]["club"] == "Officer" for v in reference.nodes]
    assert labels.tolist() == [int(e) for e in expected]


def test_photo_shapes_and_gray_weights():
    rgb = data.load_photo()
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and 0 <= rgb.min() and rgb.max() <= 1
    gray = data.load_photo(gray=True)
    assert np.allclose(gray, 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])
    assert data.load_photo(size=(40, 30)).shape == (40, 30, 3)
    with pytest.raises(ValueError, match="size must be"):
        data.load_photo(size=(0, 10))


def test_linear_data_recovers_weights_by_least_squares():
    X, y = data.make_linear(5000, d=3, w=[1.0, -2.0, 0.5], b=4.0, noise=0.1, seed=1)
    A = np.column_stack([X, np.ones(len(X))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    assert np.allclose(coef, [1.0, -2.0, 0.5, 4.0], atol=0.01)
    with pytest.raises(ValueError, match="w must have shape"):
        data.make_linear(10, d=2, w=[1.0])


def test_height_weight_trend():
    h, w = data.make_height_weight(2000)
    slope = np.polyfit(h, w, 1)[0]
    assert 0.8 < slope < 1.0 and 150 < h.mean() < 190


@pytest.mark.parametrize("maker", [data.make_moons, data.make_spirals])
def test_2d_sets_are_balanced(maker):
    X, y = maker(300, seed=2)
    assert X.shape == (300, 2) and y.dtype == np.int64
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1


def test_shapes_balanced_deterministic_and_distinct():
    X, y = data.make_shapes(600, image_size=32, seed=5)
    X2, y2 = data.make_shapes(600, image_size=32, seed=5)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.shape == (600, 3, 32, 32) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [100] * 6
    assert 0 <= X.min() and X.max() <= 1
    # the classes differ by shape: the outline length per unit area differs between classes
    gray = X.mean(1)
    edges = np.abs(np.diff(gray, axis=1)).sum((1, 2)) + np.abs(np.diff(gray, axis=2)).sum((1, 2))
    area = (np.abs(gray - np.median(gray, axis=(1, 2), keepdims=True)) > 0.1).mean((1, 2))
    by_class = [np.median(edges[y == k] / np.sqrt(area[y == k] + 1e-3)) for k in range(6)]
    assert len({round(v, 1) for v in by_class}) >= 4  # the shapes differ in outline length


def test_shapes_are_fast_enough_for_the_course():
    start = time.perf_counter()
    data.make_shapes(2000)
    assert time.perf_counter() - start < 30  # generous: the benchmark reports the real figure


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 50), st.integers(0, 2**31))
def test_split_partitions_the_data(n, seed):
    X = np.arange(n)
    y = np.arange(n) % 3
    split = data.train_test_split(X, y, 0.25, seed)
    assert sorted(np.concatenate([split.X_train, split.X_test]).tolist()) == list(range(n))
    assert np.array_equal(split.X_train % 3, split.y_train)


def test_download_fails_fast_and_clearly_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_online", lambda host, timeout: False)
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="cannot be reached"):
        data.download("mnist", root=tmp_path)
    assert time.perf_counter() - start < 10
    with pytest.raises(ValueError, match="name must be one of"):
        data.download("imagenet", root=tmp_path)


def test_online_check_respects_its_timeout():
    start = time.perf_counter()
    data._online("10.255.255.1", timeout=0.5)  # unroutable: must give up on time
    assert time.perf_counter() - start < 5


def test_split_of_regression_targets_keeps_a_test_set():
    X, y = data.make_linear(100, seed=0)
    split = data.train_test_split(X, y, 0.2)
    assert len(split.y_test) == 20 and len(split.y_train) == 80


def test_cache_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA", str(tmp_path))
    assert data.cache_dir() == tmp_path


# --- the 16-class source set of the course backbone (make_shapes(..., classes=16)) ---------


# Statistics of make_shapes(50, image_size=24, seed=7) computed with the code as it was before the
# extra classes existed (commit 0d5974f). A byte hash of the images is not portable: NumPy's
# vectorised sin/cos differ in the last bit between CPUs, so the images are pinned to 1e-6.
_SHAPES_0d5974f_MEANS = np.array(
    [
        0.222564,
        0.372773,
        0.838273,
        0.712366,
        0.806346,
        0.778419,
        0.635657,
        0.727433,
        0.633805,
        0.288962,
        0.407552,
        0.475789,
        0.670898,
        0.235865,
        0.903330,
        0.569106,
        0.333899,
        0.871384,
        0.167789,
        0.471141,
        0.130356,
        0.776999,
        0.394598,
        0.782088,
        0.330377,
        0.720693,
        0.597309,
        0.687374,
        0.661706,
        0.327051,
        0.359975,
        0.575700,
        0.850406,
        0.319797,
        0.591579,
        0.342098,
        0.560059,
        0.692485,
        0.117914,
        0.756109,
        0.092001,
        0.902953,
        0.378608,
        0.489900,
        0.734926,
        0.583954,
        0.721597,
        0.138699,
        0.521269,
        0.557242,
        0.919886,
        0.303273,
        0.708679,
        0.489478,
        0.574372,
        0.174620,
        0.537314,
        0.217221,
        0.261667,
        0.851829,
        0.264252,
        0.528684,
        0.775646,
        0.717056,
        0.567495,
        0.779550,
        0.499783,
        0.536163,
        0.809227,
        0.209738,
        0.474105,
        0.616653,
        0.508342,
        0.400135,
        0.546355,
        0.489271,
        0.486363,
        0.670942,
        0.514131,
        0.431618,
        0.720003,
        0.498082,
        0.862338,
        0.686313,
        0.386360,
        0.720363,
        0.233255,
        0.352138,
        0.835792,
        0.619221,
        0.616867,
        0.584470,
        0.586916,
        0.614618,
        0.397532,
        0.181707,
        0.354390,
        0.325489,
        0.501244,
        0.945994,
        0.388162,
        0.432679,
        0.507364,
        0.401373,
        0.777214,
        0.812837,
        0.372794,
        0.272403,
        0.830655,
        0.481733,
        0.500103,
        0.173008,
        0.870438,
        0.379481,
        0.433480,
        0.243807,
        0.374033,
        0.742445,
        0.731122,
        0.477091,
        0.703537,
        0.432690,
        0.421416,
        0.528179,
        0.198014,
        0.425677,
        0.588671,
        0.704541,
        0.118696,
        0.264907,
        0.297569,
        0.293589,
        0.103694,
        0.694834,
        0.315093,
        0.576795,
        0.341521,
        0.564479,
        0.338895,
        0.533824,
        0.494738,
        0.699757,
        0.202505,
        0.860490,
        0.325657,
        0.415250,
        0.220281,
        0.094431,
        0.442802,
        0.690698,
    ]
)
_SHAPES_0d5974f_SQUARES = np.array(
    [
        0.310841,
        0.598863,
        0.474826,
        0.167814,
        0.467521,
        0.411025,
        0.097393,
        0.493928,
        0.360663,
        0.395874,
        0.419705,
        0.216950,
        0.290292,
        0.476295,
        0.325063,
        0.303098,
        0.484169,
        0.288403,
        0.247885,
        0.294500,
        0.338270,
        0.486973,
        0.410043,
        0.232429,
        0.273903,
        0.331681,
        0.343806,
        0.510439,
        0.288951,
        0.408681,
        0.385542,
        0.195944,
        0.174656,
        0.427896,
        0.388131,
        0.310952,
        0.420317,
        0.346983,
        0.140406,
        0.474782,
        0.309769,
        0.178476,
        0.303805,
        0.121203,
        0.215953,
        0.277836,
        0.240134,
        0.443057,
        0.129567,
        0.244970,
    ]
)
_SHAPES_0d5974f_LABELS_SHA256 = "0a922bc659522164fa63a48cbd670401a65c417ac1b1086863cd954b59a38e56"


def test_shapes_default_call_is_unchanged_by_the_extra_classes():
    """The six-class output is pinned against the old code, so old notebooks see the same images."""
    import hashlib

    X, y = data.make_shapes(50, image_size=24, seed=7)
    assert hashlib.sha256(y.tobytes()).hexdigest() == _SHAPES_0d5974f_LABELS_SHA256
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(X64.mean(axis=(2, 3)).ravel(), _SHAPES_0d5974f_MEANS, atol=2e-6)
    np.testing.assert_allclose((X64**2).mean(axis=(1, 2, 3)), _SHAPES_0d5974f_SQUARES, atol=2e-6)
    X6, y6 = data.make_shapes(50, image_size=24, seed=7, classes=6)
    assert np.array_equal(X, X6) and np.array_equal(y, y6)


def test_sixteen_classes_balanced_deterministic_and_in_range():
    X, y = data.make_shapes(320, seed=2, classes=16)
    X2, y2 = data.make_shapes(320, seed=2, classes=16)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert np.bincount(y).tolist() == [20] * 16
    assert X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert len(data.SHAPE_CLASSES_ALL) == 16 and data.SHAPE_CLASSES_ALL[:6] == data.SHAPE_CLASSES
    other, _ = data.make_shapes(320, seed=3, classes=16)
    assert not np.array_equal(X, other)


def _foreground(X):
    """Pixels (of the 2x2-averaged image, to damp the noise) far from the median colour."""
    n, c, h, w = X.shape
    X = X.reshape(n, c, h // 2, 2, w // 2, 2).mean((3, 5))
    median = np.median(X, axis=(2, 3), keepdims=True)
    return np.linalg.norm(X - median, axis=1) > 0.2  # (N, H/2, W/2)


def test_outlines_are_thin_and_textures_are_busy():
    X, y = data.make_shapes(1600, seed=4, classes=16)
    names = data.SHAPE_CLASSES_ALL
    area = _foreground(X).mean((1, 2))
    gray = X.mean(1)
    gray = gray - gray.mean((1, 2), keepdims=True)
    # busyness: power at periods of 3-6 pixels over power at periods of 8-32 pixels
    power = np.abs(np.fft.fft2(gray)) ** 2
    freq = np.fft.fftfreq(gray.shape[-1]) * gray.shape[-1]  # cycles per image
    radius = np.hypot(freq[:, None], freq[None, :])
    high = power[:, (radius >= 5) & (radius <= 11)].sum(1)
    busy = high / power[:, (radius >= 1) & (radius <= 4)].sum(1)

    def med(values, name):
        return np.median(values[y == names.index(name)])

    # an outline covers far less than the filled shape of the same kind
    for shape in ("circle", "square"):
        assert med(area, f"{shape}-outline") < 0.75 * med(area, shape)
    # textures alternate colours inside the shape: more neighbour differences than solid fills
    for texture in ("stripes", "checks", "dots"):
        assert med(busy, texture) > 3 * max(med(busy, "hexagon"), med(busy, "circle"))


def test_arc_is_an_open_circle_outline():
    X, y = data.make_shapes(800, seed=5, classes=16)
    area = _foreground(X).mean((1, 2))
    idx = data.SHAPE_CLASSES_ALL.index
    arc, full = np.median(area[y == idx("arc")]), np.median(area[y == idx("circle-outline")])
    assert arc < full  # part of the stroke is cut away


@pytest.mark.parametrize("classes", [1, 17, 2.5, True])
def test_shapes_rejects_bad_class_counts(classes):
    with pytest.raises(ValueError, match="classes must be"):
        data.make_shapes(10, classes=classes)


def test_fewer_classes_use_the_first_names():
    _, y = data.make_shapes(90, seed=0, classes=9)
    assert sorted(set(y.tolist())) == list(range(9))

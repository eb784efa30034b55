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


def test_shapes_default_call_is_unchanged_by_the_extra_classes():
    """The six-class output is pinned: this hash was computed with the code as it was before
    the extra classes existed (commit 0d5974f), so old notebooks see the same images."""
    import hashlib

    X, y = data.make_shapes(50, image_size=24, seed=7)
    digest = hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()
    assert digest == "03ab4c14bda48ae93fcec9ad331c48c3b3c3d7b26f7f3edd00892e4584732bb6"
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

"""course.plot: each figure draws the data it is given, on the axes it is given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_learning_curves_plot_the_history():
    history = {
        "epoch": [1, 2, 3],
        "train_loss": [3.0, 2.0, 1.0],
        "val_loss": [3.5, 2.5, 2.0],
        "train_acc": [0.2, 0.5, 0.7],
        "val_acc": [float("nan")] * 3,
    }
    fig, axes = plt.subplots(1, 2)
    returned = plot.learning_curves(history, axes=axes)
    assert returned is axes
    assert [line.get_ydata().tolist() for line in axes[0].lines] == [[3, 2, 1], [3.5, 2.5, 2]]
    assert len(axes[1].lines) == 1  # all-nan validation accuracy is not drawn


def test_image_accepts_channels_first_and_rejects_bad_shapes():
    ax = plot.image(np.zeros((3, 8, 8)))
    assert ax.images[0].get_array().shape == (8, 8, 3)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        plot.image(np.zeros((2, 2, 2, 2)))


def test_image_grid_marks_mistakes():
    images = np.zeros((4, 1, 8, 8))
    ax = plot.image_grid(images, labels=[0, 1, 2, 3], predictions=[0, 1, 0, 3], ncols=2)
    tiles = [a for a in ax.figure.axes if a is not ax]
    titles = [(t.get_title(), t.title.get_color()) for t in tiles]
    assert titles[2] == ("2 → 0", "crimson") and titles[0][1] == "black"


def test_confusion_matrix_writes_the_counts():
    cm = np.array([[5, 1], [0, 4]])
    ax = plot.confusion_matrix(cm, class_names=["a", "b"])
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "4", "5"]
    with pytest.raises(ValueError, match="square"):
        plot.confusion_matrix(np.zeros((2, 3)))


def test_decision_boundary_uses_the_classifier():
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    calls = []

    def predict(points):
        calls.append(points.shape)
        return (points[:, 0] > 0).astype(int)

    plot.decision_boundary(predict, X, np.array([0, 1]), resolution=50)
    assert calls == [(2500, 2)]
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot.decision_boundary(predict, np.zeros((3, 3)), np.zeros(3))


def test_graph_draws_every_node():
    G = nx.path_graph(5)
    ax = plot.graph(G, node_color=[0, 1, 0, 1, 0])
    assert ax.collections[-1].get_offsets().shape == (5, 2)

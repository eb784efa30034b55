"""course.train: seeding, loaders, fit/evaluate/predict against hand-computed references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course import train


def test_set_seed_makes_runs_repeatable():
    train.set_seed(7)
    a = (np.random.rand(3), torch.rand(3))
    train.set_seed(7)
    b = (np.random.rand(3), torch.rand(3))
    assert np.array_equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_device_is_cpu_here_or_an_accelerator():
    assert train.get_device().type in {"cpu", "cuda", "mps"}


def test_loader_dtypes_and_order():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10)
    loader = train.make_loader(X, y, batch_size=4, shuffle=False)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[0][0].dtype == torch.float32 and batches[0][1].dtype == torch.int64
    seen = torch.cat([b[1] for b in train.make_loader(X, y, 3, shuffle=True, seed=1)])
    assert sorted(seen.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="same length"):
        train.make_loader(X, y[:5])


def test_accuracy_and_confusion_matrix_match_sklearn():
    from sklearn.metrics import accuracy_score
    from sklearn.metrics import confusion_matrix as sk_cm

    rng = np.random.default_rng(0)
    y, logits = rng.integers(0, 4, 50), rng.normal(size=(50, 4))
    pred = logits.argmax(1)
    assert train.accuracy(logits, y) == pytest.approx(accuracy_score(y, pred))
    assert np.array_equal(train.confusion_matrix(y, pred, 4), sk_cm(y, pred, labels=range(4)))


def _separable(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def test_fit_learns_and_history_is_consistent():
    train.set_seed(0)
    X, y = _separable()
    model = torch.nn.Linear(2, 2)
    loader = train.make_loader(X, y, batch_size=32)
    history = train.fit(
        model,
        loader,
        num_epochs=15,
        lr=0.05,
        val_loader=loader,
        device=torch.device("cpu"),
        progress=False,
    )
    assert history["epoch"] == list(range(1, 16))
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["val_acc"][-1] > 0.95
    # evaluate agrees with a direct computation
    loss, acc = train.evaluate(model, loader)
    with torch.no_grad():
        logits = model(torch.from_numpy(X))
        expected = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
    assert loss == pytest.approx(expected, rel=1e-5)
    assert acc == pytest.approx(train.accuracy(logits, y))
    assert np.array_equal(train.predict(model, X), logits.argmax(1).numpy())


def test_evaluate_restores_training_mode():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    model.train()
    X, y = _separable(20)
    train.evaluate(model, train.make_loader(X, y))
    assert model.training


def test_fit_does_regression_with_mse():
    train.set_seed(0)
    X = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    y = (3 * X[:, 0] + 1).astype(np.float32)[:, None]
    model = torch.nn.Linear(1, 1)
    history = train.fit(
        model,
        train.make_loader(X, y, 16),
        num_epochs=200,
        lr=0.05,
        loss_fn=torch.nn.MSELoss(),
        progress=False,
        device=torch.device("cpu"),
    )
    assert np.isnan(history["train_acc"][-1])
    assert model.weight.item() == pytest.approx(3, abs=0.05)
    assert model.bias.item() == pytest.approx(1, abs=0.05)

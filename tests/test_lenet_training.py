"""LeNet-5 trained with lecture 05's recipe reaches 97% test accuracy on the digits, and the
lecture and the benchmark use the same recipe. (The training time is a benchmark figure:
``python benchmarks/lenet_training.py``.)"""

from __future__ import annotations

import ast

import pytest

from benchmarks.lenet_training import RECIPE, train_lenet
from tools import nbbuild

LECTURE = nbbuild.SOURCES / "lectures" / "05_pooling_and_lenet.py"


def constant_assignments(source: str) -> dict:
    """Names bound to literal constants at the top level, e.g. ``a, b = 1, 2``."""
    found = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            pairs = zip(target.elts, value.elts, strict=True)
        else:
            pairs = [(target, value)]
        for name, item in pairs:
            if isinstance(name, ast.Name) and isinstance(item, ast.Constant):
                found[name.id] = item.value
    return found


def test_lecture_uses_the_benchmark_recipe():
    found = constant_assignments(LECTURE.read_text())
    assert {key: found.get(key) for key in RECIPE} == RECIPE


def test_lecture_and_benchmark_normalize_with_training_pixels():
    """Both standardize the inputs with the inner training split's mean and std."""
    import inspect

    from benchmarks import lenet_training

    statement = "mean, std = float(inner.X_train.mean()), float(inner.X_train.std())"
    for where, text in (("lecture", LECTURE.read_text()),
                        ("benchmark", inspect.getsource(lenet_training.train_lenet))):
        assert statement in text, f"the {where} does not normalize with the training pixels"
        assert "normalize(inner.X_train)" in text and "normalize(X_test)" in text, where


@pytest.mark.slow
def test_lenet_reaches_97_percent_on_the_digits():
    result = train_lenet(seed=0)
    assert result["test_acc"] >= 0.97, result

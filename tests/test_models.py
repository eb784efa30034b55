"""course.models: LeNet-5's parameter count against the closed form, its layers against a
functional re-implementation, output shapes, the global-average-pooling head, and the errors
a student sees for a wrong input."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import models
from tools import nbbuild

LECTURE = nbbuild.SOURCES / "lectures" / "05_pooling_and_lenet.py"


def lenet_closed_form(image_size: int, in_channels: int = 1, num_classes: int = 10) -> int:
    """(F·F·D + 1)·K per conv layer and (n_in + 1)·n_out per fully connected layer."""
    side = ((image_size - 4) // 2 - 4) // 2  # conv 5 → pool 2 → conv 5 → pool 2
    conv1 = (5 * 5 * in_channels + 1) * 6
    conv2 = (5 * 5 * 6 + 1) * 16
    fc1 = (16 * side * side + 1) * 120
    fc2 = (120 + 1) * 84
    fc3 = (84 + 1) * num_classes
    return conv1 + conv2 + fc1 + fc2 + fc3


def test_lenet5_has_the_classic_61706_parameters():
    # 156 + 2,416 + 48,120 + 10,164 + 850 for a 32x32 grey input and 10 classes
    assert lenet_closed_form(32) == 61706
    assert models.count_parameters(models.LeNet5()) == 61706


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_size": 28},
        {"image_size": 32, "in_channels": 3},
        {"image_size": 64, "num_classes": 6},
        {"image_size": 16},
    ],
)
def test_parameter_count_matches_closed_form(kwargs):
    model = models.LeNet5(**kwargs)
    assert models.count_parameters(model) == lenet_closed_form(**kwargs)


def test_gap_head_parameter_count():
    conv = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16
    head = (16 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10  # 1x1 convolutions
    assert models.count_parameters(models.LeNet5(head="gap")) == conv + head == 15626


def test_count_parameters_trainable_only():
    model = models.LeNet5()
    for p in model.features.parameters():
        p.requires_grad_(False)
    head = (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
    assert models.count_parameters(model, trainable_only=True) == head
    assert models.count_parameters(model) == 61706


@pytest.mark.parametrize("size", [28, 32])
def test_output_shape(size):
    model = models.LeNet5(image_size=size)
    assert model(torch.randn(5, 1, size, size)).shape == (5, 10)


def test_layers_match_a_functional_reference():
    """The forward pass is conv-relu-pool twice, then flatten and 120-84-K with ReLUs."""
    torch.manual_seed(0)
    model = models.LeNet5(num_classes=7, in_channels=3)
    x = torch.randn(4, 3, 32, 32)
    f, h = model.features, model.head
    z = F.max_pool2d(F.relu(F.conv2d(x, f.conv1.weight, f.conv1.bias)), 2)
    z = F.max_pool2d(F.relu(F.conv2d(z, f.conv2.weight, f.conv2.bias)), 2)  # (4, 16, 5, 5)
    z = z.reshape(4, 400)
    z = F.relu(z @ h.fc1.weight.T + h.fc1.bias)
    z = F.relu(z @ h.fc2.weight.T + h.fc2.bias)
    expected = z @ h.fc3.weight.T + h.fc3.bias
    assert torch.allclose(model(x), expected, atol=1e-5)


@pytest.mark.parametrize("shape", [(16, 16), (17, 23), (28, 28), (45, 45), (40, 64), (100, 100)])
def test_gap_head_accepts_any_size_from_16(shape):
    model = models.LeNet5(head="gap")
    assert model(torch.randn(2, 1, *shape)).shape == (2, 10)


def test_gap_head_averages_the_class_maps():
    torch.manual_seed(0)
    model = models.LeNet5(head="gap", num_classes=4)
    x = torch.randn(3, 1, 40, 48)
    maps = model.head.conv5(
        F.relu(model.head.conv4(F.relu(model.head.conv3(model.features(x)))))
    )  # (3, 4, h, w)
    assert maps.shape[2:] == (7, 9)
    assert torch.allclose(model(x), maps.mean(dim=(2, 3)), atol=1e-6)


def test_wrong_channels_names_the_expected_shape():
    with pytest.raises(ValueError, match=re.escape("(N, 1, 32, 32)")) as info:
        models.LeNet5()(torch.zeros(2, 3, 32, 32))
    assert "(2, 3, 32, 32)" in str(info.value) and "in_channels=1" in str(info.value)


def test_wrong_size_for_the_fc_head():
    with pytest.raises(ValueError, match=re.escape("(N, 1, 32, 32)")) as info:
        models.LeNet5()(torch.zeros(2, 1, 28, 28))
    assert "image_size=32" in str(info.value) and "gap" in str(info.value)


def test_missing_batch_dimension_gives_a_hint():
    with pytest.raises(ValueError, match="unsqueeze"):
        models.LeNet5()(torch.zeros(1, 32, 32))


def test_gap_head_rejects_inputs_smaller_than_16():
    with pytest.raises(ValueError, match="H, W >= 16"):
        models.LeNet5(head="gap")(torch.zeros(1, 1, 15, 40))
    with pytest.raises(ValueError, match=re.escape("(N, 3, H, W)")):
        models.LeNet5(head="gap", in_channels=3)(torch.zeros(1, 1, 32, 32))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"head": "mlp"}, "head must be one of"),
        ({"image_size": 12}, "at least 16x16"),
        ({"num_classes": 0}, "num_classes must be a positive integer"),
        ({"in_channels": 1.5}, "in_channels must be a positive integer"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.LeNet5(**kwargs)


def test_registry():
    assert models.MODELS["lenet5"] is models.LeNet5
    model = models.build("lenet5", num_classes=3)
    assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match="unknown model 'lenet6'.*lenet5"):
        models.build("lenet6")


def test_importing_course_does_not_import_torch_or_models():
    code = "import sys, course; print('torch' in sys.modules, 'course.models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_lecture_05_exercise_solution_runs():
    """The folded solution of the GAP-head exercise in lecture 05 is code that works."""
    text = LECTURE.read_text()
    folded = text.split("<summary>Solution: gap_head</summary>", 1)[1].split("</details>", 1)[0]
    lines = [line[2:] if line.startswith("# ") else "" for line in folded.splitlines()]
    code = "\n".join(lines).split("```python", 1)[1].split("```", 1)[0]
    namespace = {"nn": nn}
    exec(compile(code, f"{LECTURE.name}: solution", "exec"), namespace)
    head = namespace["gap_head"](16, 10)
    features = models.LeNet5().features
    for size in (16, 32, 48, 64):
        assert head(features(torch.zeros(2, 1, size, size))).shape == (2, 10)
    assert models.count_parameters(head) == models.count_parameters(models.LeNet5(head="gap").head)
    assert models.count_parameters(head) == 13054  # the number the solution text states

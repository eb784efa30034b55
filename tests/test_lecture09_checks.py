"""Facts lecture 09 (transfer learning) states, checked against torch's own modules and closed
forms, so that a library upgrade or a change of the backbone that breaks them is noticed."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import data, models


@pytest.fixture(scope="module")
def backbone():
    return models.pretrained("course-resnet")


def test_requires_grad_false_does_not_freeze_batch_norm_statistics(backbone):
    """Section 4: frozen weights in train mode still move the running statistics; eval does not."""
    model = copy.deepcopy(backbone)
    model.requires_grad_(False)
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    before = model.stem[1].running_mean.clone()
    model.train()
    with torch.no_grad():
        model(x)
    assert (model.stem[1].running_mean - before).abs().max() > 1e-4
    after_train = model.stem[1].running_mean.clone()
    model.eval()
    with torch.no_grad():
        model(x)
    assert torch.equal(model.stem[1].running_mean, after_train)
    # model.train() switches every submodule back to training mode
    model.train()
    assert all(m.training for m in model.modules())


def test_running_mean_update_closed_form(backbone):
    """Exercise 3: mu <- (1 - m) mu + m * (batch mean over N, H, W of the conv output)."""
    stem = copy.deepcopy(backbone.stem).train()
    x = torch.rand(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    mu = stem[1].running_mean.clone()
    with torch.no_grad():
        h = backbone.stem[0](x)  # (5, 16, 32, 32)
        stem(x)
    m = stem[1].momentum
    torch.testing.assert_close(stem[1].running_mean, (1 - m) * mu + m * h.mean((0, 2, 3)))


def test_momentum_none_is_the_plain_average_of_batch_statistics():
    """Section 5: re-estimating with momentum=None averages the batches' means and variances."""
    norm = nn.BatchNorm2d(4, momentum=None).train()
    g = torch.Generator().manual_seed(2)
    batches = [torch.randn(6, 4, 3, 3, generator=g) * (k + 1) + k for k in range(3)]
    with torch.no_grad():
        for batch in batches:
            norm(batch)
    means = torch.stack([b.mean((0, 2, 3)) for b in batches]).mean(0)
    variances = torch.stack([b.var((0, 2, 3), unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(norm.running_mean, means)
    torch.testing.assert_close(norm.running_var, variances)


def test_cached_features_equal_the_frozen_model(backbone):
    """Section 6: running the frozen backbone once and training on its output is exact."""
    x = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    frozen = copy.deepcopy(backbone).requires_grad_(False).eval()
    with torch.no_grad():
        staged = backbone.pool(backbone.layer3(backbone.layer2(backbone.layer1(backbone.stem(x)))))
        torch.testing.assert_close(frozen.features(x), staged, rtol=0, atol=0)


def test_trainable_counts_of_the_methods(backbone):
    """Section 4: the head has 64*10+10 parameters; 'last stage' adds layer3's."""
    model = copy.deepcopy(backbone)
    model.fc = nn.Linear(model.feature_dim, 10)
    model.requires_grad_(False)
    model.fc.requires_grad_(True)
    assert model.feature_dim == 64
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count == 64 * 10 + 10
    model.layer3.requires_grad_(True)
    # layer3: conv 32->64 3x3, conv 64->64 3x3, 1x1 projection 32->64, three batch norms
    layer3 = 64 * 32 * 9 + 64 * 64 * 9 + 64 * 32 + 3 * 2 * 64
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == count + layer3


def test_parameter_group_options_default_to_the_keyword_arguments():
    """Section 4: a group without "lr" takes the optimizer's lr."""
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(3))
    opt = torch.optim.Adam([{"params": [a], "lr": 1e-3}, {"params": [b]}], lr=1e-2)
    assert [group["lr"] for group in opt.param_groups] == [1e-3, 1e-2]


def test_digit_conversion_keeps_values_and_constant_images():
    """Section 3: bilinear 8x8 -> 32x32 stays in [0, 1] and keeps a constant image constant."""
    split = data.load_digits()
    X = torch.from_numpy(split.X_train[:20])
    big = F.interpolate(X, size=(32, 32), mode="bilinear", align_corners=False)
    assert big.min() >= 0 and big.max() <= 1 + 1e-6
    const = F.interpolate(torch.full((1, 1, 8, 8), 0.3), size=(32, 32), mode="bilinear",
                          align_corners=False)
    torch.testing.assert_close(const, torch.full((1, 1, 32, 32), 0.3))
    # the ink is bright on a dark background: the border of a digit is mostly 0
    assert split.X_train[:, 0, :, 0].mean() < 0.05 < split.X_train.mean()


def test_source_objects_are_brighter_or_darker_than_the_background_about_equally():
    """Section 3: the generator draws object and background colours independently, so both
    polarities occur about equally often."""
    rng = np.random.default_rng(0)
    fg, bg = data._contrasting_colours(rng, 20000)
    brighter = (fg.mean(1) > bg.mean(1)).mean()
    assert 0.45 < brighter < 0.55

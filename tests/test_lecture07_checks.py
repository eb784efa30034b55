"""Claims of lecture 07 (training deep networks), asserted against independent references:
the variance argument behind Xavier/He initialization (closed-form per-layer factors),
the lecture's batch norm against ``torch.nn.functional.batch_norm`` (outputs and running
statistics, training and evaluation mode), and its inverted dropout against ``F.dropout``.

Cells of ``notebook_sources/lectures/07_training_deep_networks.py`` whose first line is
``# check: L07 ...`` are executed in order in a namespace holding the lecture's imports.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tools import nbbuild

SOURCE = nbbuild.SOURCES / "lectures" / "07_training_deep_networks.py"


@pytest.fixture(scope="module")
def l07() -> dict:
    """Execute, in order, the cells of the lecture source marked ``# check: L07``."""
    cells = nbbuild.parse_source(SOURCE.read_text(), SOURCE.name)
    marked = [
        "\n".join(c["lines"])
        for c in cells
        if not c["options"]["markdown"] and c["lines"] and c["lines"][0].startswith("# check: L07")
    ]
    assert len(marked) == 3, f"{SOURCE.name} lost some of its '# check: L07' cells"
    namespace = {"math": math, "np": np, "torch": torch, "F": F, "nn": nn}
    for code in marked:
        exec(compile(code, str(SOURCE), "exec"), namespace)  # our own notebook code
    return namespace


# --- initialization: Var[z_l] = n Var[w] E[x^2]; ReLU halves the second moment -----------


@pytest.mark.parametrize(
    "name,factor",
    [("He", 1.0), ("Xavier", 0.5), ("PyTorch default U(±1/√n)", 1 / 6)],
)
def test_relu_variance_follows_the_per_layer_factor(l07, name, factor):
    v = l07["preactivation_variances"](l07["inits"][name], torch.relu, depth=30)
    # layer 1 sees standard-normal inputs (no ReLU yet): Var[z_1] = n Var[w]
    assert v[0] == pytest.approx(256 * l07["inits"][name](256, 256) ** 2, rel=0.05)
    per_layer = (v[-1] / v[0]) ** (1 / 29)
    assert per_layer == pytest.approx(factor, rel=0.05)


def test_he_std_matches_torch_initializer(l07):
    std = l07["inits"]["He"](256, 256)
    w = nn.init.kaiming_normal_(torch.empty(512, 256), nonlinearity="relu")
    assert std == pytest.approx(nn.init.calculate_gain("relu") / math.sqrt(256))
    assert w.std().item() == pytest.approx(std, rel=0.02)
    xavier = l07["inits"]["Xavier"](256, 128)
    w = nn.init.xavier_normal_(torch.empty(128, 256))
    assert w.std().item() == pytest.approx(xavier, rel=0.02)


def test_tiny_init_kills_the_signal(l07):
    v = l07["preactivation_variances"](l07["inits"]["N(0, 0.01²)"], torch.relu, depth=5)
    assert v[-1] < 1e-8


# --- batch norm: biased variance to normalize, unbiased in the running average -----------


@pytest.mark.parametrize("shape", [(2, 1, 1, 1), (4, 3, 5, 5), (1, 2, 3, 2), (8, 6, 2, 7)])
@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_matches_functional_batch_norm(l07, shape, momentum):
    g = torch.Generator().manual_seed(sum(shape))
    C = shape[1]
    gamma, beta = torch.randn(C, generator=g), torch.randn(C, generator=g)
    rm, rv = torch.randn(C, generator=g), torch.rand(C, generator=g) + 0.5
    rm_ref, rv_ref = rm.clone(), rv.clone()
    for _ in range(3):
        x = 5 + 4 * torch.randn(shape, generator=g, dtype=torch.float32)
        ours, rm, rv = l07["batchnorm2d"](x, gamma, beta, rm, rv, training=True, momentum=momentum)
        ref = F.batch_norm(x, rm_ref, rv_ref, gamma, beta, training=True, momentum=momentum)
        torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(rm, rm_ref)
        torch.testing.assert_close(rv, rv_ref)
    x = torch.randn(shape, generator=g)
    ours = l07["batchnorm2d"](x, gamma, beta, rm, rv, training=False)[0]
    ref = F.batch_norm(x, rm_ref, rv_ref, gamma, beta, training=False)
    torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-5)


def test_exercise_running_statistics_by_hand():
    # the lecture's worked answer: batch [1, 2, 3, 6], mean 3, squared deviations sum to 14
    bn = nn.BatchNorm1d(1)
    bn(torch.tensor([[1.0], [2.0], [3.0], [6.0]]))
    assert bn.running_mean.item() == pytest.approx(0.3)
    assert bn.running_var.item() == pytest.approx(0.9 + 0.1 * 14 / 3)


# --- inverted dropout ----------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_keeps_the_mean_and_scales_like_torch(l07, p):
    x = torch.ones(200_000)
    ours = l07["dropout"](x, p, training=True, generator=torch.Generator().manual_seed(1))
    theirs = F.dropout(x, p=p, training=True)
    for y in (ours, theirs):
        assert sorted(y.unique().tolist()) == pytest.approx([0.0, 1 / (1 - p)])
        assert (y == 0).float().mean().item() == pytest.approx(p, abs=0.005)
        assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(l07["dropout"](x, p, training=False), x)

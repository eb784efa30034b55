"""Facts lecture 08 states about weight decay and transforms, checked against closed forms
and torch/torchvision so that a library upgrade that changes them is noticed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _run(make_optimizer, penalty=0.0, steps=5):
    torch.manual_seed(0)
    X = torch.randn(20, 4, dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    w = torch.randn(4, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([w])
    for _ in range(steps):
        loss = 0.5 * ((X @ w - y) ** 2).mean() + penalty / 2 * (w**2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.detach()


def test_sgd_weight_decay_is_the_l2_penalty_with_a_half():
    lam, lr = 0.1, 0.05
    a = _run(lambda p: torch.optim.SGD(p, lr=lr), penalty=lam)
    b = _run(lambda p: torch.optim.SGD(p, lr=lr, weight_decay=lam))
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_adam_weight_decay_is_l2_and_adamw_differs():
    lam, lr = 0.1, 0.05
    adam_l2 = _run(lambda p: torch.optim.Adam(p, lr=lr), penalty=lam)
    adam_wd = _run(lambda p: torch.optim.Adam(p, lr=lr, weight_decay=lam))
    adamw = _run(lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=lam))
    torch.testing.assert_close(adam_l2, adam_wd, rtol=1e-12, atol=1e-12)
    assert (adam_wd - adamw).abs().max() > 1e-3


def test_adamw_first_step_closed_form():
    w = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    g = torch.tensor([0.3, 0.1, -4.0], dtype=torch.float64)
    lr, lam, eps = 0.1, 0.5, 1e-8
    p = w.clone().requires_grad_(True)
    p.grad = g.clone()
    torch.optim.AdamW([p], lr=lr, eps=eps, weight_decay=lam).step()
    # at t = 1, m_hat = g and v_hat = g^2
    expected = w * (1 - lr * lam) - lr * g / (g.abs() + eps)
    torch.testing.assert_close(p.detach(), expected, rtol=1e-12, atol=1e-12)


def test_ridge_closed_form_matches_sklearn_with_alpha_n_lambda():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 8)), rng.normal(size=30)
    n, lam = len(X), 0.5
    w = np.linalg.solve(X.T @ X + n * lam * np.eye(8), X.T @ y)
    np.testing.assert_allclose(w, Ridge(alpha=n * lam, fit_intercept=False).fit(X, y).coef_,
                               rtol=1e-10)


def test_v2_transform_on_a_batch_draws_once():
    from torchvision.transforms import v2

    torch.manual_seed(0)
    copies = torch.rand(1, 1, 16, 16).expand(6, 1, 16, 16)
    out = v2.RandomAffine(degrees=20, translate=(0.15, 0.15))(copies)
    assert all(torch.equal(out[0], o) for o in out)
    assert not torch.equal(out[0], copies[0])


def test_contrast_zero_is_the_mean_and_brightness_zero_is_black():
    from torchvision.transforms.v2 import functional as TF

    x = torch.rand(1, 1, 8, 8)
    torch.testing.assert_close(TF.adjust_contrast(x, 0.0), torch.full_like(x, x.mean().item()))
    assert TF.adjust_brightness(x, 0.0).abs().max() == 0

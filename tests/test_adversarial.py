"""course.adversarial against closed forms (linear classifiers), invariants and autograd."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import adversarial as adv


def linear_model(W, b=None):
    model = nn.Linear(W.shape[1], W.shape[0])
    with torch.no_grad():
        model.weight.copy_(W)
        model.bias.copy_(torch.zeros(W.shape[0]) if b is None else b)
    return model


def small_cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.5),
        nn.Flatten(), nn.Linear(4 * 6 * 6, 3),
    )


@pytest.fixture
def binary():
    """A two-class linear model on 5 features and points well inside (0, 1)."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(2, 5, generator=g)
    b = torch.randn(2, generator=g) * 0.1
    x = 0.3 + 0.4 * torch.rand(8, 5, generator=g)
    return linear_model(W, b), W, b, x


def test_fgsm_on_linear_model_is_eps_sign_of_weight_difference(binary):
    model, W, b, x = binary
    y = torch.randint(0, 2, (8,), generator=torch.Generator().manual_seed(1))
    eps = 0.05
    x_adv = adv.fgsm(model, x, y, eps)
    # dJ/dx = (p_other - 1[...])... = p_other (w_other - w_y): its sign is sign(w_other - w_y)
    expected = eps * torch.sign(W[1 - y] - W[y])
    torch.testing.assert_close(x_adv - x, expected)
    # targeted toward the other class: the same step (descend J(other) = ascend J(y))
    torch.testing.assert_close(adv.fgsm(model, x, 1 - y, eps, targeted=True), x_adv)


def test_fgsm_and_pgd_reach_the_optimal_linf_attack_on_a_linear_classifier(binary):
    model, W, b, x = binary
    with torch.no_grad():
        y = model(x).argmax(1)
    eps = 0.08
    # min over ||d||_inf <= eps of the margin (w_y - w_o).(x + d) + b_y - b_o is at
    # d* = -eps sign(w_y - w_o), lowering the margin by eps ||w_y - w_o||_1
    dw = W[y] - W[1 - y]
    d_star = -eps * torch.sign(dw)
    for x_adv in (adv.fgsm(model, x, y, eps),
                  adv.pgd(model, x, y, eps, alpha=0.02, steps=10, random_start=True,
                          generator=torch.Generator().manual_seed(3))):
        torch.testing.assert_close(x_adv - x, d_star)
        margin = ((dw * x_adv).sum(1) + b[y] - b[1 - y])
        expected = (dw * x).sum(1) + b[y] - b[1 - y] - eps * dw.abs().sum(1)
        torch.testing.assert_close(margin, expected)


def test_robust_accuracy_of_linear_classifier_matches_closed_form(binary):
    model, W, b, x = binary
    with torch.no_grad():
        y = model(x).argmax(1)
        y[:3] = 1 - y[:3]  # some points misclassified from the start
    dw = W[y] - W[1 - y]
    margin = (dw * x).sum(1) + b[y] - b[1 - y]
    for eps in (0.0, 0.02, 0.05, 0.1):
        expected = ((margin - eps * dw.abs().sum(1)) > 0).float().mean().item()
        got = adv.accuracy_under_attack(
            model, x, y, lambda m, xb, yb, e=eps: adv.pgd(m, xb, yb, e, e / 4 + 1e-6, 8,
                                                          random_start=False, clip=None))
        assert got == pytest.approx(expected)


def test_fgsm_matches_autograd_multiclass_and_targeted():
    model = small_cnn()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 1, 6, 6, generator=g)
    y = torch.randint(0, 3, (5,), generator=g)
    model.eval()
    xr = x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y).backward()
    expected = (x + 0.1 * xr.grad.sign()).clamp(0, 1)
    expected_t = (x - 0.1 * xr.grad.sign()).clamp(0, 1)
    model.train()
    torch.testing.assert_close(adv.fgsm(model, x, y, 0.1), expected)
    torch.testing.assert_close(adv.fgsm(model, x, y, 0.1, targeted=True), expected_t)


def test_pgd_without_random_start_one_step_is_fgsm():
    model = small_cnn(2)
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0])
    torch.testing.assert_close(adv.pgd(model, x, y, 0.1, 0.1, 1, random_start=False),
                               adv.fgsm(model, x, y, 0.1))


def test_pgd_reference_loop_with_projection_around_the_original():
    model = small_cnn(4).eval()
    g = torch.Generator().manual_seed(5)
    x = torch.rand(6, 1, 6, 6, generator=g)
    y = torch.randint(0, 3, (6,), generator=g)
    eps, alpha, steps = 0.05, 0.03, 5
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(9))
    ref = (x + (2 * noise - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        r = ref.clone().requires_grad_(True)
        F.cross_entropy(model(r), y).backward()
        ref = ref + alpha * r.grad.sign()
        ref = torch.min(torch.max(ref, x - eps), x + eps).clamp(0, 1)
    got = adv.pgd(model, x, y, eps, alpha, steps, generator=torch.Generator().manual_seed(9))
    torch.testing.assert_close(got, ref)


@pytest.mark.parametrize("eps", [0.0, 0.03, 0.3])
def test_invariants(eps):
    model = small_cnn(1)
    model.train()
    g = torch.Generator().manual_seed(2)
    x = torch.rand(7, 1, 6, 6, generator=g)
    x[0] = 0.0
    x[1] = 1.0  # extreme but valid pixels
    y = torch.randint(0, 3, (7,), generator=g)
    x_before = x.clone()
    params_before = [p.detach().clone() for p in model.parameters()]
    buffers_before = [b.clone() for b in model.buffers()]
    for x_adv in (adv.fgsm(model, x, y, eps),
                  adv.pgd(model, x, y, eps, 0.01, 7, generator=torch.Generator().manual_seed(0)),
                  adv.pgd(model, x, y, eps, 0.01, 7, targeted=True,
                          generator=torch.Generator().manual_seed(0))):
        assert x_adv.shape == x.shape and not x_adv.requires_grad
        assert (x_adv - x).abs().max() <= eps + 1e-6
        assert x_adv.min() >= 0 and x_adv.max() <= 1
        if eps == 0:
            assert torch.equal(x_adv, x)
    assert torch.equal(x, x_before)
    assert model.training and all(m.training for m in model.modules())
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, p) for a, p in zip(params_before, model.parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(buffers_before, model.buffers(), strict=True))


def test_attack_runs_in_eval_mode_and_restores_mixed_modes():
    seen = []

    class Spy(nn.Module):
        def forward(self, x):
            seen.append(self.training)
            return x

    model = nn.Sequential(Spy(), nn.Flatten(), nn.Linear(4, 2), nn.Dropout(0.5))
    model.train()
    model[2].eval()
    x = torch.rand(3, 1, 2, 2)
    adv.pgd(model, x, torch.tensor([0, 1, 0]), 0.1, 0.05, 3)
    assert seen and not any(seen)
    assert [m.training for m in model] == [True, True, False, True]


def test_random_start_follows_the_generator_not_the_global_rng():
    model = small_cnn(3)
    x = torch.rand(4, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 1, 2, 1])

    def run(seed, global_seed):
        torch.manual_seed(global_seed)
        return adv.pgd(model, x, y, 0.1, 0.01, 0, generator=torch.Generator().manual_seed(seed))

    assert torch.equal(run(0, 0), run(0, 123))
    assert not torch.equal(run(0, 0), run(1, 0))
    assert (run(0, 0) - x).abs().max() > 0.05  # zero steps: the random start itself


def test_targeted_pgd_reaches_the_target_on_linear_model():
    torch.manual_seed(0)
    W = torch.randn(4, 10)
    model = linear_model(W)
    x = torch.full((3, 10), 0.5)
    target = torch.tensor([1, 2, 3])
    x_adv = adv.pgd(model, x, target, 0.5, 0.05, 40, targeted=True,
                    generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(x_adv).argmax(1), target)


def test_adversarial_training_step_matches_manual_step():
    model = small_cnn(6)
    clone = small_cnn(6)
    x = torch.rand(8, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 3, (8,), generator=torch.Generator().manual_seed(1))

    def attack(m, xb, yb):
        return adv.fgsm(m, xb, yb, 0.1)

    x_adv = attack(clone, x, y)
    opt_ref = torch.optim.SGD(clone.parameters(), lr=0.1)
    clone.train()
    torch.manual_seed(42)  # dropout mask
    loss_ref = F.cross_entropy(clone(x_adv), y)
    loss_ref.backward()
    opt_ref.step()
    model.eval()
    torch.manual_seed(42)
    loss = adv.adversarial_training_step(model, torch.optim.SGD(model.parameters(), lr=0.1),
                                         x, y, attack)
    assert loss == pytest.approx(loss_ref.item(), rel=1e-6)
    assert not model.training
    for p, q in zip(model.parameters(), clone.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_accuracy_vs_eps_clean_point_and_decreasing():
    model = linear_model(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))
    x = torch.rand(50, 2, generator=torch.Generator().manual_seed(0))
    y = (x[:, 1] > x[:, 0]).long()
    accs = adv.accuracy_vs_eps(model, x, y, [0.0, 0.05, 0.2, 0.5], method="pgd")
    assert accs[0] == 1.0 and all(accs[1:] <= accs[:-1]) and accs[-1] == 0.0
    fg = adv.accuracy_vs_eps(model, x, y, [0.05], method="fgsm")
    # closed form: each pixel moves by eps toward the other class (sign(w_o - w_y)), clipped
    W = model.weight.detach()
    expected = (x + 0.05 * torch.sign(W[1 - y] - W[y])).clamp(0, 1)
    assert fg[0] == pytest.approx(((expected[:, 1] > expected[:, 0]).long() == y).float().mean())


def test_bad_input_raises():
    model = small_cnn()
    x = torch.rand(2, 1, 6, 6)
    with pytest.raises(ValueError, match="y must be"):
        adv.fgsm(model, x, torch.tensor([0, 1, 2]), 0.1)
    with pytest.raises(ValueError, match="x must be"):
        adv.fgsm(model, torch.zeros(2, 1, 6, 6, dtype=torch.long), torch.tensor([0, 1]), 0.1)
    with pytest.raises(ValueError, match="eps"):
        adv.pgd(model, x, torch.tensor([0, 1]), -0.1, 0.1, 3)
    with pytest.raises(ValueError, match="steps"):
        adv.pgd(model, x, torch.tensor([0, 1]), 0.1, 0.1, 2.5)
    with pytest.raises(ValueError, match="method"):
        adv.accuracy_vs_eps(model, x, torch.tensor([0, 1]), [0.1], method="cw")

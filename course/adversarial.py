"""Adversarial examples under an L-infinity budget: FGSM, PGD, accuracy under attack and one
step of adversarial training (Madry et al., 2018).

Every attack takes images ``x: (N, ...)`` with values in ``clip`` (``[0, 1]`` by default) and
labels ``y: (N,)`` and returns new images ``x_adv`` of the same shape with
``|x_adv - x| <= eps`` everywhere and values inside ``clip``. Attacks are run with the model in
eval mode (dropout off, batch norm on its running statistics); the model's mode is restored
afterwards, its weights and their ``.grad`` are left untouched and ``x`` is never modified.
``targeted=True`` reads ``y`` as the classes to reach: the attack then *descends* the loss of
``y`` instead of ascending the loss of the true label.

>>> import torch
>>> model = torch.nn.Linear(2, 2)
>>> with torch.no_grad():
...     _ = model.weight.copy_(torch.tensor([[1.0, -2.0], [-1.0, 2.0]]))
...     _ = model.bias.zero_()
>>> x = torch.tensor([[0.5, 0.5]])
>>> fgsm(model, x, torch.tensor([0]), eps=0.1)  # sign(w_1 - w_0) = (-1, +1)
tensor([[0.4000, 0.6000]])
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "eval_mode",
    "input_gradient",
    "project_linf",
    "fgsm",
    "pgd",
    "accuracy_under_attack",
    "accuracy_vs_eps",
    "adversarial_training_step",
    "train_epoch",
]

Clip = tuple[float, float] | None
Attack = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule of ``model`` in eval mode; restore each one's own mode on exit.

    >>> net = torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.Linear(2, 2))
    >>> _ = net[0].train(); _ = net[1].eval()
    >>> with eval_mode(net):
    ...     print(net[0].training)
    False
    >>> net[0].training, net[1].training
    (True, False)
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes:
            module.training = training


def _check(x: torch.Tensor, y: torch.Tensor, eps: float, clip: Clip) -> None:
    if not torch.is_tensor(x) or not x.is_floating_point() or x.ndim < 2:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"x must be a float tensor of shape (N, ...); got {shape}")
    if not torch.is_tensor(y) or y.is_floating_point() or y.shape != (len(x),):
        shape = tuple(y.shape) if torch.is_tensor(y) else type(y).__name__
        raise ValueError(f"y must be an integer tensor of shape ({len(x)},); got {shape}")
    if not float(eps) >= 0:
        raise ValueError(f"eps must be >= 0; got {eps}")
    if clip is not None and not clip[0] < clip[1]:
        raise ValueError(f"clip must be a pair (low, high) with low < high; got {clip}")


def input_gradient(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable | None = None
) -> torch.Tensor:
    """Gradient of the summed loss ``sum_i J(model(x)_i, y_i)`` w.r.t. the input ``x: (N, ...)``.

    The sum (not the mean) makes each example's gradient independent of the batch size. The
    model is used as it is (its mode is not changed); no ``.grad`` is written anywhere.
    """
    loss_fn = loss_fn or (lambda logits, t: F.cross_entropy(logits, t, reduction="sum"))
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        loss = loss_fn(model(x), y)
        (grad,) = torch.autograd.grad(loss, x)
    return grad


def project_linf(x_adv: torch.Tensor, x: torch.Tensor, eps: float, clip: Clip = (0.0, 1.0)):
    """Nearest point to ``x_adv`` in the eps-ball around ``x`` (L-inf), then clipped to ``clip``.

    Both sets are boxes, so the projection is an elementwise clamp; clipping after projecting
    stays inside the ball because ``x`` itself lies inside ``clip``.

    >>> project_linf(torch.tensor([0.9, 0.2, -0.3]), torch.tensor([0.5, 0.25, 0.0]), 0.1)
    tensor([0.6000, 0.2000, 0.0000])
    """
    out = torch.maximum(torch.minimum(x_adv, x + eps), x - eps)
    return out if clip is None else out.clamp(*clip)


def fgsm(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    targeted: bool = False,
    clip: Clip = (0.0, 1.0),
    loss_fn: Callable | None = None,
) -> torch.Tensor:
    """Fast gradient sign method (Goodfellow et al., 2015): one step of size ``eps``.

    ``x_adv = clip(x + eps * sign(grad_x J(x, y)))``; with ``targeted`` the step goes down the
    loss of the target ``y``: ``clip(x - eps * sign(grad_x J(x, y)))``. ``x: (N, ...)``,
    ``y: (N,)``; returns a new tensor shaped like ``x``, detached from any graph.
    """
    _check(x, y, eps, clip)
    with eval_mode(model):
        grad = input_gradient(model, x, y, loss_fn)
    step = -eps if targeted else eps
    x_adv = x.detach() + step * grad.sign()
    return x_adv if clip is None else x_adv.clamp(*clip)


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    random_start: bool = True,
    targeted: bool = False,
    generator: torch.Generator | None = None,
    clip: Clip = (0.0, 1.0),
    loss_fn: Callable | None = None,
) -> torch.Tensor:
    """Projected gradient descent in the L-inf ball (Madry et al., 2018).

    Start at ``x`` (or, with ``random_start``, at ``x + U(-eps, eps)`` drawn from
    ``generator``, clipped), then ``steps`` times: move by ``alpha * sign(grad)`` (up the loss
    of ``y``, or down it when ``targeted``) and project back onto the eps-ball around the
    ORIGINAL ``x`` and into ``clip``. ``x: (N, ...)``, ``y: (N,)``; returns a new tensor.
    """
    _check(x, y, eps, clip)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0; got {alpha}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0; got {steps!r}")
    x0 = x.detach()
    x_adv = x0.clone()
    if random_start and eps > 0:
        noise = torch.rand(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
        x_adv = project_linf(x0 + (2 * noise - 1) * eps, x0, eps, clip)
    sign = -1.0 if targeted else 1.0
    with eval_mode(model):
        for _ in range(steps):
            grad = input_gradient(model, x_adv, y, loss_fn)
            x_adv = project_linf(x_adv + sign * alpha * grad.sign(), x0, eps, clip)
    return x_adv


def accuracy_under_attack(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    attack: Attack | None = None,
    batch_size: int = 512,
) -> float:
    """Accuracy of ``model`` on ``attack(model, X_batch, y_batch)`` (clean when ``attack`` is
    None), evaluated in eval mode batch by batch. ``X: (N, ...)``, ``y: (N,)``."""
    _check(X, y, 0.0, None)
    correct = 0
    with eval_mode(model):
        for start in range(0, len(X), batch_size):
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            if attack is not None:
                xb = attack(model, xb, yb)
            with torch.no_grad():
                correct += (model(xb).argmax(1) == yb).sum().item()
    return correct / len(X)


def accuracy_vs_eps(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    eps_values: Sequence[float],
    method: str = "pgd",
    steps: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """Accuracy under FGSM or PGD (``steps`` steps of ``alpha = 2.5 eps / steps``, random start
    seeded with ``seed``) for each ``eps`` in ``eps_values``; eps = 0 gives clean accuracy."""
    if method not in ("fgsm", "pgd"):
        raise ValueError(f"method must be 'fgsm' or 'pgd'; got {method!r}")
    accs = []
    for eps in eps_values:
        if eps == 0:
            attack = None
        elif method == "fgsm":
            def attack(m, xb, yb, eps=eps):
                return fgsm(m, xb, yb, eps)
        else:
            gen = torch.Generator().manual_seed(seed)

            def attack(m, xb, yb, eps=eps, gen=gen):
                return pgd(m, xb, yb, eps, 2.5 * eps / steps, steps, generator=gen)
        accs.append(accuracy_under_attack(model, X, y, attack))
    return np.array(accs)


def adversarial_training_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    attack: Attack,
    loss_fn: Callable | None = None,
) -> float:
    """One step of adversarial training: ``min_theta E max_delta J(theta, x + delta, y)``.

    The inner max is approximated by ``attack(model, x, y)`` (run in eval mode by the attacks
    above); the outer step is an ordinary optimizer step on the loss of the adversarial batch
    with the model in train mode. The model's mode is restored; returns the batch loss.
    """
    loss_fn = loss_fn or F.cross_entropy
    x_adv = attack(model, x, y).detach()
    was_training = model.training
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(x_adv), y)
    loss.backward()
    optimizer.step()
    model.train(was_training)
    return loss.item()


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    X: torch.Tensor,
    y: torch.Tensor,
    batch_size: int = 64,
    attack: Attack | None = None,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """One epoch over shuffled mini-batches of ``X: (N, ...)``, ``y: (N,)``: standard training
    when ``attack`` is None, adversarial training otherwise. Returns (mean loss, seconds)."""
    start = time.perf_counter()
    order = torch.randperm(len(X), generator=generator)
    total = 0.0
    for i in range(0, len(X), batch_size):
        idx = order[i : i + batch_size]
        xb, yb = X[idx], y[idx]
        if attack is None:
            model.train()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        else:
            total += adversarial_training_step(model, optimizer, xb, yb, attack) * len(idx)
    return total / len(X), time.perf_counter() - start

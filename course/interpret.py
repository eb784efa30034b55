"""Looking inside a trained CNN: attributions, images optimized to excite it, and
neural-collapse measurements of its last-layer features.

- :func:`saliency` and :func:`guided_backprop` say which pixels a class score depends on.
- :func:`class_visualization` and :func:`deep_dream` change an image by gradient *ascent*
  on a class score or on a layer's activations; :func:`activations` reads any layer.
- :func:`nc1` ... :func:`nc4` (and :func:`neural_collapse`, all four at once) measure how
  close last-layer features are to neural collapse (Papyan, Han and Donoho, 2020).

Gram matrices, style and content losses and texture synthesis are in :mod:`course.style`.
No function here changes the model's weights, their ``.grad`` or its train/eval mode.

>>> import torch
>>> model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 2))
>>> saliency(model, torch.rand(5, 3, 2, 2), target=1).shape
torch.Size([5, 2, 2])
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn

__all__ = [
    "saliency",
    "guided_backprop",
    "activations",
    "class_visualization",
    "deep_dream",
    "class_means",
    "nc1",
    "nc2",
    "nc3",
    "nc4",
    "neural_collapse",
    "simplex_etf",
]


def _check_images(x, name: str = "x") -> None:
    if not torch.is_tensor(x) or x.dim() != 4 or not x.is_floating_point():
        got = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"{name} must be a float tensor of shape (N, C, H, W); got {got}")


def _targets(target, n: int) -> torch.Tensor:
    """``target`` (an int or ``(N,)`` labels) as an int64 tensor ``(n,)``."""
    t = torch.as_tensor(target)
    if t.dim() == 0:
        t = t.repeat(n)
    if t.shape != (n,) or t.is_floating_point():
        raise ValueError(f"target must be an int or {n} integer labels; got {tuple(t.shape)}")
    return t.long()


@contextmanager
def _eval_mode(model: nn.Module):
    """Run ``model`` in eval mode (dropout off, batch-norm running statistics) and put it
    back in the mode it was in."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def _score_gradient(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """d score_target / d x for every image of ``x: (N, C, H, W)``; the model's .grad stays."""
    x = x.detach().clone().requires_grad_(True)
    with _eval_mode(model):
        scores = model(x)  # (N, K)
    chosen = scores.gather(1, _targets(target, len(x)).to(scores.device)[:, None])  # (N, 1)
    (grad,) = torch.autograd.grad(chosen.sum(), x)  # images do not interact: sum is fine
    return grad


def saliency(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Saliency map (Simonyan et al., 2014): ``max_c |d S_target / d x[c, i, j]|``.

    ``x: (N, C, H, W)`` images, ``target``: a class index or ``(N,)`` labels.
    Returns ``(N, H, W)``, one non-negative number per pixel.
    """
    _check_images(x)
    return _score_gradient(model, x, target).abs().amax(dim=1)


class _GuidedReLU(torch.autograd.Function):
    """Identity on a ReLU's output ``y``; backward lets a gradient through only where it is
    positive *and* the unit was active (``y > 0``)."""

    @staticmethod
    def forward(ctx, y):
        ctx.save_for_backward(y)
        return y.clone()

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad.clamp(min=0) * (y > 0)


def guided_backprop(model: nn.Module, x: torch.Tensor, target) -> torch.Tensor:
    """Guided backpropagation (Springenberg et al., 2015): the input gradient of the target
    score where every ReLU passes back only positive gradients through positive activations.

    Works through the model's ``nn.ReLU`` modules (a ReLU called as ``F.relu`` is not
    seen); forward hooks are attached for the call and removed afterwards.
    ``x: (N, C, H, W)``, ``target``: int or ``(N,)``; returns ``(N, C, H, W)`` (signed).
    """
    _check_images(x)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("guided_backprop needs a model with nn.ReLU modules; found none")
    hooks = [m.register_forward_hook(lambda mod, inp, out: _GuidedReLU.apply(out)) for m in relus]
    try:
        return _score_gradient(model, x, target)
    finally:
        for hook in hooks:
            hook.remove()


def activations(model: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The output of ``layer`` (a submodule of ``model``) when ``model`` runs on ``x``.

    The forward pass keeps its graph, so the result can be differentiated w.r.t. ``x``.
    """
    _check_images(x)
    seen = []
    hook = layer.register_forward_hook(lambda mod, inp, out: seen.append(out))
    try:
        model(x)
    finally:
        hook.remove()
    if not seen:
        raise ValueError("layer was not called in model's forward pass: is it part of model?")
    return seen[-1]


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    from torchvision.transforms.v2 import functional as TF

    size = 2 * int(3 * sigma) + 1  # an odd kernel covering +-3 sigma
    return TF.gaussian_blur(x, kernel_size=[size, size], sigma=[sigma, sigma])


def _ascend(
    objective: Callable[[torch.Tensor], torch.Tensor],
    img: torch.Tensor,
    steps: int,
    lr: float,
    max_jitter: int,
    blur_every: int,
    blur_sigma: float,
    clip: tuple[float, float],
    generator: torch.Generator,
) -> torch.Tensor:
    """Gradient ascent on ``objective(img)`` with jitter, a normalized step, clipping and an
    occasional blur (the regularizers of class visualization and DeepDream)."""
    img = img.detach().clone()
    for step in range(1, steps + 1):
        dx, dy = torch.randint(-max_jitter, max_jitter + 1, (2,), generator=generator).tolist()
        shifted = img.roll((dy, dx), dims=(2, 3)).requires_grad_(True)  # jitter
        (grad,) = torch.autograd.grad(objective(shifted), shifted)
        grad = grad.roll((-dy, -dx), dims=(2, 3))  # undo the jitter
        img = img + lr * grad / (grad.abs().mean() + 1e-12)  # a step of the same size always
        img = img.clamp(*clip)
        if blur_every and step % blur_every == 0:
            img = _blur(img, blur_sigma)
    return img


def class_visualization(
    model: nn.Module,
    target: int,
    shape: tuple[int, int, int],
    steps: int = 200,
    lr: float = 0.05,
    l2: float = 1e-3,
    max_jitter: int = 2,
    blur_every: int = 10,
    blur_sigma: float = 0.5,
    clip: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> torch.Tensor:
    """An image the model scores as ``target``: gradient ascent on ``S_target(I) - l2 ||I||²``.

    ``shape = (C, H, W)`` of the model's input. The image starts as faint noise around the
    middle of ``clip``; every step jitters it by up to ``max_jitter`` pixels, takes a step of
    size ``lr`` (gradient divided by its mean absolute value), clips it to ``clip`` and every
    ``blur_every`` steps blurs it (Gaussian, ``blur_sigma`` pixels). Randomness comes from
    ``seed`` only. Returns ``(1, C, H, W)``.
    """
    if len(shape) != 3:
        raise ValueError(f"shape must be (C, H, W); got {shape}")
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    middle = (clip[0] + clip[1]) / 2
    img = middle + 0.01 * torch.randn(1, *shape, generator=generator)

    def objective(x):
        return model(x)[0, target] - l2 * (x - middle).pow(2).sum()

    with _eval_mode(model):
        img = _ascend(objective, img.to(device), steps, lr, max_jitter, blur_every,
                      blur_sigma, clip, generator)
    return img


def deep_dream(
    model: nn.Module,
    layer: nn.Module,
    image: torch.Tensor,
    steps: int = 20,
    lr: float = 0.02,
    max_jitter: int = 4,
    clip: tuple[float, float] = (0.0, 1.0),
    seed: int = 0,
) -> torch.Tensor:
    """DeepDream (Mordvintsev et al., 2015): amplify what ``layer`` already sees in ``image``.

    Ascends ``1/2 ||a(I)||²`` with ``a`` the layer's activations, whose gradient w.r.t. the
    activations is ``a`` itself. ``image: (N, C, H, W)``; returns the dreamed images.
    """
    _check_images(image, "image")
    generator = torch.Generator().manual_seed(seed)

    def objective(x):
        return 0.5 * activations(model, layer, x).pow(2).sum()

    with _eval_mode(model):
        return _ascend(objective, image, steps, lr, max_jitter, 0, 0.0, clip, generator)


# --- neural collapse: H (N, D) last-layer features, y (N,) labels ---


def _check_features(H, y) -> tuple[torch.Tensor, torch.Tensor]:
    H, y = torch.as_tensor(H, dtype=torch.float64), torch.as_tensor(y)
    if H.dim() != 2 or y.shape != (len(H),):
        raise ValueError(f"H must be (N, D) and y (N,); got {tuple(H.shape)} and {tuple(y.shape)}")
    if len(torch.unique(y)) < 2:
        raise ValueError("neural collapse needs at least two classes in y")
    return H, y.long()


def class_means(H, y) -> tuple[torch.Tensor, torch.Tensor]:
    """Global mean ``(D,)`` and class means ``(C, D)`` (classes ``0..C-1`` in order) of
    features ``H: (N, D)`` with labels ``y: (N,)``; float64."""
    H, y = _check_features(H, y)
    classes = torch.unique(y)
    return H.mean(dim=0), torch.stack([H[y == c].mean(dim=0) for c in classes])


def nc1(H, y) -> float:
    """NC1 = tr(Σ_W Σ_B⁺) / C: within-class spread measured in between-class units; 0 when
    every feature sits on its class mean.

    Σ_W = 1/N Σ_i (h_i - μ_{y_i})(h_i - μ_{y_i})ᵀ, Σ_B = 1/C Σ_c (μ_c - μ_G)(μ_c - μ_G)ᵀ,
    ⁺ the pseudo-inverse (Σ_B has rank C - 1 at most).
    """
    H, y = _check_features(H, y)
    mu_G, M = class_means(H, y)
    within = H - M[torch.searchsorted(torch.unique(y), y)]  # (N, D): h_i - mu_{y_i}
    sigma_W = within.T @ within / len(H)
    B = M - mu_G  # (C, D) centred class means
    sigma_B = B.T @ B / len(M)
    pinv = torch.linalg.pinv(sigma_B, hermitian=True, rtol=1e-10)
    return float(torch.trace(sigma_W @ pinv) / len(M))


def simplex_etf(C: int) -> torch.Tensor:
    """The simplex equiangular tight frame M* = sqrt(C/(C-1)) (I - 11ᵀ/C): ``(C, C)``, rows
    of unit norm with cosine -1/(C-1) between any two.

    >>> M = simplex_etf(3)
    >>> [round(v, 4) for v in (M @ M.T)[0].tolist()]
    [1.0, -0.5, -0.5]
    """
    if C < 2:
        raise ValueError(f"a simplex ETF needs C >= 2; got {C}")
    eye = torch.eye(C, dtype=torch.float64)
    return (C / (C - 1)) ** 0.5 * (eye - 1.0 / C)


def nc2(M) -> float:
    """Distance of centred class means ``M: (C, D)`` from a simplex ETF, whatever their scale
    and rotation: ``|| MMᵀ/||MMᵀ||_F - M*M*ᵀ/||M*M*ᵀ||_F ||_F``; 0 for an ETF."""
    M = torch.as_tensor(M, dtype=torch.float64)
    if M.dim() != 2 or len(M) < 2:
        raise ValueError(f"M must be (C, D) with C >= 2 class means; got {tuple(M.shape)}")
    gram, etf = M @ M.T, simplex_etf(len(M))
    etf_gram = etf @ etf.T
    return float(torch.linalg.norm(gram / gram.norm() - etf_gram / etf_gram.norm()))


def nc3(W, M) -> float:
    """Self-duality: ``|| W/||W||_F - M/||M||_F ||_F`` for classifier weights ``W: (C, D)``
    and centred class means ``M: (C, D)``; 0 when the classifier is the means, rescaled."""
    W, M = (torch.as_tensor(a, dtype=torch.float64) for a in (W, M))
    if W.shape != M.shape or W.dim() != 2:
        raise ValueError(f"W and M must both be (C, D); got {tuple(W.shape)}, {tuple(M.shape)}")
    return float(torch.linalg.norm(W / W.norm() - M / M.norm()))


def nc4(H, y, predictions) -> float:
    """Agreement of the nearest-class-centre rule ``argmin_c ||h - μ_c||`` with the network's
    ``predictions: (N,)``: a share in [0, 1], 1 at collapse."""
    H, y = _check_features(H, y)
    _, M = class_means(H, y)
    nearest = torch.unique(y)[torch.cdist(H, M).argmin(dim=1)]  # (N,) class labels
    predictions = torch.as_tensor(predictions).long()
    if predictions.shape != y.shape:
        raise ValueError(f"predictions must be ({len(y)},); got {tuple(predictions.shape)}")
    return float((nearest == predictions).double().mean())


def neural_collapse(H, y, W, predictions) -> dict[str, float]:
    """All four measures for features ``H: (N, D)``, labels ``y: (N,)``, the last layer's
    weights ``W: (C, D)`` and the network's ``predictions: (N,)``."""
    mu_G, M = class_means(H, y)
    return {"NC1": nc1(H, y), "NC2": nc2(M - mu_G), "NC3": nc3(W, M - mu_G),
            "NC4": nc4(H, y, predictions)}

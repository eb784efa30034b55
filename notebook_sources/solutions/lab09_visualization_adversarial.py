# %% [markdown]
# # Lab 09 — Looking inside a CNN and attacking it
#
# A trained network is a differentiable function of its **input** as much as of its weights.
# Every tool of this lab takes the gradient of something with respect to the image instead of
# the weights: which pixels matter for a class (a saliency map), what image a class likes best
# (class visualization), what statistics describe a texture (the Gram matrix of lecture 10),
# and how to change an image imperceptibly so that the network gets it wrong (FGSM and PGD,
# lecture 11). You finish by training a network on adversarial examples and measuring how much
# more robust it is.
#
# Everything runs in PyTorch on tiny images; each test cell takes a second or two.
#
# **Rules for every function** (the hidden tests check each one):
# - images are float tensors `x: (N, C, H, W)` with values in $[0, 1]$, labels are int64
#   tensors `y: (N,)`; any $N \ge 1$, $C$, $H$, $W$ must work;
# - never modify an argument in place (not `x`, not `init`, not the model's weights);
# - functions that only *look at* a model (everything except the training step) run it in
#   **eval mode** (dropout off, batch norm on its running statistics), then put it back in the
#   mode it was in, and leave every parameter's `.grad` as they found it (`None` here):
#   take input gradients with `torch.autograd.grad(loss, x)`, not `loss.backward()`;
# - return new tensors detached from any graph.
#
# Points: `saliency_map` 14, `class_visualization` 12, `gram_matrix` 10, `style_loss` 8,
# `fgsm` 16, `pgd` 24, `adversarial_training_step` 16.

# %% setup

# %% nbgrader=locked id=imports
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course import data
from course.grading import check_close, check_shape, check_type, check_unchanged


def tiny_cnn(channels=1, size=8, classes=3, seed=0, dropout=0.3):
    """A small random CNN with batch norm and dropout, for the tests: (N, channels, size, size)
    -> (N, classes). Its batch-norm running statistics are set to non-trivial values."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(channels, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
        nn.Dropout(dropout), nn.Flatten(), nn.Linear(6 * size * size, classes),
    )
    with torch.no_grad():
        model[1].running_mean.uniform_(-0.2, 0.2)
        model[1].running_var.uniform_(0.5, 2.0)
    return model


def snapshot(model):
    """Copies of a model's parameters and buffers, to check that a function left them alone."""
    return [t.detach().clone() for t in [*model.parameters(), *model.buffers()]]


def check_model_untouched(what, model, before, mode=True):
    """Fail if the model's weights, buffers, .grad or train/eval mode changed."""
    for old, new in zip(before, [*model.parameters(), *model.buffers()], strict=True):
        check_unchanged(f"the model's weights after {what}", old.numpy(), new.detach().numpy(),
                        hint="an attack or a visualization must never change the model")
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if grads:
        raise AssertionError(
            f"{what} left .grad on the model's parameters.\n  expected: every p.grad None\n"
            "  got:      gradients accumulated in p.grad\n"
            "  hint: take the gradient w.r.t. the image only: torch.autograd.grad(loss, x)")
    if model.training != mode:
        raise AssertionError(
            f"{what} changed the model's mode.\n  expected: model.training == {mode}\n"
            f"  got:      {model.training}\n  hint: remember model.training, call model.eval()"
            " for the computation and model.train(was_training) at the end")

# %% [markdown]
# ## 1. Saliency map
#
# Which pixels does the score of class $c$ depend on most? The **saliency map** (Simonyan et
# al., 2014) is the size of the gradient of the class score $S_c$ (the **logit**, before the
# softmax) with respect to each pixel, maximized over the colour channels:
#
# $$M_{ij} = \max_{k} \left| \frac{\partial S_c(x)}{\partial x_{kij}} \right|.$$
#
# `saliency_map(model, x, target)` gets `x: (N, C, H, W)` and `target: (N,)` (one class per
# image) and returns `M: (N, H, W)`. Tip: the gradient of $\sum_n S_{c_n}(x_n)$ w.r.t. `x`
# holds every image's own gradient (the images do not interact in eval mode). The absolute
# value comes **before** the max over channels, and it is a max, not a sum.

# %% nbgrader=solution id=saliency_map
def saliency_map(model, x, target):
    """|d S_target / d x| maximized over channels. x: (N, C, H, W), target: (N,) -> (N, H, W)."""
    ### BEGIN SOLUTION
    was_training = model.training
    model.eval()
    x = x.detach().clone().requires_grad_(True)
    scores = model(x)  # (N, K) logits
    picked = scores.gather(1, target.view(-1, 1)).sum()
    (grad,) = torch.autograd.grad(picked, x)
    model.train(was_training)
    return grad.abs().amax(dim=1)
    ### END SOLUTION


# %% nbgrader=tests id=test_saliency_map points=14
# A linear "network" on 2 channels of 2x2 pixels: the gradient of S_c is the weight row w_c.
lin = nn.Sequential(nn.Flatten(), nn.Linear(8, 2, bias=False))
with torch.no_grad():
    lin[1].weight.copy_(torch.tensor([[1.0, -3.0, 0.5, 0.0, -2.0, 1.0, -0.5, 4.0],
                                      [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0]]))
x_lin = torch.rand(1, 2, 2, 2)
got = saliency_map(lin, x_lin, torch.tensor([0]))
check_shape("saliency_map(lin, x, [0])", got, (1, 2, 2), hint="one value per pixel: (N, H, W)")
check_close("saliency_map(lin, x, [0])", got, [[[2.0, 3.0], [0.5, 4.0]]],
            hint="take the absolute value of the gradient, then the max over the channel axis")
if not np.allclose(np.asarray(got, dtype=float), [[[2.0, 3.0], [0.5, 4.0]]]):
    raise AssertionError("saliency_map(lin, x, [0]) is wrong: see the expected values above")
model_s = tiny_cnn(seed=1)
model_s.train()
before_s = snapshot(model_s)
x_s = torch.rand(2, 1, 8, 8)
x_s_copy = x_s.clone()
check_shape("saliency_map(model, x, y)", saliency_map(model_s, x_s, torch.tensor([0, 2])),
            (2, 8, 8))
check_unchanged("x", x_s_copy.numpy(), x_s.numpy())
check_model_untouched("saliency_map", model_s, before_s, mode=True)
print("saliency_map: visible tests passed")
### BEGIN HIDDEN TESTS
def _ref_saliency(model, x, target):
    model.eval()
    xr = x.clone().requires_grad_(True)
    model(xr).gather(1, target[:, None]).sum().backward()
    model.zero_grad(set_to_none=True)
    return xr.grad.abs().amax(1)


for seed, (N, C, S, K) in enumerate([(1, 1, 8, 3), (4, 3, 6, 5), (3, 2, 5, 2)]):
    model_h = tiny_cnn(C, S, K, seed=10 + seed)
    model_h.train()
    before_h = snapshot(model_h)
    g = torch.Generator().manual_seed(seed)
    x_h = torch.rand(N, C, S, S, generator=g)
    t_h = torch.randint(0, K, (N,), generator=g)
    keep = x_h.clone()
    got = saliency_map(model_h, x_h, t_h)
    check_model_untouched("saliency_map", model_h, before_h, mode=True)
    check_unchanged("x", keep.numpy(), x_h.numpy())
    check_close(f"saliency_map on x {tuple(x_h.shape)}", got, _ref_saliency(model_h, x_h, t_h),
                rtol=1e-4, atol=1e-6)
    model_h.eval()  # an eval-mode model stays in eval mode
    saliency_map(model_h, x_h, t_h)
    if model_h.training:
        raise AssertionError("saliency_map put an eval-mode model into train mode")
### END HIDDEN TESTS

# %% [markdown]
# ## 2. Class visualization by gradient ascent
#
# What input makes the network most confident about class $c$? Start from an image `init`
# and climb the regularized score (Simonyan et al., 2014)
#
# $$J(I) = S_c(I) - \lambda \lVert I \rVert_2^2$$
#
# with plain gradient **ascent** (not the sign of the gradient), clipping to the valid range
# after every step:
#
# $$I \leftarrow \operatorname{clip}_{[0, 1]}\big(I + \text{lr}\cdot \nabla_I J(I)\big),
# \qquad \text{repeated `steps` times}.$$
#
# `init: (1, C, H, W)` must not be modified; return the final image `(1, C, H, W)`, detached.
# The image is what is optimized, so it must require gradients (the model's weights are not
# updated). `steps = 0` returns a copy of `init`.

# %% nbgrader=solution id=class_visualization
def class_visualization(model, target, init, steps, lr, l2):
    """Gradient ascent on S_target(I) - l2 * ||I||^2 from init: (1, C, H, W), clipped to [0, 1]
    after each of `steps` steps. Returns the image (1, C, H, W)."""
    ### BEGIN SOLUTION
    was_training = model.training
    model.eval()
    image = init.detach().clone()
    for _ in range(steps):
        image.requires_grad_(True)
        objective = model(image)[0, target] - l2 * (image**2).sum()
        (grad,) = torch.autograd.grad(objective, image)
        image = (image.detach() + lr * grad).clamp(0, 1)
    model.train(was_training)
    return image.detach()
    ### END SOLUTION


# %% nbgrader=tests id=test_class_visualization points=12
# S_0(I) = sum(w * I) with w = (1, -1, 0.5, 2): dJ/dI = w - 2 l2 I.
lin_v = nn.Sequential(nn.Flatten(), nn.Linear(4, 2, bias=False))
with torch.no_grad():
    lin_v[1].weight.copy_(torch.tensor([[1.0, -1.0, 0.5, 2.0], [0.0, 0.0, 0.0, 0.0]]))
init_v = torch.full((1, 1, 2, 2), 0.5)
got = class_visualization(lin_v, 0, init_v, steps=1, lr=0.1, l2=0.5)
w_v = torch.tensor([1.0, -1.0, 0.5, 2.0]).view(1, 1, 2, 2)
check_close("one step of class_visualization", got, (init_v + 0.1 * (w_v - init_v)).clamp(0, 1),
            rtol=1e-5, hint="I + lr * (w - 2 * l2 * I): the gradient of S minus l2 ||I||^2")
got = class_visualization(lin_v, 0, init_v, steps=20, lr=0.5, l2=0.0)
check_close("20 steps without regularization", got, [[[[1.0, 0.0], [1.0, 1.0]]]],
            hint="clip the image to [0, 1] after every step")
check_unchanged("init", torch.full((1, 1, 2, 2), 0.5).numpy(), init_v.numpy())
print("class_visualization: visible tests passed")
### BEGIN HIDDEN TESTS
def _ref_visualize(model, target, init, steps, lr, l2):
    model.eval()
    image = init.clone()
    for _step in range(steps):
        image = image.requires_grad_()
        (model(image)[0, target] - l2 * (image**2).sum()).backward()
        image = (image + lr * image.grad).detach().clamp(0, 1)
    model.zero_grad(set_to_none=True)
    return image


for seed, (C, S, K, steps, lr, l2) in enumerate([(1, 8, 3, 5, 0.3, 0.1), (3, 5, 4, 7, 0.05, 1.0),
                                                 (2, 6, 2, 0, 0.1, 0.1)]):
    model_h = tiny_cnn(C, S, K, seed=20 + seed)
    model_h.train()
    before_h = snapshot(model_h)
    init_h = torch.rand(1, C, S, S, generator=torch.Generator().manual_seed(seed))
    keep = init_h.clone()
    got = class_visualization(model_h, K - 1, init_h, steps, lr, l2)
    check_model_untouched("class_visualization", model_h, before_h, mode=True)
    check_unchanged("init", keep.numpy(), init_h.numpy())
    check_type("class_visualization(...)", got, torch.Tensor)
    if got.requires_grad:
        raise AssertionError("class_visualization must return a detached tensor")
    check_close(f"class_visualization with C={C}, {steps} steps, lr={lr}, l2={l2}", got,
                _ref_visualize(model_h, K - 1, init_h, steps, lr, l2), rtol=1e-4, atol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Gram matrix and style loss
#
# Lecture 10 describes a texture by the correlations between feature channels. For a feature
# map $F$ of one image with $C$ channels and $M = H W$ positions, reshaped to a $C \times M$
# matrix, the Gram matrix used here is averaged over positions:
#
# $$G = \frac{1}{M} F F^\top \in \mathbb{R}^{C \times C}, \qquad
#   G_{kl} = \frac{1}{HW} \sum_{i, j} F_{k i j} F_{l i j}.$$
#
# `gram_matrix(features)` takes `features: (N, C, H, W)` and returns `(N, C, C)` — one Gram
# matrix per image, channels by channels (not positions by positions).
#
# The **style loss** of one layer compares the Gram matrix of the generated image's features
# with a target Gram matrix $\hat G$: with $G$ normalized as above,
#
# $$E = \frac{1}{4 C^2} \sum_{k, l} \big(G_{kl} - \hat G_{kl}\big)^2,$$
#
# which is exactly Gatys et al.'s $E_l = \frac{1}{4 N_l^2 M_l^2} \sum (F F^\top - \hat F
# \hat F^\top)^2$ with $N_l = C$. `style_loss(features, target_gram)` takes
# `features: (N, C, H, W)` and `target_gram: (N, C, C)`, and returns the **mean over the
# batch** of $E$ as a 0-dim tensor that stays differentiable (style transfer descends it).

# %% nbgrader=solution id=gram_matrix
def gram_matrix(features):
    """features: (N, C, H, W) -> (N, C, C), G = F F^T / (H W) per image."""
    ### BEGIN SOLUTION
    N, C, H, W = features.shape
    flat = features.reshape(N, C, H * W)  # (N, C, M)
    return flat @ flat.transpose(1, 2) / (H * W)
    ### END SOLUTION


# %% nbgrader=tests id=test_gram_matrix points=10
f_g = torch.tensor([[[[1.0, 2.0]], [[0.0, 3.0]]]])  # (1, 2, 1, 2): C = 2, M = 2
got = gram_matrix(f_g)
check_shape("gram_matrix(f)", got, (1, 2, 2), hint="one C x C matrix per image")
check_close("gram_matrix(f)", got, [[[2.5, 3.0], [3.0, 4.5]]],
            hint="G = F F^T / (H W) with F reshaped to (C, H*W)")
print("gram_matrix: visible tests passed")
### BEGIN HIDDEN TESTS
for seed, shape in enumerate([(1, 1, 1, 1), (2, 3, 4, 5), (3, 5, 2, 7), (1, 8, 3, 3)]):
    f_h = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    keep = f_h.clone()
    N, C, H, W = shape
    ref = torch.einsum("nchw,ndhw->ncd", f_h, f_h) / (H * W)
    got = gram_matrix(f_h)
    check_close(f"gram_matrix on features {shape}", got, ref, rtol=1e-5, atol=1e-8)
    check_unchanged("features", keep.numpy(), f_h.numpy())
f_h = torch.rand(2, 3, 4, 4, requires_grad=True)
gram_matrix(f_h).sum().backward()  # must stay differentiable
check_close("d sum(G) / dF", f_h.grad,
            2 * f_h.detach().sum(1, keepdim=True).expand(-1, 3, -1, -1) / 16, rtol=1e-4)
### END HIDDEN TESTS

# %% nbgrader=solution id=style_loss
def style_loss(features, target_gram):
    """Mean over the batch of sum((G - G_hat)^2) / (4 C^2). features: (N, C, H, W),
    target_gram: (N, C, C). Returns a differentiable 0-dim tensor."""
    ### BEGIN SOLUTION
    C = features.shape[1]
    G = gram_matrix(features)
    return ((G - target_gram) ** 2).sum(dim=(1, 2)).mean() / (4 * C**2)
    ### END SOLUTION


# %% nbgrader=tests id=test_style_loss points=8
got = style_loss(f_g, torch.zeros(1, 2, 2))
check_close("style_loss(f, zeros)", got, (2.5**2 + 2 * 3.0**2 + 4.5**2) / 16,
            hint="sum of squared differences of the Gram matrices, divided by 4 C^2")
print("style_loss: visible tests passed")
### BEGIN HIDDEN TESTS
for seed, (N, C, H, W) in enumerate([(1, 2, 3, 3), (3, 4, 2, 5)]):
    g = torch.Generator().manual_seed(40 + seed)
    f_h = torch.randn(N, C, H, W, generator=g, dtype=torch.float64, requires_grad=True)
    other = torch.randn(N, C, H, W, generator=g, dtype=torch.float64)
    target = torch.einsum("nchw,ndhw->ncd", other, other) / (H * W)
    G = torch.einsum("nchw,ndhw->ncd", f_h, f_h) / (H * W)
    ref = ((G - target) ** 2).sum((1, 2)).mean() / (4 * C**2)
    got = style_loss(f_h, target)
    check_close(f"style_loss on features {(N, C, H, W)}", got.detach(), ref.detach(),
                rtol=1e-6)
    (ref_grad,) = torch.autograd.grad(ref, f_h)
    got.backward()  # the gradient reaches the features through the student's graph
    if f_h.grad is None:
        raise AssertionError("style_loss gave the features no gradient.\n  hint: compute the "
                             "loss from the features with torch operations (no .detach())")
    check_close("the gradient of style_loss", f_h.grad, ref_grad, rtol=1e-5)
### END HIDDEN TESTS

# %% [markdown]
# ## 4. FGSM
#
# The fast gradient sign method (Goodfellow et al., 2015) moves every pixel by $\varepsilon$
# in the direction that increases the loss $J$ (the mean cross-entropy, `F.cross_entropy`)
# fastest under an $L_\infty$ budget, and clips to the valid range:
#
# $$x_{\text{adv}} = \operatorname{clip}_{[0,1]}\big(x + \varepsilon\,
#   \operatorname{sign}(\nabla_x J(x, y))\big).$$
#
# With `targeted=True`, `y` holds the classes we **want** the network to predict, and the
# step goes **down** the loss of those classes: $x - \varepsilon\,\operatorname{sign}(\nabla_x
# J(x, y_{\text{target}}))$. Eval mode, no `.grad` left on the weights, `x` unchanged; `x` must
# be a floating-point tensor — raise `ValueError` for an integer one (a `uint8` image must be
# converted to $[0, 1]$ floats first). `eps = 0` returns (a copy of) `x`.

# %% nbgrader=solution id=fgsm
def fgsm(model, x, y, eps, targeted=False):
    """One signed-gradient step of size eps, clipped to [0, 1]. x: (N, C, H, W) float,
    y: (N,) int64 (true labels, or the targets when targeted). Returns x_adv like x."""
    ### BEGIN SOLUTION
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor in [0, 1]; got {x.dtype}")
    was_training = model.training
    model.eval()
    x_var = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x_var), y)
    (grad,) = torch.autograd.grad(loss, x_var)
    model.train(was_training)
    step = -eps if targeted else eps
    return (x.detach() + step * grad.sign()).clamp(0, 1)
    ### END SOLUTION


# %% nbgrader=tests id=test_fgsm points=16
# Two classes, linear scores: the loss of class 0 grows fastest along sign(w_1 - w_0).
lin_f = nn.Linear(3, 2)
with torch.no_grad():
    lin_f.weight.copy_(torch.tensor([[2.0, -1.0, 0.1], [-1.0, 1.0, 0.3]]))
    lin_f.bias.zero_()
x_f = torch.tensor([[0.5, 0.5, 0.5], [0.02, 0.98, 0.5]])
y_f = torch.tensor([0, 0])
x_f_copy = x_f.clone()
got = fgsm(lin_f, x_f, y_f, 0.1)
check_close("fgsm(lin, x, y, 0.1)", got, [[0.4, 0.6, 0.6], [0.0, 1.0, 0.6]], rtol=1e-5,
            hint="x + eps * sign(gradient), then clip to [0, 1] (the second image hits both ends)")
got = fgsm(lin_f, x_f, torch.tensor([1, 1]), 0.1, targeted=True)
check_close("fgsm(lin, x, target=1, 0.1, targeted=True)", got,
            [[0.4, 0.6, 0.6], [0.0, 1.0, 0.6]], rtol=1e-5,
            hint="targeted: step DOWN the loss of the target class (x - eps * sign(grad))")
check_unchanged("x", x_f_copy.numpy(), x_f.numpy())
model_f = tiny_cnn(seed=2)
model_f.train()
before_f = snapshot(model_f)
fgsm(model_f, torch.rand(2, 1, 8, 8), torch.tensor([0, 1]), 0.05)
check_model_untouched("fgsm", model_f, before_f, mode=True)
print("fgsm: visible tests passed")
### BEGIN HIDDEN TESTS
def _ref_fgsm(model, x, y, eps, targeted=False):
    model.eval()
    xr = x.clone().requires_grad_(True)
    F.cross_entropy(model(xr), y).backward()
    model.zero_grad(set_to_none=True)
    return (x + (-eps if targeted else eps) * xr.grad.sign()).clamp(0, 1)


for seed, (N, C, S, K, eps) in enumerate([(1, 1, 8, 3, 0.1), (5, 3, 5, 4, 0.03),
                                          (3, 2, 6, 2, 0.0), (2, 1, 4, 3, 1.0)]):
    g = torch.Generator().manual_seed(50 + seed)
    model_h = tiny_cnn(C, S, K, seed=50 + seed)
    model_h.train()
    before_h = snapshot(model_h)
    x_h = torch.rand(N, C, S, S, generator=g)
    x_h[0, 0, 0] = 0.0  # extreme but valid pixels
    x_h[-1, -1, -1] = 1.0
    y_h = torch.randint(0, K, (N,), generator=g)
    keep = x_h.clone()
    for targeted in (False, True):
        got = fgsm(model_h, x_h, y_h, eps, targeted=targeted)
        check_model_untouched("fgsm", model_h, before_h, mode=True)
        check_unchanged("x", keep.numpy(), x_h.numpy())
        model_h.train()
        check_close(f"fgsm on x {tuple(x_h.shape)}, eps={eps}, targeted={targeted}", got,
                    _ref_fgsm(model_h, x_h, y_h, eps, targeted), rtol=1e-5, atol=1e-6)
        model_h.train()
        if got.requires_grad:
            raise AssertionError("fgsm must return a tensor detached from the graph")
try:
    fgsm(tiny_cnn(), (torch.rand(1, 1, 8, 8) * 255).to(torch.uint8), torch.tensor([0]), 2)
except ValueError:
    pass
except Exception as error:  # noqa: BLE001
    raise AssertionError(f"an integer image must raise ValueError; got {error!r}") from None
else:
    raise AssertionError("fgsm accepted an integer (uint8) image; it must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 5. PGD
#
# Projected gradient descent (Madry et al., 2018) repeats small FGSM steps of size $\alpha$
# and, after each, projects back onto the allowed set: the $L_\infty$ ball of radius
# $\varepsilon$ around the **original** image $x$ (not around the current iterate), intersected
# with $[0, 1]$:
#
# $$x^{(0)} = \operatorname{clip}_{[0,1]}(x + \delta_0), \qquad
#   x^{(t+1)} = \operatorname{clip}_{[0,1]}\Big(\operatorname{clip}_{[x - \varepsilon,\,
#   x + \varepsilon]}\big(x^{(t)} \pm \alpha\, \operatorname{sign}(\nabla_x J(x^{(t)}, y))\big)
#   \Big)$$
#
# (`+` untargeted, `-` targeted, as in FGSM; the gradient is the fresh gradient at $x^{(t)}$,
# never accumulated over steps). **Randomness contract:** the random start is drawn once,
# from the given generator only, as
# `delta0 = (2 * torch.rand(x.shape, generator=generator) - 1) * eps` (uniform in
# $[-\varepsilon, \varepsilon]$); with `random_start=False`, $\delta_0 = 0$. Do exactly
# `steps` steps. Same rules as FGSM for the model, `x`, integer images and the result.

# %% nbgrader=solution id=pgd
def pgd(model, x, y, eps, alpha, steps, generator=None, random_start=True, targeted=False):
    """L-inf PGD around x: (N, C, H, W) with y: (N,). Returns x_adv like x, with
    |x_adv - x| <= eps and values in [0, 1]."""
    ### BEGIN SOLUTION
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor in [0, 1]; got {x.dtype}")
    x0 = x.detach()
    x_adv = x0.clone()
    if random_start:
        delta0 = (2 * torch.rand(x.shape, generator=generator) - 1) * eps
        x_adv = (x0 + delta0).clamp(0, 1)
    was_training = model.training
    model.eval()
    for _ in range(steps):
        x_var = x_adv.clone().requires_grad_(True)
        loss = F.cross_entropy(model(x_var), y)
        (grad,) = torch.autograd.grad(loss, x_var)
        step = -alpha if targeted else alpha
        x_adv = x_adv + step * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x0 - eps), x0 + eps).clamp(0, 1)
    model.train(was_training)
    return x_adv.detach()
    ### END SOLUTION


# %% nbgrader=tests id=test_pgd points=24
# On the linear model of the FGSM test the gradient sign never changes: each step moves by
# alpha in the same direction until the eps-ball around x stops it.
got = pgd(lin_f, x_f, y_f, eps=0.1, alpha=0.04, steps=5, random_start=False)
check_close("pgd(lin, x, y, eps=0.1, alpha=0.04, steps=5, random_start=False)", got,
            [[0.4, 0.6, 0.6], [0.0, 1.0, 0.6]], rtol=1e-5,
            hint="after each step, clip to [x - eps, x + eps] of the ORIGINAL x, then to [0, 1]")
got1 = pgd(lin_f, x_f, y_f, eps=0.1, alpha=0.04, steps=1, random_start=False)
check_close("one PGD step without random start", got1, [[0.46, 0.54, 0.54], [0.0, 1.0, 0.54]],
            rtol=1e-5, hint="do exactly `steps` steps of size alpha")
start = pgd(lin_f, x_f, y_f, eps=0.1, alpha=0.04, steps=0,
            generator=torch.Generator().manual_seed(0))
check_close("the random start (steps=0)", start,
            (x_f + (2 * torch.rand(2, 3, generator=torch.Generator().manual_seed(0)) - 1)
             * 0.1).clamp(0, 1), rtol=1e-5,
            hint="delta0 = (2 * torch.rand(x.shape, generator=generator) - 1) * eps")
model_p = tiny_cnn(seed=3)
model_p.train()
before_p = snapshot(model_p)
x_p = torch.rand(3, 1, 8, 8)
adv_p = pgd(model_p, x_p, torch.tensor([0, 1, 2]), 0.05, 0.02, 4,
            generator=torch.Generator().manual_seed(1))
check_close("max |x_adv - x| <= eps", float((adv_p - x_p).abs().max() <= 0.05 + 1e-6), 1.0,
            hint="project onto the eps-ball around the original x after every step")
check_model_untouched("pgd", model_p, before_p, mode=True)
print("pgd: visible tests passed")
### BEGIN HIDDEN TESTS
def _ref_pgd(model, x, y, eps, alpha, steps, generator, random_start=True, targeted=False):
    model.eval()
    x_adv = x.clone()
    if random_start:  # uniform start from the generator
        x_adv = (x + (2 * torch.rand(x.shape, generator=generator) - 1) * eps).clamp(0, 1)
    for _step in range(steps):
        xr = x_adv.clone().requires_grad_(True)
        F.cross_entropy(model(xr), y).backward()
        x_adv = x_adv + (-alpha if targeted else alpha) * xr.grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    model.zero_grad(set_to_none=True)
    return x_adv


cases = [(1, 1, 8, 3, 0.1, 0.07, 4), (4, 3, 5, 4, 0.05, 0.02, 6), (3, 2, 6, 2, 0.2, 0.15, 3),
         (2, 1, 4, 5, 0.0, 0.01, 2)]
for seed, (N, C, S, K, eps, alpha, steps) in enumerate(cases):
    g = torch.Generator().manual_seed(60 + seed)
    model_h = tiny_cnn(C, S, K, seed=60 + seed)
    model_h.train()
    before_h = snapshot(model_h)
    x_h = torch.rand(N, C, S, S, generator=g)
    x_h[0, 0, :2] = 0.0
    x_h[-1, -1, -2:] = 1.0
    y_h = torch.randint(0, K, (N,), generator=g)
    keep = x_h.clone()
    for targeted, random_start in [(False, True), (True, True), (False, False)]:
        torch.manual_seed(seed)  # the global RNG must play no part
        got = pgd(model_h, x_h, y_h, eps, alpha, steps, generator=torch.Generator().manual_seed(7),
                  random_start=random_start, targeted=targeted)
        check_model_untouched("pgd", model_h, before_h, mode=True)
        check_unchanged("x", keep.numpy(), x_h.numpy())
        torch.manual_seed(seed + 1000)
        ref = _ref_pgd(model_h, x_h, y_h, eps, alpha, steps, torch.Generator().manual_seed(7),
                       random_start=random_start, targeted=targeted)
        model_h.train()
        what = (f"pgd on x {tuple(x_h.shape)}, eps={eps}, alpha={alpha}, steps={steps}, "
                f"targeted={targeted}, random_start={random_start}")
        check_close(what, got, ref, rtol=1e-5, atol=1e-5)
        if got.requires_grad:
            raise AssertionError("pgd must return a tensor detached from the graph")
# another generator seed gives another random start
a = pgd(model_h, x_h, y_h, 0.1, 0.01, 0, generator=torch.Generator().manual_seed(1))
b = pgd(model_h, x_h, y_h, 0.1, 0.01, 0, generator=torch.Generator().manual_seed(2))
if torch.equal(a, b):
    raise AssertionError("pgd gave the same random start for two different generators")
try:
    pgd(tiny_cnn(), torch.zeros(1, 1, 8, 8, dtype=torch.uint8), torch.tensor([0]), 2, 1, 1)
except ValueError:
    pass
except Exception as error:  # noqa: BLE001
    raise AssertionError(f"an integer image must raise ValueError; got {error!r}") from None
else:
    raise AssertionError("pgd accepted an integer (uint8) image; it must raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 6. One step of adversarial training
#
# Adversarial training (Madry et al., 2018) solves the robust problem
# $\min_\theta \mathbb{E}\,\max_{\lVert\delta\rVert_\infty \le \varepsilon} J(\theta, x + \delta,
# y)$: the inner maximum is approximated by your PGD, the outer minimum by an ordinary
# optimizer step on the adversarial batch. `adversarial_training_step(model, optimizer, x, y,
# eps, alpha, steps, generator)`:
# 1. `x_adv = pgd(model, x, y, eps, alpha, steps, generator=generator)` (random start,
#    untargeted; PGD runs the model in eval mode);
# 2. put the model in **train mode**, zero the optimizer's gradients, compute the mean
#    cross-entropy `F.cross_entropy(model(x_adv), y)`, back-propagate, `optimizer.step()`;
# 3. return the loss as a Python `float`. The model stays in train mode; `x` is unchanged.

# %% nbgrader=solution id=adversarial_training_step
def adversarial_training_step(model, optimizer, x, y, eps, alpha, steps, generator=None):
    """PGD on the batch, then one optimizer step on the adversarial batch. Returns the loss."""
    ### BEGIN SOLUTION
    x_adv = pgd(model, x, y, eps, alpha, steps, generator=generator)
    model.train()
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x_adv), y)
    loss.backward()
    optimizer.step()
    return loss.item()
    ### END SOLUTION


# %% nbgrader=tests id=test_adversarial_training_step points=16
def _bn_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 3))


x_t = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(0))
y_t = torch.tensor([0, 1, 2, 0, 1, 2])
# eps = 0: PGD returns x, so this is one ordinary training step
model_t, twin = _bn_model(0), _bn_model(0)
model_t.eval()
opt_t = torch.optim.SGD(model_t.parameters(), lr=0.5)
opt_twin = torch.optim.SGD(twin.parameters(), lr=0.5)
twin.train()
opt_twin.zero_grad()
loss_twin = F.cross_entropy(twin(x_t), y_t)
loss_twin.backward()
opt_twin.step()
x_t_copy = x_t.clone()
got = adversarial_training_step(model_t, opt_t, x_t, y_t, 0.0, 0.01, 2,
                                generator=torch.Generator().manual_seed(0))
check_type("adversarial_training_step(...)", got, float, hint="return loss.item()")
check_close("the loss returned (eps = 0)", got, loss_twin.item(), rtol=1e-5,
            hint="mean cross-entropy of the (adversarial) batch with the model in train mode")
check_close("the weights after one step (eps = 0)", model_t[4].weight.detach(),
            twin[4].weight.detach(), rtol=1e-4, atol=1e-6,
            hint="zero_grad, loss.backward(), optimizer.step(), in train mode")
check_unchanged("x", x_t_copy.numpy(), x_t.numpy())
print("adversarial_training_step: visible tests passed")
### BEGIN HIDDEN TESTS
def _ref_pgd_step(model, x, y, eps, alpha, steps, generator):
    model.eval()
    x_adv = (x + (2 * torch.rand(x.shape, generator=generator) - 1) * eps).clamp(0, 1)
    for _step in range(steps):
        xr = x_adv.clone().requires_grad_(True)
        F.cross_entropy(model(xr), y).backward()
        x_adv = x_adv + alpha * xr.grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    model.zero_grad(set_to_none=True)
    return x_adv


for seed, (N, eps, alpha, steps) in enumerate([(6, 0.1, 0.04, 3), (1, 0.05, 0.02, 2),
                                               (5, 0.2, 0.1, 1)]):
    model_h, twin_h = _bn_model(70 + seed), _bn_model(70 + seed)
    g = torch.Generator().manual_seed(seed)
    x_h = torch.rand(N, 1, 8, 8, generator=g)
    y_h = torch.randint(0, 3, (N,), generator=g)
    keep = x_h.clone()
    for p in model_h.parameters():  # stale gradients must not leak into the step
        p.grad = torch.ones_like(p)
    opt_h = torch.optim.SGD(model_h.parameters(), lr=0.3, momentum=0.0)
    model_h.eval()
    got = adversarial_training_step(model_h, opt_h, x_h, y_h, eps, alpha, steps,
                                    generator=torch.Generator().manual_seed(5))
    x_adv_ref = _ref_pgd_step(twin_h, x_h, y_h, eps, alpha, steps,
                              torch.Generator().manual_seed(5))
    twin_h.train()
    opt_ref = torch.optim.SGD(twin_h.parameters(), lr=0.3)
    opt_ref.zero_grad()
    loss_ref = F.cross_entropy(twin_h(x_adv_ref), y_h)
    loss_ref.backward()
    opt_ref.step()
    check_close(f"the loss of adversarial_training_step (N={N}, eps={eps}, steps={steps})",
                got, loss_ref.item(), rtol=1e-4)
    for name, (p, q) in zip(["conv weight", "conv bias", "bn weight", "bn bias", "fc weight",
                             "fc bias"], zip(model_h.parameters(), twin_h.parameters(),
                                             strict=True), strict=True):
        check_close(f"{name} after adversarial_training_step", p.detach(), q.detach(),
                    rtol=1e-4, atol=1e-6)
    check_close("batch-norm running mean (the update runs in train mode)",
                model_h[1].running_mean, twin_h[1].running_mean, rtol=1e-4, atol=1e-6)
    if not model_h.training:
        raise AssertionError("the model must be left in train mode after the training step")
    check_unchanged("x", keep.numpy(), x_h.numpy())
### END HIDDEN TESTS

# %% [markdown]
# ## 7. Experiment: a standard and a robust network under attack
#
# The cell below trains two small CNNs on the digits (8x8 pixels), one normally and one with
# your `adversarial_training_step`, and measures their accuracy under your PGD for growing
# $\varepsilon$. It is not graded; it takes a few seconds (fewer epochs while grading).

# %% nbgrader=locked id=experiment
import time

import matplotlib.pyplot as plt

grading = bool(os.environ.get("NBGRADER_EXECUTION"))
num_epochs = 3 if grading else 8
digits = data.load_digits(image_size=8)
X_tr, y_tr = torch.from_numpy(digits.X_train), torch.from_numpy(digits.y_train)
X_te, y_te = torch.from_numpy(digits.X_test), torch.from_numpy(digits.y_test)


def make_net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 4 * 4, 10))


def train_net(robust, eps_train=0.1):
    net = make_net(0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(num_epochs):
        order = torch.randperm(len(X_tr), generator=gen)
        for i in range(0, len(X_tr), 64):
            xb, yb = X_tr[order[i:i + 64]], y_tr[order[i:i + 64]]
            if robust:
                adversarial_training_step(net, opt, xb, yb, eps_train, eps_train / 2, 3, gen)
            else:
                net.train()
                opt.zero_grad()
                F.cross_entropy(net(xb), yb).backward()
                opt.step()
    return net, time.perf_counter() - start


def robust_accuracy(net, eps):
    x_adv = pgd(net, X_te, y_te, eps, max(eps, 1e-3) / 4, 10,
                generator=torch.Generator().manual_seed(1)) if eps > 0 else X_te
    net.eval()
    with torch.no_grad():
        return (net(x_adv).argmax(1) == y_te).float().mean().item()


eps_values = [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
fig, ax = plt.subplots(figsize=(6, 3.5))
for robust, name in [(False, "standard training"), (True, "adversarial training (eps 0.1)")]:
    net, seconds = train_net(robust)
    accs = [robust_accuracy(net, e) for e in eps_values]
    print(f"{name}: {seconds:.1f} s, accuracy under PGD-10:",
          ", ".join(f"eps {e}: {a:.2f}" for e, a in zip(eps_values, accs, strict=True)))
    ax.plot(eps_values, accs, "o-", label=name)
ax.set_xlabel("eps (L-inf, pixels in [0, 1])")
ax.set_ylabel("test accuracy under PGD")
ax.set_ylim(0, 1)
ax.legend()
plt.show()

# %% [markdown]
# Both networks are right on most clean digits (eps = 0); the standard one collapses under
# small perturbations, the robust one keeps much of its accuracy up to about the eps it was
# trained with, at the price of a few points of clean accuracy and several times the training
# time. Lecture 11 discusses why.
#
# ### Going further (not graded)
# - Apply `saliency_map` to both networks: whose saliency looks more like the digit?
# - Run `class_visualization` from a grey image on both: robust networks are known to give
#   more recognizable class images (Tsipras et al., 2019).
# - Increase the number of PGD steps in the evaluation: does the robust accuracy change?

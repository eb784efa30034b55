"""Variants of lab 09 (visualization and adversarial examples): typical mistakes and correct
alternatives.

The lab fixes: saliency = max over channels of |d logit / d x|; class visualization by plain
gradient ascent on S_c - l2 ||I||^2 with clipping to [0, 1] after every step; G = F F^T / (HW)
per image (C x C) and a style loss sum((G - G_hat)^2) / (4 C^2) averaged over the batch; FGSM
and PGD on the mean cross-entropy with the model in eval mode (mode restored, no .grad left on
the weights, x unchanged, integer images rejected); PGD's random start
``(2 * torch.rand(x.shape, generator=generator) - 1) * eps`` and projection onto the eps-ball
around the original x; the training step in train mode returning a float.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = "pgd: projects around the current iterate"

SAL, VIS, GRAM, STYLE = "test_saliency_map", "test_class_visualization", "test_gram_matrix", \
    "test_style_loss"
FG, PG, STEP = "test_fgsm", "test_pgd", "test_adversarial_training_step"

VARIANTS = [
    # -- saliency ------------------------------------------------------------------------------
    wrong("saliency: no absolute value", {"saliency_map": edit(
        ("grad.abs().amax(dim=1)", "grad.amax(dim=1)"))}, SAL),
    wrong("saliency: summed over channels instead of max", {"saliency_map": edit(
        ("grad.abs().amax(dim=1)", "grad.abs().sum(dim=1)"))}, SAL),
    wrong("saliency: model left in train mode", {"saliency_map": edit(
        ("    model.eval()\n", ""))}, SAL),
    wrong("saliency: image detached, not requiring grad", {"saliency_map": edit(
        ("x = x.detach().clone().requires_grad_(True)", "x = x.detach().clone()"))}, SAL),
    wrong("saliency: loss.backward() leaves .grad on the weights", {"saliency_map": """
def saliency_map(model, x, target):
    was_training = model.training
    model.eval()
    x = x.clone().requires_grad_(True)
    model(x).gather(1, target.view(-1, 1)).sum().backward()
    model.train(was_training)
    return x.grad.abs().amax(dim=1)
"""}, SAL),
    correct("saliency: backward on a copy, weights' grads cleared, loop over channels", {
        "saliency_map": """
def saliency_map(model, x, target):
    mode = model.training
    model.train(False)
    image = x.clone().requires_grad_()
    scores = model(image)
    scores[torch.arange(len(x)), target].sum().backward()
    model.zero_grad(set_to_none=True)
    model.train(mode)
    grad = image.grad.abs()
    out = grad[:, 0]
    for k in range(1, grad.shape[1]):
        out = torch.maximum(out, grad[:, k])
    return out
"""}),
    # -- class visualization -------------------------------------------------------------------
    wrong("class visualization: no clipping to [0, 1]", {"class_visualization": edit(
        ("image = (image.detach() + lr * grad).clamp(0, 1)",
         "image = image.detach() + lr * grad"))}, VIS),
    wrong("class visualization: regularizer added instead of subtracted", {
        "class_visualization": edit(("- l2 * (image**2).sum()", "+ l2 * (image**2).sum()"))},
        VIS),
    wrong("class visualization: sign of the gradient (FGSM-style ascent)", {
        "class_visualization": edit(("lr * grad)", "lr * grad.sign())"))}, VIS),
    wrong("class visualization: modifies init in place", {"class_visualization": edit(
        ("image = init.detach().clone()", "image = init"),
        ("image = (image.detach() + lr * grad).clamp(0, 1)",
         "image = image.detach().add_(lr * grad).clamp_(0, 1)"))}, VIS),
    correct("class visualization: minimize -J with a leaf and torch.no_grad updates", {
        "class_visualization": """
def class_visualization(model, target, init, steps, lr, l2):
    was_training = model.training
    model.eval()
    image = init.clone().requires_grad_(True)
    for _ in range(steps):
        loss = -(model(image)[:, target].sum() - l2 * image.pow(2).sum())
        loss.backward()
        with torch.no_grad():
            image -= lr * image.grad
            image.clamp_(0.0, 1.0)
        image.grad = None
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return image.detach()
"""}),
    # -- Gram matrix and style loss ------------------------------------------------------------
    wrong("gram: not normalized by HW", {"gram_matrix": edit(
        ("flat @ flat.transpose(1, 2) / (H * W)", "flat @ flat.transpose(1, 2)"))},
        (GRAM, STYLE)),
    wrong("gram: positions x positions (HW x HW)", {"gram_matrix": edit(
        ("flat @ flat.transpose(1, 2) / (H * W)", "flat.transpose(1, 2) @ flat / (H * W)"))},
        (GRAM, STYLE)),
    wrong("gram: normalized by C*H*W", {"gram_matrix": edit(
        ("/ (H * W)", "/ (C * H * W)"))}, (GRAM, STYLE)),
    correct("gram: einsum", {"gram_matrix": """
def gram_matrix(features):
    H, W = features.shape[-2:]
    return torch.einsum("nchw,ndhw->ncd", features, features) / (H * W)
"""}),
    wrong("style loss: 4 C^2 forgotten", {"style_loss": edit(
        (".mean() / (4 * C**2)", ".mean()"))}, STYLE),
    wrong("style loss: summed over the batch", {"style_loss": edit(
        (".sum(dim=(1, 2)).mean()", ".sum()"))}, STYLE),
    wrong("style loss: Gram matrix of detached features (no gradient)", {"style_loss": edit(
        ("G = gram_matrix(features)", "G = gram_matrix(features.detach())"))}, STYLE),
    correct("style loss: F.mse_loss / 4", {"style_loss": """
def style_loss(features, target_gram):
    return F.mse_loss(gram_matrix(features), target_gram) / 4
"""}),
    # -- FGSM ----------------------------------------------------------------------------------
    wrong("fgsm: eps times the raw gradient", {"fgsm": edit(
        ("step * grad.sign()", "step * grad"))}, FG),
    wrong("fgsm: gradient scaled to max 1 instead of its sign", {"fgsm": edit(
        ("step * grad.sign()", "step * grad / grad.abs().max()"))}, FG),
    wrong("fgsm: no clipping to [0, 1]", {"fgsm": edit(
        ("(x.detach() + step * grad.sign()).clamp(0, 1)", "x.detach() + step * grad.sign()"))},
        FG),
    wrong("fgsm: targeted attack ascends the target's loss", {"fgsm": edit(
        ("step = -eps if targeted else eps", "step = eps"))}, FG),
    wrong("fgsm: model left in train mode", {"fgsm": edit(("    model.eval()\n", ""))}, FG),
    wrong("fgsm: loss.backward() leaves .grad on the weights", {"fgsm": edit(
        ("(grad,) = torch.autograd.grad(loss, x_var)", "loss.backward()\n    grad = x_var.grad"))},
        FG),
    wrong("fgsm: modifies x in place", {"fgsm": edit(
        ("return (x.detach() + step * grad.sign()).clamp(0, 1)",
         "return x.add_(step * grad.sign()).clamp_(0, 1)"))}, FG),
    wrong("fgsm: integer image accepted", {"fgsm": edit(
        ("    if not x.is_floating_point():\n        raise ValueError(f\"x must be a "
         "floating-point tensor in [0, 1]; got {x.dtype}\")\n", "    x = x.float()\n"))}, FG),
    correct("fgsm: backward on a copy, grads cleared, torch.where clipping, float64 ok", {
        "fgsm": """
def fgsm(model, x, y, eps, targeted=False):
    if x.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
        raise ValueError("x must be float")
    mode = model.training
    model.eval()
    xc = x.detach().double().requires_grad_()
    model.double()
    loss = F.cross_entropy(model(xc), y)
    loss.backward()
    model.float()
    model.zero_grad(set_to_none=True)
    model.train(mode)
    direction = -1.0 if targeted else 1.0
    out = x.double() + direction * eps * torch.sign(xc.grad)
    out = torch.where(out < 0, torch.zeros_like(out), out)
    out = torch.where(out > 1, torch.ones_like(out), out)
    return out.float().detach()
"""}),
    # -- PGD -----------------------------------------------------------------------------------
    wrong("pgd: no projection onto the eps-ball", {"pgd": edit(
        ("x_adv = torch.min(torch.max(x_adv, x0 - eps), x0 + eps).clamp(0, 1)",
         "x_adv = x_adv.clamp(0, 1)"))}, PG),
    wrong("pgd: projects around the current iterate", {"pgd": edit(
        ("x_adv = x_adv + step * grad.sign()\n", "x_prev = x_adv\n"
         "        x_adv = x_adv + step * grad.sign()\n"),
        ("torch.max(x_adv, x0 - eps), x0 + eps)",
         "torch.max(x_adv, x_prev - eps), x_prev + eps)"))}, PG),
    wrong("pgd: no clipping to [0, 1]", {"pgd": edit(
        ("x_adv = torch.min(torch.max(x_adv, x0 - eps), x0 + eps).clamp(0, 1)",
         "x_adv = torch.min(torch.max(x_adv, x0 - eps), x0 + eps)"),
        ("x_adv = (x0 + delta0).clamp(0, 1)", "x_adv = x0 + delta0"))}, PG),
    wrong("pgd: gradients accumulated across steps", {"pgd": """
def pgd(model, x, y, eps, alpha, steps, generator=None, random_start=True, targeted=False):
    if not x.is_floating_point():
        raise ValueError("x must be float")
    x0 = x.detach()
    delta = torch.zeros_like(x0)
    if random_start:
        delta = (x0 + (2 * torch.rand(x.shape, generator=generator) - 1) * eps).clamp(0, 1) - x0
    delta.requires_grad_(True)
    was_training = model.training
    model.eval()
    for _ in range(steps):
        F.cross_entropy(model(x0 + delta), y).backward()  # delta.grad never reset
        with torch.no_grad():
            delta += (-alpha if targeted else alpha) * delta.grad.sign()
            delta.copy_((x0 + delta.clamp(-eps, eps)).clamp(0, 1) - x0)
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return (x0 + delta).detach()
"""}, PG),
    wrong("pgd: random start from the global RNG", {"pgd": edit(
        ("torch.rand(x.shape, generator=generator)", "torch.rand(x.shape)"))}, PG),
    wrong("pgd: Gaussian random start", {"pgd": edit(
        ("(2 * torch.rand(x.shape, generator=generator) - 1) * eps",
         "torch.randn(x.shape, generator=generator) * eps"))}, PG),
    wrong("pgd: one step too few", {"pgd": edit(
        ("for _ in range(steps):", "for _ in range(steps - 1):"))}, PG),
    wrong("pgd: targeted attack ascends the target's loss", {"pgd": edit(
        ("step = -alpha if targeted else alpha", "step = alpha"))}, PG),
    wrong("pgd: model left in train mode", {"pgd": edit(("    model.eval()\n", ""))}, PG),
    wrong("pgd: modifies x in place", {"pgd": edit(
        ("x0 = x.detach()\n", "x0 = x.detach()\n    x_orig = x0.clone()\n"),
        ("x_adv = x0.clone()\n", "x_adv = x0\n"),
        ("x_adv = (x0 + delta0).clamp(0, 1)", "x_adv = x0.add_(delta0).clamp_(0, 1)"),
        ("x_adv = x_adv + step * grad.sign()", "x_adv = x_adv.add_(step * grad.sign())"),
        ("torch.max(x_adv, x0 - eps), x0 + eps)", "torch.max(x_adv, x_orig - eps), x_orig + eps)"
         ))}, PG),
    correct("pgd: delta parametrization, backward with grads cleared each step", {"pgd": """
def pgd(model, x, y, eps, alpha, steps, generator=None, random_start=True, targeted=False):
    if not torch.is_floating_point(x):
        raise ValueError("x must be a float tensor")
    x0 = x.detach().clone()
    delta = torch.zeros_like(x0)
    if random_start:
        delta = (2 * torch.rand(x.shape, generator=generator) - 1) * eps
        delta = (x0 + delta).clamp(0, 1) - x0
    mode = model.training
    model.eval()
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = F.cross_entropy(model(x0 + delta), y)
        if targeted:
            loss = -loss
        loss.backward()
        with torch.no_grad():
            delta = (delta + alpha * delta.grad.sign()).clamp(-eps, eps)
            delta = (x0 + delta).clamp(0, 1) - x0
        model.zero_grad(set_to_none=True)
    model.train(mode)
    return (x0 + delta).detach()
"""}),
    correct("pgd: calls the student's fgsm for each step", {"pgd": """
def pgd(model, x, y, eps, alpha, steps, generator=None, random_start=True, targeted=False):
    if not x.is_floating_point():
        raise ValueError("x must be float")
    x_adv = x.clone()
    if random_start:
        x_adv = (x + (2 * torch.rand(x.shape, generator=generator) - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        x_adv = fgsm(model, x_adv, y, alpha, targeted=targeted)
        x_adv = torch.clamp(x_adv, x - eps, x + eps).clamp(0, 1)
    return x_adv
"""}),
    # -- adversarial training step -------------------------------------------------------------
    wrong("training step: no zero_grad", {"adversarial_training_step": edit(
        ("    optimizer.zero_grad()\n", ""))}, STEP),
    wrong("training step: model left in eval mode", {"adversarial_training_step": edit(
        ("    model.train()\n", ""))}, STEP),
    wrong("training step: trains on the clean batch", {"adversarial_training_step": edit(
        ("model(x_adv)", "model(x)"))}, STEP),
    wrong("training step: returns the loss tensor", {"adversarial_training_step": edit(
        ("return loss.item()", "return loss"))}, STEP),
    correct("training step: zero_grad on the model, float(loss)", {
        "adversarial_training_step": """
def adversarial_training_step(model, optimizer, x, y, eps, alpha, steps, generator=None):
    adv_x = pgd(model, x, y, eps, alpha, steps, generator)
    model.train(True)
    model.zero_grad()
    loss = nn.CrossEntropyLoss()(model(adv_x), y)
    loss.backward()
    optimizer.step()
    return float(loss)
"""}),
]

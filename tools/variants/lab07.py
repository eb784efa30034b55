"""Variants of lab 07 (augmentation and regularization): typical mistakes and correct
alternatives.

The lab fixes: batches (N, C, H, W) of floats in [0, 1] (integers and other ranks raise
ValueError), per-image draws from the given ``torch.Generator`` only, new output tensors,
crop offsets uniform in {0, ..., 2 pad}, flips of the width axis with probability p,
torchvision's brightness-then-contrast with clipping and the grey mean per image, rotation
counter-clockwise with bilinear sampling and zeros, inverted dropout (identity in eval), and
weight decay on the >= 2-D parameters with the convention R = (lam / 2) sum ||w||^2, whose SGD
step is w - lr (grad + lam w).
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = "dropout: not rescaled by 1 / (1 - p)"

VARIANTS = [
    # -- random crop -----------------------------------------------------------------------
    wrong("random_crop: offsets in [0, 2 pad) never reach the bottom/right edge",
          {"random_crop": edit(("torch.randint(0, 2 * pad + 1, (N,), generator=generator)\n"
                                "    lefts", "torch.randint(0, 2 * pad, (N,), generator=generator)"
                                "\n    lefts"),
                               ("lefts = torch.randint(0, 2 * pad + 1,",
                                "lefts = torch.randint(0, 2 * pad,"))},
          "test_random_crop"),
    wrong("random_crop: torch.roll (wraps around instead of zero padding)", {"random_crop": """
def random_crop(x, pad, generator):
    check_images(x)
    if pad < 0:
        raise ValueError("pad must be >= 0")
    shifts = torch.randint(-pad, pad + 1, (len(x), 2), generator=generator)
    return torch.stack([torch.roll(img, (int(s[0]), int(s[1])), dims=(1, 2))
                        for img, s in zip(x, shifts)])
"""}, "test_random_crop"),
    wrong("random_crop: one offset for the whole batch", {"random_crop": edit(
        ("t, l = int(tops[i]), int(lefts[i])", "t, l = int(tops[0]), int(lefts[0])"))},
        "test_random_crop"),
    wrong("random_crop: global RNG instead of the generator", {"random_crop": edit(
        ("tops = torch.randint(0, 2 * pad + 1, (N,), generator=generator)",
         "tops = torch.randint(0, 2 * pad + 1, (N,))"),
        ("lefts = torch.randint(0, 2 * pad + 1, (N,), generator=generator)",
         "lefts = torch.randint(0, 2 * pad + 1, (N,))"))}, "test_random_crop"),
    wrong("random_crop: accepts uint8 images (no check_images)", {"random_crop": edit(
        ("    check_images(x)\n", ""))}, "test_random_crop"),
    correct("random_crop: per-image draws in a loop, output by indexing", {"random_crop": """
def random_crop(x, pad, generator):
    check_images(x)
    if pad < 0:
        raise ValueError(f"pad must be >= 0; got {pad}")
    H, W = x.shape[-2:]
    padded = torch.zeros(x.shape[0], x.shape[1], H + 2 * pad, W + 2 * pad, dtype=x.dtype)
    padded[:, :, pad:pad + H, pad:pad + W] = x
    crops = []
    for img in padded:
        t, l = torch.randint(0, 2 * pad + 1, (2,), generator=generator).tolist()
        crops.append(img[:, t:t + H, l:l + W])
    return torch.stack(crops)
"""}),
    # -- horizontal flip -------------------------------------------------------------------
    wrong("random_hflip: flips the height (rows)", {"random_hflip": edit(
        ("x.flip(-1)", "x.flip(-2)"))}, "test_random_hflip"),
    wrong("random_hflip: flips the channels", {"random_hflip": edit(
        ("x.flip(-1)", "x.flip(1)"))}, "test_random_hflip"),
    wrong("random_hflip: one coin for the whole batch", {"random_hflip": edit(
        ("flip = torch.rand(len(x), generator=generator) < p",
         "flip = (torch.rand(1, generator=generator) < p).expand(len(x))"))},
        "test_random_hflip"),
    wrong("random_hflip: flips with probability 1 - p", {"random_hflip": edit(
        ("generator=generator) < p", "generator=generator) >= p"))}, "test_random_hflip"),
    wrong("random_hflip: flips the input in place", {"random_hflip": """
def random_hflip(x, p, generator):
    check_images(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be in [0, 1]; got {p}")
    flip = torch.rand(len(x), generator=generator) < p
    x[flip] = x[flip].flip(-1)
    return x
"""}, "test_random_hflip"),
    correct("random_hflip: index_select with reversed column indices", {"random_hflip": """
def random_hflip(x, p, generator):
    check_images(x)
    if p < 0 or p > 1:
        raise ValueError("p must be in [0, 1]")
    coins = torch.rand(x.shape[0], generator=generator)
    cols = torch.arange(x.shape[-1] - 1, -1, -1)
    out = x.clone()
    for i in range(x.shape[0]):
        if coins[i] < p:
            out[i] = x[i].index_select(-1, cols)
    return out
"""}),
    # -- brightness / contrast -------------------------------------------------------------
    wrong("adjust_brightness_contrast: no clipping", {"adjust_brightness_contrast": edit(
        ("bright = (b[:, None, None, None] * x).clamp(0, 1)",
         "bright = b[:, None, None, None] * x"),
        ("* m[:, None, None, None]).clamp(0, 1)", "* m[:, None, None, None])"))},
        ("test_adjust_brightness_contrast", "test_color_jitter")),
    wrong("adjust_brightness_contrast: contrast mean over the whole batch",
          {"adjust_brightness_contrast": edit(
              ("m = gray.mean(dim=(1, 2))  # (N,)", "m = gray.mean().expand(N)"))},
          "test_adjust_brightness_contrast"),
    wrong("adjust_brightness_contrast: plain channel mean instead of the grey level",
          {"adjust_brightness_contrast": edit(
              ("gray = (bright * weights[:, None, None]).sum(dim=1)",
               "gray = bright.mean(dim=1)"))}, "test_adjust_brightness_contrast"),
    correct("adjust_brightness_contrast: torchvision per image",
            {"adjust_brightness_contrast": """
def adjust_brightness_contrast(x, b, c):
    from torchvision.transforms.v2 import functional as TF
    check_images(x)
    if x.shape[1] not in (1, 3):
        raise ValueError("x must have 1 or 3 channels")
    return torch.stack([TF.adjust_contrast(TF.adjust_brightness(img, float(bi)), float(ci))
                        for img, bi, ci in zip(x, b, c)])
"""}),
    wrong("color_jitter: one factor pair for the whole batch", {"color_jitter": edit(
        ("b = 1 + brightness * (2 * torch.rand(N, generator=generator, dtype=x.dtype) - 1)",
         "b = (1 + brightness * (2 * torch.rand(1, generator=generator, dtype=x.dtype) - 1))"
         ".expand(N)"),
        ("c = 1 + contrast * (2 * torch.rand(N, generator=generator, dtype=x.dtype) - 1)",
         "c = (1 + contrast * (2 * torch.rand(1, generator=generator, dtype=x.dtype) - 1))"
         ".expand(N)"))}, "test_color_jitter"),
    wrong("color_jitter: re-seeds the generator", {"color_jitter": edit(
        ("    N = len(x)\n", "    N = len(x)\n    generator.manual_seed(0)\n"))},
        "test_color_jitter"),
    wrong("color_jitter: factors in [1 - s/2, 1 + s/2]", {"color_jitter": edit(
        ("b = 1 + brightness * (2 * torch.rand", "b = 1 + brightness * (torch.rand"),
        ("dtype=x.dtype) - 1)\n    c", "dtype=x.dtype) - 0.5)\n    c"))}, "test_color_jitter"),
    # -- rotation --------------------------------------------------------------------------
    wrong("rotate: clockwise (sign of the angle)", {"rotate": edit(
        ("a = torch.deg2rad(angles)", "a = -torch.deg2rad(angles)"))}, "test_rotate"),
    correct("rotate: align_corners=True (the same map for square images)", {"rotate": edit(
        ("grid = F.affine_grid(theta, list(x.shape), align_corners=False)",
         "grid = F.affine_grid(theta, list(x.shape), align_corners=True)"),
        ('padding_mode="zeros", align_corners=False)',
         'padding_mode="zeros", align_corners=True)'))},
            note="both conventions scale about the centre, and a rotation commutes with it"),
    wrong("rotate: nearest instead of bilinear", {"rotate": edit(
        ('mode="bilinear"', 'mode="nearest"'))}, "test_rotate"),
    correct("rotate: theta from a rotation matrix product", {"rotate": """
def rotate(x, angles):
    check_images(x)
    N, C, H, W = x.shape
    if H != W:
        raise ValueError("rotate needs square images")
    out = []
    for img, angle in zip(x, torch.as_tensor(angles, dtype=torch.float64)):
        a = math.radians(float(angle))
        theta = torch.tensor([[[math.cos(a), -math.sin(a), 0.0],
                               [math.sin(a), math.cos(a), 0.0]]], dtype=x.dtype)
        grid = F.affine_grid(theta, [1, C, H, W], align_corners=False)
        out.append(F.grid_sample(img[None], grid, align_corners=False)[0])
    return torch.stack(out)
"""}),
    # -- dropout ---------------------------------------------------------------------------
    wrong("dropout: not rescaled by 1 / (1 - p)", {"dropout": edit(
        ("return x * keep / (1 - p)", "return x * keep"))}, "test_dropout"),
    wrong("dropout: rescaled at eval (x * (1 - p))", {"dropout": edit(
        ("    if not training:\n        return x\n",
         "    if not training:\n        return x * (1 - p)\n"))}, "test_dropout"),
    wrong("dropout: active in eval mode", {"dropout": edit(
        ("    if not training:\n        return x\n", ""))}, "test_dropout"),
    wrong("dropout: keeps with probability p", {"dropout": edit(
        ("keep = torch.rand(x.shape, generator=generator) >= p",
         "keep = torch.rand(x.shape, generator=generator) < p"))}, "test_dropout"),
    wrong("dropout: zeroes x in place", {"dropout": edit(
        ("return x * keep / (1 - p)", "return x.mul_(keep).div_(1 - p)"))}, "test_dropout"),
    correct("dropout: torch.bernoulli with the generator", {"dropout": """
def dropout(x, p, training, generator):
    if not torch.is_tensor(x) or not torch.is_floating_point(x):
        raise ValueError("x must be a floating-point tensor")
    if p < 0 or p >= 1:
        raise ValueError("p must be in [0, 1)")
    if not training or p == 0:
        return x.clone()
    mask = torch.bernoulli(torch.full(x.shape, 1 - p, dtype=x.dtype), generator=generator)
    return mask * x / (1 - p)
"""}),
    # -- weight decay ----------------------------------------------------------------------
    wrong("decayed_parameters: every parameter (biases and BN too)", {"decayed_parameters": edit(
        ("if p.ndim >= 2", "if p.requires_grad"))},
        ("test_decayed_parameters", "test_l2_penalty", "test_weight_decay_step")),
    correct("decayed_parameters: weights of Linear and Conv2d modules", {"decayed_parameters": """
def decayed_parameters(model):
    return [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
"""}),
    wrong("l2_penalty: lam * ||w||^2 (no 1/2)", {"l2_penalty": edit(
        ("return lam / 2 * sum", "return lam * sum"))}, "test_l2_penalty"),
    wrong("weight_decay_step: decays biases and BN too", {"weight_decay_step": edit(
        ("step = p.grad + lam * p if id(p) in decayed else p.grad", "step = p.grad + lam * p"))},
        "test_weight_decay_step"),
    wrong("weight_decay_step: 2 lam w (gradient of lam ||w||^2)", {"weight_decay_step": edit(
        ("step = p.grad + lam * p if", "step = p.grad + 2 * lam * p if"))},
        "test_weight_decay_step"),
    wrong("weight_decay_step: decay not multiplied by lr", {"weight_decay_step": """
def weight_decay_step(model, lr, lam):
    decayed = {id(p) for p in decayed_parameters(model)}
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is None:
                continue
            if id(p) in decayed:
                p.mul_(1 - lam)
            p -= lr * p.grad
"""}, "test_weight_decay_step"),
    wrong("weight_decay_step: adds the decay into p.grad", {"weight_decay_step": """
def weight_decay_step(model, lr, lam):
    decayed = {id(p) for p in decayed_parameters(model)}
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is None:
                continue
            if id(p) in decayed:
                p.grad += lam * p
            p -= lr * p.grad
"""}, "test_weight_decay_step"),
    correct("weight_decay_step: (1 - lr lam) w - lr grad, decayed list first", {
        "weight_decay_step": """
def weight_decay_step(model, lr, lam):
    decayed = decayed_parameters(model)
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is None:
                continue
            if any(p is q for q in decayed):
                p.mul_(1 - lr * lam)
            p.sub_(lr * p.grad)
"""}),
]

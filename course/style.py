"""Gram matrices, style and content losses, and images optimized to match them: texture
synthesis and style transfer (Gatys, Ecker and Bethge, 2015-2016), feature inversion
(Mahendran and Vedaldi, 2015).

The features come from any function that maps an image ``(1, 3, H, W)`` to a list of
feature maps: :class:`RandomFeatures` (random multi-scale filters, Ustyuzhaninov et al.,
2016, which work offline) or :func:`vgg19_features` (ImageNet weights, online only).

>>> import torch
>>> gram_matrix(torch.ones(1, 2, 3, 3))  # two constant channels: every product is 1
tensor([[[1., 1.],
         [1., 1.]]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "gram_matrix",
    "style_loss",
    "content_loss",
    "total_variation",
    "RandomFeatures",
    "vgg19_features",
    "synthesize",
]


def _check_maps(F, name: str = "features") -> None:
    if not torch.is_tensor(F) or F.dim() != 4:
        got = tuple(F.shape) if hasattr(F, "shape") else type(F).__name__
        raise ValueError(f"{name} must be a tensor of shape (N, C, H, W); got {got}")


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """G = F Fᵀ / M for each image: ``features: (N, C, H, W)`` → ``(N, C, C)``.

    F is the feature map reshaped to ``(C, M)`` with ``M = H W`` positions, so ``G[c, d]``
    is the *mean over positions* of the product of channels c and d; dividing by M makes
    Gram matrices of images of different sizes comparable.
    """
    _check_maps(features)
    N, C, H, W = features.shape
    F = features.reshape(N, C, H * W)  # (N, C, M)
    return F @ F.transpose(1, 2) / (H * W)  # (N, C, C)


def style_loss(features: torch.Tensor, target_gram: torch.Tensor) -> torch.Tensor:
    """Gatys' style loss of one layer, E = 1/(4 N² M²) Σ (G - Ĝ)², summed over the batch.

    Here N = C channels, M = H W positions and G, Ĝ the *unnormalized* Gram matrices F Fᵀ of
    the image and of the style; with :func:`gram_matrix` (already divided by M) this is
    Σ (G - Ĝ)² / (4 C²). ``features: (N, C, H, W)``, ``target_gram: (C, C)`` or ``(N, C, C)``.
    """
    G = gram_matrix(features)
    if target_gram.shape[-2:] != G.shape[-2:]:
        expected = tuple(G.shape[-2:])
        raise ValueError(f"target_gram must be {expected}; got {tuple(target_gram.shape)}")
    C = features.shape[1]
    return (G - target_gram).pow(2).sum() / (4 * C**2)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1/2 Σ (F - P)² between an image's feature maps and the content image's (same shape)."""
    if features.shape != target.shape:
        raise ValueError(
            f"features and target must have the same shape; got {tuple(features.shape)} "
            f"and {tuple(target.shape)}"
        )
    return 0.5 * (features - target).pow(2).sum()


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Σ of squared differences between vertical and horizontal neighbours of ``x:
    (N, C, H, W)``: small for smooth images, large for noise.

    >>> total_variation(torch.tensor([[[[0.0, 1.0], [0.0, 3.0]]]]))  # 1² + 3² + 0² + 2²
    tensor(14.)
    """
    _check_maps(x, "x")
    down = x[:, :, 1:, :] - x[:, :, :-1, :]  # (N, C, H-1, W)
    right = x[:, :, :, 1:] - x[:, :, :, :-1]  # (N, C, H, W-1)
    return down.pow(2).sum() + right.pow(2).sum()


class RandomFeatures(nn.Module):
    """One layer of random filters at several scales, each followed by a ReLU
    (Ustyuzhaninov et al., 2016): enough to describe textures without any training.

    ``x: (N, 3, H, W)`` in [0, 1] → a list with one ``(N, width, H, W)`` map per kernel
    size (``same`` padding). The weights are drawn from ``seed`` and never trained.

    >>> [tuple(f.shape) for f in RandomFeatures((3, 5), width=4)(torch.rand(1, 3, 8, 8))]
    [(1, 4, 8, 8), (1, 4, 8, 8)]
    """

    def __init__(self, kernel_sizes: Sequence[int] = (3, 5, 7, 11, 15), width: int = 32,
                 in_channels: int = 3, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.convs = nn.ModuleList()
        for k in kernel_sizes:
            conv = nn.Conv2d(in_channels, width, k, padding=k // 2, padding_mode="reflect")
            bound = (1.0 / (in_channels * k * k)) ** 0.5  # filters of unit gain on average
            with torch.no_grad():
                conv.weight.uniform_(-bound, bound, generator=generator)
                conv.bias.zero_()
            conv.requires_grad_(False)
            self.convs.append(conv)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = x - 0.5  # centre the pixels, so that ReLU keeps about half of every map
        return [torch.relu(conv(x)) for conv in self.convs]


def vgg19_features(layers: Sequence[int] = (1, 6, 11, 20, 29), timeout: float = 3.0):
    """VGG-19's ImageNet feature extractor as a function image → list of maps (ReLU outputs
    ``relu1_1, relu2_1, relu3_1, relu4_1, relu5_1`` by default), or ``None`` with a message
    when the weights are neither cached nor downloadable within ``timeout`` seconds.
    """
    from pathlib import Path

    from torch.hub import get_dir
    from torchvision.models import VGG19_Weights, vgg19

    from course.data import _online

    weights = VGG19_Weights.IMAGENET1K_V1
    if not Path(get_dir(), "checkpoints", weights.url.rsplit("/", 1)[-1]).exists():
        if not _online("download.pytorch.org", timeout):
            print("VGG-19 weights not cached and download.pytorch.org unreachable: skipped")
            return None
    net = vgg19(weights=weights).features[: max(layers) + 1].eval().requires_grad_(False)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def features(x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], (x - mean.to(x.device)) / std.to(x.device)
        for i, layer in enumerate(net.to(x.device)):
            h = layer(h)
            if i in layers:
                out.append(h)
        return out

    return features


def synthesize(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    steps: int = 100,
    lr: float = 0.05,
    clip: tuple[float, float] = (0.0, 1.0),
    record_every: int = 0,
) -> tuple[torch.Tensor, list[float]]:
    """Optimize an image's pixels to minimize ``loss_fn(image)`` with Adam, clipping them to
    ``clip`` after each step: texture synthesis, style transfer and feature inversion differ
    only in ``loss_fn``.

    ``init: (N, C, H, W)`` is the starting image (left unchanged). Returns the image and the
    loss every ``record_every`` steps (every step with 1, never with 0).
    """
    _check_maps(init, "init")
    img = init.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([img], lr=lr)
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(img)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            img.clamp_(*clip)
        if record_every and step % record_every == 0:
            losses.append(loss.item())
    return img.detach(), losses

"""Convolutional networks of the course, built from PyTorch layers, and a name → builder dict.

:class:`LeNet5` is LeNet-5 (LeCun et al., 1998) as it is usually built today: two 5x5
convolutions with 6 and 16 filters, each followed by a ReLU and 2x2 max pooling, then a
120-84-``num_classes`` fully connected head. ``head="gap"`` replaces that head by 1x1
convolutions and global average pooling, so the network takes images of any size from
:data:`LENET_MIN_SIZE` pixels up.

>>> model = build("lenet5")
>>> count_parameters(model)
61706
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["LENET_MIN_SIZE", "LeNet5", "MODELS", "build", "count_parameters"]

#: Smallest input side LeNet-5 accepts: 16 → conv 12 → pool 6 → conv 2 → pool 1.
LENET_MIN_SIZE = 16

HEADS = ("fc", "gap")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


def _lenet_side(size: int) -> int:
    """Side of LeNet-5's last feature map for an input side ``size`` (conv 5, pool 2, twice)."""
    for _ in range(2):
        size = (size - 4) // 2  # 5x5 convolution without padding, then 2x2 pooling
    return size


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling; ``x: (N, in_channels, H, W)`` → logits ``(N, K)``.

    ``head="fc"`` (the classic network) flattens the 16 feature maps into a 120-84-K fully
    connected head, so it needs ``H = W = image_size``. ``head="gap"`` applies the same
    120-84-K layers as 1x1 convolutions at every position and averages the K class maps
    (global average pooling), so it takes any ``H, W >= 16``; ``image_size`` is then only
    the size it is meant for. The layers are ``features.conv1``, ``features.pool1``,
    ``features.conv2``, ``features.pool2`` and ``head``.

    >>> LeNet5()(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    >>> LeNet5(head="gap")(torch.zeros(2, 1, 40, 56)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self, num_classes: int = 10, in_channels: int = 1, image_size: int = 32, head: str = "fc"
    ):
        super().__init__()
        self.num_classes = _positive_int("num_classes", num_classes)
        self.in_channels = _positive_int("in_channels", in_channels)
        self.image_size = _positive_int("image_size", image_size)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}; got {head!r}")
        if image_size < LENET_MIN_SIZE:
            raise ValueError(
                f"LeNet-5 needs images of at least {LENET_MIN_SIZE}x{LENET_MIN_SIZE} pixels "
                f"(two 5x5 convolutions and two 2x2 poolings); got image_size={image_size}"
            )
        self.head_kind = head
        self.features = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(in_channels, 6, kernel_size=5),  # (N, 6, S-4, S-4)
                relu1=nn.ReLU(),
                pool1=nn.MaxPool2d(2),
                conv2=nn.Conv2d(6, 16, kernel_size=5),
                relu2=nn.ReLU(),
                pool2=nn.MaxPool2d(2),  # (N, 16, s, s), s = 5 for S = 32
            )
        )
        self.head = self._fc_head() if head == "fc" else self._gap_head()

    def _fc_head(self) -> nn.Sequential:
        side = _lenet_side(self.image_size)
        return nn.Sequential(
            OrderedDict(
                flatten=nn.Flatten(),  # (N, 16*s*s)
                fc1=nn.Linear(16 * side * side, 120),
                relu3=nn.ReLU(),
                fc2=nn.Linear(120, 84),
                relu4=nn.ReLU(),
                fc3=nn.Linear(84, self.num_classes),
            )
        )

    def _gap_head(self) -> nn.Sequential:
        return nn.Sequential(
            OrderedDict(
                conv3=nn.Conv2d(16, 120, kernel_size=1),  # a linear layer at every position
                relu3=nn.ReLU(),
                conv4=nn.Conv2d(120, 84, kernel_size=1),
                relu4=nn.ReLU(),
                conv5=nn.Conv2d(84, self.num_classes, kernel_size=1),  # (N, K, s, s)
                gap=nn.AdaptiveAvgPool2d(1),  # (N, K, 1, 1)
                flatten=nn.Flatten(),  # (N, K)
            )
        )

    def expected_shape(self) -> str:
        """The input shape this network takes, in words for error messages."""
        c = self.in_channels
        if self.head_kind == "fc":
            return f"(N, {c}, {self.image_size}, {self.image_size})"
        return f"(N, {c}, H, W) with H, W >= {LENET_MIN_SIZE}"

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a ValueError that names the expected shape when ``x`` does not fit."""
        shape = tuple(x.shape)
        if x.dim() == 4 and shape[1] == self.in_channels:
            if self.head_kind == "fc" and shape[2:] == (self.image_size, self.image_size):
                return
            if self.head_kind == "gap" and min(shape[2:]) >= LENET_MIN_SIZE:
                return
        if x.dim() == 3:
            hint = "; for a single image add a batch dimension with x.unsqueeze(0)"
        elif x.dim() == 4 and shape[1] != self.in_channels:
            hint = f"; the network was built with in_channels={self.in_channels}"
        elif x.dim() == 4 and self.head_kind == "fc":
            hint = (
                f"; the fully connected head was built for image_size={self.image_size} "
                "(build LeNet5(image_size=...) or use head='gap' for other sizes)"
            )
        else:
            hint = ""
        raise ValueError(
            f"LeNet5 expects input of shape {self.expected_shape()}; got {shape}{hint}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, H, W)`` → logits ``(N, num_classes)``."""
        self.check_input(x)
        return self.head(self.features(x))


#: Name → builder; each builder takes keyword arguments such as ``num_classes``.
MODELS: dict[str, Callable[..., nn.Module]] = {"lenet5": LeNet5}


def build(name: str, **kwargs) -> nn.Module:
    """Build the model registered in :data:`MODELS` under ``name`` (keyword args passed on).

    >>> build("lenet5", num_classes=3, head="gap").num_classes
    3
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    return MODELS[name](**kwargs)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (weights and biases) of ``model``; with ``trainable_only`` only
    those with ``requires_grad``.

    >>> count_parameters(nn.Linear(3, 2))  # 3·2 weights + 2 biases
    8
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)

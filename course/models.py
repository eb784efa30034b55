"""Convolutional networks of the course, built from PyTorch layers, and a name → builder dict.

:class:`LeNet5` is LeNet-5 (LeCun et al., 1998) as it is usually built today: two 5x5
convolutions with 6 and 16 filters, each followed by a ReLU and 2x2 max pooling, then a
120-84-``num_classes`` fully connected head. ``head="gap"`` replaces that head by 1x1
convolutions and global average pooling, so the network takes images of any size from
:data:`LENET_MIN_SIZE` pixels up.

:class:`ResNet` is a residual network for small (32x32) images built from
:class:`BasicBlock` or :class:`Bottleneck`; its attribute names (``layer1``..., ``fc``)
mirror torchvision's ResNet so that transfer-learning code reads the same. Compact CPU-sized
versions of AlexNet, VGG and GoogLeNet (:class:`Inception` modules) are registered in
:data:`MODELS` too; the full-size torchvision models are only counted (:mod:`course.counting`).

>>> model = build("lenet5")
>>> count_parameters(model)
61706
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "LENET_MIN_SIZE",
    "AlexNet",
    "BasicBlock",
    "Bottleneck",
    "GoogLeNet",
    "Inception",
    "LeNet5",
    "MODELS",
    "ResNet",
    "VGG",
    "build",
    "count_parameters",
]

#: Smallest input side LeNet-5 accepts: 16 → conv 12 → pool 6 → conv 2 → pool 1.
LENET_MIN_SIZE = 16

HEADS = ("fc", "gap")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return value


def _probability(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a probability in [0, 1); got {value!r}")
    return float(value)


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


def _check_images(model: str, x, in_channels: int, min_size: int) -> None:
    """Raise a ValueError naming the expected shape unless ``x: (N, C, H, W)``, H, W >= min."""
    if not torch.is_tensor(x):
        raise ValueError(f"{model} expects a torch.Tensor; got {type(x).__name__}")
    shape = tuple(x.shape)
    if x.dim() == 4 and shape[1] == in_channels and min(shape[2:]) >= min_size:
        return
    hint = "; for a single image add a batch dimension with x.unsqueeze(0)" if x.dim() == 3 else ""
    raise ValueError(
        f"{model} expects input of shape (N, {in_channels}, H, W) with H, W >= {min_size}; "
        f"got {shape}{hint}"
    )


def _conv_bn(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
    """A convolution without bias ('same' padding for odd kernels) followed by batch norm."""
    conv = nn.Conv2d(
        in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False
    )
    return conv, nn.BatchNorm2d(out_channels)


class BasicBlock(nn.Module):
    """Residual basic block: ``relu(F(x) + shortcut(x))`` with F = 3x3 conv-BN-ReLU-3x3 conv-BN.

    ``x: (N, in_channels, H, W)`` → ``(N, out_channels, ceil(H / stride), ceil(W / stride))``.
    The shortcut is the identity when the shape does not change; when ``stride != 1`` or the
    number of channels changes it is a projection, a strided 1x1 convolution with batch norm
    (option B of He et al., 2016). torchvision calls the projection ``downsample``.

    >>> block = BasicBlock(16, 32, stride=2)
    >>> block(torch.zeros(2, 16, 32, 32)).shape, isinstance(block.shortcut, nn.Identity)
    (torch.Size([2, 32, 16, 16]), False)
    """

    expansion = 1

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        _positive_int("in_channels", in_channels)
        _positive_int("out_channels", out_channels)
        _positive_int("stride", stride)
        self.conv1, self.bn1 = _conv_bn(in_channels, out_channels, 3, stride)
        self.conv2, self.bn2 = _conv_bn(out_channels, out_channels, 3)
        self.relu = nn.ReLU()
        self.shortcut = _shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C_in, H, W)`` → ``(N, C_out, H', W')``."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))  # ReLU after the addition


class Bottleneck(nn.Module):
    """Residual bottleneck block: 1x1 (reduce) → 3x3 (with the stride) → 1x1 (expand to 4x).

    ``x: (N, in_channels, H, W)`` → ``(N, 4 * mid_channels, ceil(H / stride), ceil(W / stride))``.
    The stride sits on the 3x3 convolution as in torchvision ("ResNet v1.5"); the paper put it
    on the first 1x1. Projection shortcut when the stride or the channel count changes.

    >>> block = Bottleneck(64, 16)
    >>> block(torch.zeros(1, 64, 8, 8)).shape, isinstance(block.shortcut, nn.Identity)
    (torch.Size([1, 64, 8, 8]), True)
    """

    expansion = 4

    def __init__(self, in_channels: int, mid_channels: int, stride: int = 1):
        super().__init__()
        _positive_int("in_channels", in_channels)
        _positive_int("mid_channels", mid_channels)
        _positive_int("stride", stride)
        out_channels = mid_channels * self.expansion
        self.conv1, self.bn1 = _conv_bn(in_channels, mid_channels, 1)
        self.conv2, self.bn2 = _conv_bn(mid_channels, mid_channels, 3, stride)
        self.conv3, self.bn3 = _conv_bn(mid_channels, out_channels, 1)
        self.relu = nn.ReLU()
        self.shortcut = _shortcut(in_channels, out_channels, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C_in, H, W)`` → ``(N, 4 * mid_channels, H', W')``."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _shortcut(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return nn.Sequential(*_conv_bn(in_channels, out_channels, 1, stride))  # 1x1, strided


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}

#: Smallest input side the compact ResNet accepts.
RESNET_MIN_SIZE = 8


class ResNet(nn.Module):
    """A residual network for small images: ``x: (N, in_channels, H, W)`` → ``(N, num_classes)``.

    ``stem`` (3x3 conv-BN-ReLU to ``widths[0]`` channels) → ``layer1`` ... ``layerK``
    (``layers[k]`` blocks of ``widths[k]`` channels, or ``4 * widths[k]`` for bottlenecks;
    the first block of ``layer2`` onwards has stride 2, halving H and W while the channels
    double) → ``pool`` (global average pooling and flatten, ``(N, feature_dim)``) → ``fc``.
    With the defaults a 32x32 image goes 32 → 32 → 16 → 8 → 1; any H, W >= 8 is accepted.
    Convolutions get He (fan-out) initialization as in torchvision.

    >>> model = ResNet()
    >>> model(torch.zeros(2, 3, 32, 32)).shape, model.feature_dim
    (torch.Size([2, 10]), 64)
    >>> ResNet(block="bottleneck").features(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 256])
    """

    def __init__(
        self,
        block: str = "basic",
        layers: tuple[int, ...] = (2, 2, 2),
        widths: tuple[int, ...] = (16, 32, 64),
        num_classes: int = 10,
        in_channels: int = 3,
    ):
        super().__init__()
        if block not in BLOCKS:
            raise ValueError(f"block must be one of {tuple(BLOCKS)}; got {block!r}")
        layers, widths = tuple(layers), tuple(widths)
        if not layers or len(layers) != len(widths):
            raise ValueError(
                "layers and widths must be non-empty and of the same length (one entry per "
                f"stage); got layers={layers}, widths={widths}"
            )
        for name, values in (("layers", layers), ("widths", widths)):
            for value in values:
                _positive_int(f"every entry of {name}", value)
        self.num_classes = _positive_int("num_classes", num_classes)
        self.in_channels = _positive_int("in_channels", in_channels)
        self.block, self.layers, self.widths = block, layers, widths
        Block = BLOCKS[block]
        self.stem = nn.Sequential(*_conv_bn(in_channels, widths[0], 3), nn.ReLU())
        channels = widths[0]
        for k, (count, width) in enumerate(zip(layers, widths, strict=True), start=1):
            blocks = []
            for i in range(count):
                stride = 2 if (k > 1 and i == 0) else 1
                blocks.append(Block(channels, width, stride))
                channels = width * Block.expansion
            self.add_module(f"layer{k}", nn.Sequential(*blocks))
        self.feature_dim = channels
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(self.feature_dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Everything but ``fc``: ``x: (N, C, H, W)`` → ``(N, feature_dim)``."""
        _check_images("ResNet", x, self.in_channels, RESNET_MIN_SIZE)
        x = self.stem(x)
        for k in range(1, len(self.layers) + 1):
            x = getattr(self, f"layer{k}")(x)
        return self.pool(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, H, W)`` → logits ``(N, num_classes)``."""
        return self.fc(self.features(x))


def resnet(**kwargs) -> ResNet:
    """The compact ResNet with basic blocks (``ResNet(block="basic", ...)``)."""
    return ResNet(block="basic", **kwargs)


def resnet_bottleneck(**kwargs) -> ResNet:
    """The compact ResNet with bottleneck blocks (``ResNet(block="bottleneck", ...)``)."""
    return ResNet(block="bottleneck", **kwargs)


class AlexNet(nn.Module):
    """A compact AlexNet for 32x32 images: 5 convolutions and 3 fully connected layers.

    As in Krizhevsky et al. (2012): ReLU everywhere, overlapping max pooling (size 3, stride
    2) after conv1, conv2 and conv5, dropout before the first two fully connected layers, and
    optionally local response normalization after conv1 and conv2 (``lrn=True``). The 11x11
    stride-4 first layer becomes 5x5 stride 1 and the widths shrink for 32x32 inputs.
    Shapes for ``x: (N, 3, 32, 32)``: conv1 (N, 32, 32, 32) → pool (N, 32, 15, 15) → conv2
    (N, 64, 15, 15) → pool (N, 64, 7, 7) → conv3, conv4, conv5 (N, 96|96|64, 7, 7) → pool
    (N, 64, 3, 3) → flatten 576 → 256 → 256 → ``num_classes``. Inputs need H, W >= 15.

    >>> AlexNet()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    min_size = 15  # 15 → pool 7 → pool 3 → pool 1

    def __init__(
        self, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.5, lrn: bool = False
    ):
        super().__init__()
        self.num_classes = _positive_int("num_classes", num_classes)
        self.in_channels = _positive_int("in_channels", in_channels)
        _probability("dropout", dropout)

        def norm() -> nn.Module:  # LRN with the paper's k=2, n=5, alpha=1e-4, beta=0.75
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0) if lrn else nn.Identity()

        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, padding=2), nn.ReLU(), norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(64, 96, 3, padding=1), nn.ReLU(),
            nn.Conv2d(96, 96, 3, padding=1), nn.ReLU(),
            nn.Conv2d(96, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )  # fmt: skip
        self.pool = nn.AdaptiveAvgPool2d(3)  # (N, 64, 3, 3) whatever H, W >= 15
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout), nn.Linear(64 * 3 * 3, 256), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, H, W)`` → logits ``(N, num_classes)``."""
        _check_images("AlexNet", x, self.in_channels, self.min_size)
        return self.classifier(self.pool(self.features(x)))


class VGG(nn.Module):
    """A compact VGG: stages of 3x3 convolutions (padding 1, ReLU), each closed by 2x2 max
    pooling, then three fully connected layers with dropout (Simonyan & Zisserman, 2015).

    ``stages`` lists the channels of each stage's convolutions; the default
    ``((32, 32), (64, 64), (128, 128))`` has six 3x3 layers. Shapes for ``x: (N, 3, 32, 32)``:
    (N, 32, 16, 16) → (N, 64, 8, 8) → (N, 128, 4, 4) → adaptive average pool (N, 128, 2, 2)
    → flatten 512 → 256 → 256 → ``num_classes``. ``batch_norm=True`` adds batch norm after
    every convolution (as in torchvision's ``vgg16_bn``). Inputs need H, W >= 2**len(stages).

    >>> VGG()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        stages: tuple[tuple[int, ...], ...] = ((32, 32), (64, 64), (128, 128)),
        num_classes: int = 10,
        in_channels: int = 3,
        batch_norm: bool = False,
        dropout: float = 0.5,
    ):
        super().__init__()
        self.num_classes = _positive_int("num_classes", num_classes)
        self.in_channels = _positive_int("in_channels", in_channels)
        _probability("dropout", dropout)
        if not stages or not all(isinstance(s, (tuple, list)) and s for s in stages):
            raise ValueError(
                f"stages must be a non-empty tuple of non-empty channel tuples; got {stages!r}"
            )
        layers: list[nn.Module] = []
        channels = in_channels
        for stage in stages:
            for width in stage:
                _positive_int("every channel count in stages", width)
                layers.append(nn.Conv2d(channels, width, 3, padding=1))
                layers += [nn.BatchNorm2d(width), nn.ReLU()] if batch_norm else [nn.ReLU()]
                channels = width
            layers.append(nn.MaxPool2d(2))
        self.min_size = 2 ** len(stages)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * 4, 256), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(256, 256), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(256, num_classes),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, H, W)`` → logits ``(N, num_classes)``."""
        _check_images("VGG", x, self.in_channels, self.min_size)
        return self.classifier(self.pool(self.features(x)))


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2), nn.ReLU()
    )


class Inception(nn.Module):
    """GoogLeNet's Inception module (Szegedy et al., 2015): four parallel branches whose
    outputs are concatenated along the channels.

    ``x: (N, in_ch, H, W)`` → ``(N, c1 + c3 + c5 + pool_proj, H, W)``. Branches: a 1x1
    convolution to ``c1``; a 1x1 bottleneck to ``c3r`` then 3x3 to ``c3``; a 1x1 bottleneck
    to ``c5r`` then 5x5 to ``c5``; 3x3 max pooling (stride 1) then a 1x1 projection to
    ``pool_proj``. Every convolution is followed by a ReLU, as in the paper.

    >>> block = Inception(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's inception (3a)
    >>> block(torch.zeros(1, 192, 28, 28)).shape, block.out_channels
    (torch.Size([1, 256, 28, 28]), 256)
    """

    def __init__(self, in_ch: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, pool_proj: int):
        super().__init__()
        names = ("in_ch", "c1", "c3r", "c3", "c5r", "c5", "pool_proj")
        for name, value in zip(names, (in_ch, c1, c3r, c3, c5r, c5, pool_proj), strict=True):
            _positive_int(name, value)
        self.branch1 = _conv_relu(in_ch, c1, 1)
        self.branch3 = nn.Sequential(_conv_relu(in_ch, c3r, 1), _conv_relu(c3r, c3, 3))
        self.branch5 = nn.Sequential(_conv_relu(in_ch, c5r, 1), _conv_relu(c5r, c5, 5))
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), _conv_relu(in_ch, pool_proj, 1)
        )
        self.out_channels = c1 + c3 + c5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, in_ch, H, W)`` → ``(N, out_channels, H, W)``."""
        branches = (self.branch1, self.branch3, self.branch5, self.branch_pool)
        return torch.cat([branch(x) for branch in branches], dim=1)


class GoogLeNet(nn.Module):
    """A compact GoogLeNet for 32x32 images: a 3x3 stem, Inception modules, global average
    pooling, dropout and one linear layer (no big fully connected head, no auxiliary
    classifiers). Shapes for ``x: (N, 3, 32, 32)``: stem (N, 64, 32, 32) → pool
    (N, 64, 16, 16) → 3a (N, 128, 16, 16) → 3b (N, 192, 16, 16) → pool (N, 192, 8, 8) →
    4a (N, 256, 8, 8) → 4b (N, 256, 8, 8) → global average pool 256 → ``num_classes``.

    >>> GoogLeNet()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    min_size = 4

    def __init__(self, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.4):
        super().__init__()
        self.num_classes = _positive_int("num_classes", num_classes)
        self.in_channels = _positive_int("in_channels", in_channels)
        _probability("dropout", dropout)
        self.stem = nn.Sequential(_conv_relu(in_channels, 64, 3), nn.MaxPool2d(3, 2, padding=1))
        self.inception3a = Inception(64, 32, 48, 64, 8, 16, 16)  # → 128
        self.inception3b = Inception(128, 64, 64, 96, 16, 16, 16)  # → 192
        self.pool3 = nn.MaxPool2d(3, 2, padding=1)
        self.inception4a = Inception(192, 96, 64, 112, 16, 24, 24)  # → 256
        self.inception4b = Inception(256, 64, 96, 128, 24, 32, 32)  # → 256
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.inception4b.out_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (N, C, H, W)`` → logits ``(N, num_classes)``."""
        _check_images("GoogLeNet", x, self.in_channels, self.min_size)
        x = self.inception3b(self.inception3a(self.stem(x)))
        x = self.inception4b(self.inception4a(self.pool3(x)))
        return self.fc(self.dropout(self.pool(x)))


#: Name → builder; each builder takes keyword arguments such as ``num_classes``.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "lenet5": LeNet5,
    "resnet": resnet,
    "resnet_bottleneck": resnet_bottleneck,
    "alexnet": AlexNet,
    "vgg": VGG,
    "inception": GoogLeNet,
}


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


def pretrained(name: str, **kwargs) -> nn.Module:
    """A pretrained network in eval mode with its card as ``.card`` (see :mod:`course.pretrained`):
    ``"course-resnet"`` (shipped, offline) or ``"resnet18-imagenet"`` (online only).

    >>> pretrained("alexnet-imagenet")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown pretrained network 'alexnet-imagenet'; choose one of (...)
    """
    from course import pretrained as _pretrained  # lazy: the loader imports this module

    return _pretrained.load(name, **kwargs)


__all__ += ["pretrained"]

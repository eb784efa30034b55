"""Counting a network's cost: parameters, multiply-adds and weighted layers.

:func:`count_macs` runs one forward pass under PyTorch's own
:class:`torch.utils.flop_counter.FlopCounterMode` and halves its FLOPs (one multiply-add
is two floating-point operations). Run it on a model built on the ``meta`` device and it
allocates no memory and computes nothing, so a 224x224 ResNet-152 is counted in about a
second::

    with torch.device("meta"):
        model = torchvision.models.resnet152(weights=None)
    count_macs(model)  # 11.51e9

The counter counts matrix multiplications and convolutions (the bulk of the work);
element-wise operations such as ReLU, batch norm and pooling are not counted, the same
convention as the papers' "FLOPs" tables.

>>> from torch import nn
>>> count_macs(nn.Conv2d(3, 8, 3, padding=1), (1, 3, 32, 32))  # 32·32 positions · 8 · 3·3·3
221184
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

__all__ = ["count_macs", "count_parameters", "comparison_table", "weighted_layers"]


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (weights, biases, batch-norm γ and β) of ``model``.

    Works on ``meta`` models too (only shapes are read).

    >>> count_parameters(nn.Linear(3, 2))
    8
    """
    return sum(p.numel() for p in model.parameters())


def _device_of(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def count_macs(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 224, 224)) -> int:
    """Multiply-adds of one forward pass of ``model`` on an input of shape ``input_size``.

    ``input_size`` is the full input shape including the batch, e.g. ``(1, 3, 224, 224)``;
    the count grows linearly with the batch size. The input is created on the model's
    device: build the model under ``with torch.device("meta"):`` and nothing is allocated.
    The model is put in eval mode for the pass and restored afterwards.

    >>> count_macs(nn.Linear(10, 4), (5, 10))  # 5 rows · 10 inputs · 4 outputs
    200
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    size = tuple(input_size)
    if not size or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(
            f"input_size must be a tuple of positive integers such as (1, 3, 224, 224); "
            f"got {input_size!r}"
        )
    x = torch.zeros(size, device=_device_of(model))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    flops = counter.get_total_flops()
    return flops // 2


def weighted_layers(model: nn.Module) -> int:
    """Number of weighted layers on the main path: ``Conv2d`` and ``Linear`` modules, not
    counting the 1x1 projection shortcuts of residual networks (modules named
    ``downsample`` in torchvision, ``shortcut`` in :mod:`course.models`).

    This is how "ResNet-34" gets its name: 1 + 2·(3+4+6+3) + 1 = 34.

    >>> weighted_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(2, 2)))
    2
    """
    count = 0
    for name, module in model.named_modules():
        parts = set(name.split("."))
        if parts & {"downsample", "shortcut"}:
            continue
        count += isinstance(module, (nn.Conv2d, nn.Linear))
    return count


def comparison_table(
    models: dict[str, nn.Module] | Iterable[tuple[str, nn.Module]],
    input_size: tuple[int, ...] = (1, 3, 224, 224),
) -> list[dict]:
    """One row per model: ``{"model", "params", "macs"}`` (parameters and multiply-adds for
    ``input_size``), in the order given; meta-device models cost nothing to count.

    >>> rows = comparison_table({"fc": nn.Linear(4, 2)}, (1, 4))
    >>> rows[0]["params"], rows[0]["macs"]
    (10, 8)
    """
    items = models.items() if isinstance(models, dict) else models
    return [
        {"model": name, "params": count_parameters(m), "macs": count_macs(m, input_size)}
        for name, m in items
    ]

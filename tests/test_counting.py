"""course.counting: multiply-adds against closed forms and the SYLLABUS L06 checks on
torchvision's ResNets (meta device, 224x224), parameters and weighted layers."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from course import counting, models

# SYLLABUS L06 check: depth → (blocks per stage, G multiply-adds at 224x224, M parameters)
RESNETS = {
    18: ((2, 2, 2, 2), 1.81, 11.69),
    34: ((3, 4, 6, 3), 3.66, 21.80),
    50: ((3, 4, 6, 3), 4.09, 25.56),
    101: ((3, 4, 23, 3), 7.80, None),
    152: ((3, 8, 36, 3), 11.51, None),
}


def meta_resnet(depth: int) -> nn.Module:
    with torch.device("meta"):
        return getattr(torchvision.models, f"resnet{depth}")(weights=None)


@pytest.mark.parametrize("depth", sorted(RESNETS))
def test_torchvision_resnets_match_the_syllabus(depth):
    blocks, gmacs, mparams = RESNETS[depth]
    model = meta_resnet(depth)
    stages = [len(getattr(model, f"layer{k}")) for k in range(1, 5)]
    assert tuple(stages) == blocks
    assert round(counting.count_macs(model) / 1e9, 2) == gmacs
    if mparams is not None:
        assert round(counting.count_parameters(model) / 1e6, 2) == mparams
    # depth = stem conv + (2 or 3) convolutions per block + fc
    per_block = 2 if depth < 50 else 3
    assert counting.weighted_layers(model) == 1 + per_block * sum(blocks) + 1 == depth


def test_resnet34_has_34_weighted_layers():
    assert 1 + 2 * (3 + 4 + 6 + 3) + 1 == 34
    assert counting.weighted_layers(meta_resnet(34)) == 34


def test_conv_macs_closed_form():
    """H_out·W_out·C_out·(k·k·C_in / groups) per image, times the batch."""
    conv = nn.Conv2d(6, 12, 5, stride=2, padding=1)
    h_out = (30 + 2 - 5) // 2 + 1  # 14
    assert counting.count_macs(conv, (3, 6, 30, 30)) == 3 * h_out * h_out * 12 * 5 * 5 * 6
    grouped = nn.Conv2d(8, 8, 3, padding=1, groups=4)
    assert counting.count_macs(grouped, (1, 8, 10, 10)) == 10 * 10 * 8 * 3 * 3 * 2


def test_compact_resnet_macs_closed_form():
    def conv(side, c_out, k, c_in):
        return side * side * c_out * k * k * c_in

    stem = conv(32, 16, 3, 3)
    layer1 = 4 * conv(32, 16, 3, 16)
    layer2 = conv(16, 32, 3, 16) + 3 * conv(16, 32, 3, 32) + conv(16, 32, 1, 16)
    layer3 = conv(8, 64, 3, 32) + 3 * conv(8, 64, 3, 64) + conv(8, 64, 1, 32)
    fc = 64 * 10
    model = models.ResNet()
    assert counting.count_macs(model, (1, 3, 32, 32)) == stem + layer1 + layer2 + layer3 + fc
    assert counting.count_macs(model, (4, 3, 32, 32)) == 4 * (stem + layer1 + layer2 + layer3 + fc)


def test_count_macs_on_meta_allocates_nothing_and_keeps_training_mode():
    with torch.device("meta"):
        model = models.ResNet(num_classes=7)
    model.train()
    macs = counting.count_macs(model, (2, 3, 32, 32))
    assert model.training
    assert all(p.device.type == "meta" for p in model.parameters())
    assert macs == counting.count_macs(models.ResNet(num_classes=7), (2, 3, 32, 32))


def test_parameters_agree_with_models_count_parameters():
    for name in models.MODELS:
        model = models.build(name)
        assert counting.count_parameters(model) == models.count_parameters(model)


def test_weighted_layers_skips_projection_shortcuts():
    model = models.ResNet(layers=(2, 2, 2))
    convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert convs == 1 + 2 * 6 + 2  # two projection shortcuts
    assert counting.weighted_layers(model) == 1 + 2 * 6 + 1


def test_comparison_table():
    rows = counting.comparison_table(
        [("conv", nn.Conv2d(3, 4, 3)), ("fc", nn.Sequential(nn.Flatten(), nn.Linear(192, 2)))],
        (1, 3, 8, 8),
    )
    assert [r["model"] for r in rows] == ["conv", "fc"]
    assert rows[0] == {"model": "conv", "params": 4 * 27 + 4, "macs": 6 * 6 * 4 * 27}
    assert rows[1] == {"model": "fc", "params": 193 * 2, "macs": 192 * 2}
    with pytest.raises(ValueError, match="input_size"):
        counting.comparison_table({"fc": nn.Linear(3, 2)}, (1, 0))


@pytest.mark.parametrize("size", [(), (1, 3, 0, 4), (1, 3.0, 8, 8), "1x3x8x8"])
def test_bad_input_size(size):
    with pytest.raises(ValueError, match="input_size must be a tuple of positive integers"):
        counting.count_macs(nn.Conv2d(3, 4, 3), size)


def test_not_a_module():
    with pytest.raises(ValueError, match="model must be a torch.nn.Module"):
        counting.count_macs(lambda x: x)

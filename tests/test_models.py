"""course.models: LeNet-5's parameter count against the closed form, its layers against a
functional re-implementation, output shapes, the global-average-pooling head, and the errors
a student sees for a wrong input."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import models


def lenet_closed_form(image_size: int, in_channels: int = 1, num_classes: int = 10) -> int:
    """(F·F·D + 1)·K per conv layer and (n_in + 1)·n_out per fully connected layer."""
    side = ((image_size - 4) // 2 - 4) // 2  # conv 5 → pool 2 → conv 5 → pool 2
    conv1 = (5 * 5 * in_channels + 1) * 6
    conv2 = (5 * 5 * 6 + 1) * 16
    fc1 = (16 * side * side + 1) * 120
    fc2 = (120 + 1) * 84
    fc3 = (84 + 1) * num_classes
    return conv1 + conv2 + fc1 + fc2 + fc3


def test_lenet5_has_the_classic_61706_parameters():
    # 156 + 2,416 + 48,120 + 10,164 + 850 for a 32x32 grey input and 10 classes
    assert lenet_closed_form(32) == 61706
    assert models.count_parameters(models.LeNet5()) == 61706


@pytest.mark.parametrize(
    "kwargs",
    [
        {"image_size": 28},
        {"image_size": 32, "in_channels": 3},
        {"image_size": 64, "num_classes": 6},
        {"image_size": 16},
    ],
)
def test_parameter_count_matches_closed_form(kwargs):
    model = models.LeNet5(**kwargs)
    assert models.count_parameters(model) == lenet_closed_form(**kwargs)


def test_gap_head_parameter_count():
    conv = (5 * 5 * 1 + 1) * 6 + (5 * 5 * 6 + 1) * 16
    head = (16 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10  # 1x1 convolutions
    assert models.count_parameters(models.LeNet5(head="gap")) == conv + head == 15626


def test_count_parameters_trainable_only():
    model = models.LeNet5()
    for p in model.features.parameters():
        p.requires_grad_(False)
    head = (400 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
    assert models.count_parameters(model, trainable_only=True) == head
    assert models.count_parameters(model) == 61706


@pytest.mark.parametrize("size", [28, 32])
def test_output_shape(size):
    model = models.LeNet5(image_size=size)
    assert model(torch.randn(5, 1, size, size)).shape == (5, 10)


def test_layers_match_a_functional_reference():
    """The forward pass is conv-relu-pool twice, then flatten and 120-84-K with ReLUs."""
    torch.manual_seed(0)
    model = models.LeNet5(num_classes=7, in_channels=3)
    x = torch.randn(4, 3, 32, 32)
    f, h = model.features, model.head
    z = F.max_pool2d(F.relu(F.conv2d(x, f.conv1.weight, f.conv1.bias)), 2)
    z = F.max_pool2d(F.relu(F.conv2d(z, f.conv2.weight, f.conv2.bias)), 2)  # (4, 16, 5, 5)
    z = z.reshape(4, 400)
    z = F.relu(z @ h.fc1.weight.T + h.fc1.bias)
    z = F.relu(z @ h.fc2.weight.T + h.fc2.bias)
    expected = z @ h.fc3.weight.T + h.fc3.bias
    assert torch.allclose(model(x), expected, atol=1e-5)


@pytest.mark.parametrize("shape", [(16, 16), (17, 23), (28, 28), (45, 45), (40, 64), (100, 100)])
def test_gap_head_accepts_any_size_from_16(shape):
    model = models.LeNet5(head="gap")
    assert model(torch.randn(2, 1, *shape)).shape == (2, 10)


def test_gap_head_averages_the_class_maps():
    torch.manual_seed(0)
    model = models.LeNet5(head="gap", num_classes=4)
    x = torch.randn(3, 1, 40, 48)
    maps = model.head.conv5(
        F.relu(model.head.conv4(F.relu(model.head.conv3(model.features(x)))))
    )  # (3, 4, h, w)
    assert maps.shape[2:] == (7, 9)
    assert torch.allclose(model(x), maps.mean(dim=(2, 3)), atol=1e-6)


def test_wrong_channels_names_the_expected_shape():
    with pytest.raises(ValueError, match=re.escape("(N, 1, 32, 32)")) as info:
        models.LeNet5()(torch.zeros(2, 3, 32, 32))
    assert "(2, 3, 32, 32)" in str(info.value) and "in_channels=1" in str(info.value)


def test_wrong_size_for_the_fc_head():
    with pytest.raises(ValueError, match=re.escape("(N, 1, 32, 32)")) as info:
        models.LeNet5()(torch.zeros(2, 1, 28, 28))
    assert "image_size=32" in str(info.value) and "gap" in str(info.value)


def test_missing_batch_dimension_gives_a_hint():
    with pytest.raises(ValueError, match="unsqueeze"):
        models.LeNet5()(torch.zeros(1, 32, 32))


def test_gap_head_rejects_inputs_smaller_than_16():
    with pytest.raises(ValueError, match="H, W >= 16"):
        models.LeNet5(head="gap")(torch.zeros(1, 1, 15, 40))
    with pytest.raises(ValueError, match=re.escape("(N, 3, H, W)")):
        models.LeNet5(head="gap", in_channels=3)(torch.zeros(1, 1, 32, 32))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"head": "mlp"}, "head must be one of"),
        ({"image_size": 12}, "at least 16x16"),
        ({"num_classes": 0}, "num_classes must be a positive integer"),
        ({"in_channels": 1.5}, "in_channels must be a positive integer"),
    ],
)
def test_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.LeNet5(**kwargs)


def test_registry():
    assert models.MODELS["lenet5"] is models.LeNet5
    model = models.build("lenet5", num_classes=3)
    assert model(torch.zeros(1, 1, 32, 32)).shape == (1, 3)
    with pytest.raises(ValueError, match="unknown model 'lenet6'.*lenet5"):
        models.build("lenet6")


def test_importing_course_does_not_import_torch_or_models():
    code = "import sys, course; print('torch' in sys.modules, 'course.models' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- residual networks (L06)


def basic_block_closed_form(c_in: int, c_out: int, stride: int) -> int:
    """Two 3x3 convolutions without bias, each with batch norm (γ, β), plus the projection."""
    main = 9 * c_in * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out
    projection = c_in * c_out + 2 * c_out if (stride != 1 or c_in != c_out) else 0
    return main + projection


def bottleneck_closed_form(c_in: int, mid: int, stride: int) -> int:
    """1x1 (c_in → mid), 3x3 (mid → mid), 1x1 (mid → 4·mid), each with batch norm."""
    out = 4 * mid
    main = c_in * mid + 2 * mid + 9 * mid * mid + 2 * mid + mid * out + 2 * out
    projection = c_in * out + 2 * out if (stride != 1 or c_in != out) else 0
    return main + projection


def resnet_closed_form(block, layers, widths, num_classes=10, in_channels=3) -> int:
    total = 9 * in_channels * widths[0] + 2 * widths[0]  # stem: 3x3 conv + batch norm
    channels = widths[0]
    for k, (count, width) in enumerate(zip(layers, widths, strict=True)):
        for i in range(count):
            stride = 2 if (k > 0 and i == 0) else 1
            if block == "basic":
                total += basic_block_closed_form(channels, width, stride)
                channels = width
            else:
                total += bottleneck_closed_form(channels, width, stride)
                channels = 4 * width
    return total + (channels + 1) * num_classes


@pytest.mark.parametrize("c_in, c_out, stride", [(16, 16, 1), (16, 32, 2), (8, 24, 1), (32, 32, 2)])
def test_basic_block_parameters_and_projection(c_in, c_out, stride):
    block = models.BasicBlock(c_in, c_out, stride)
    assert models.count_parameters(block) == basic_block_closed_form(c_in, c_out, stride)
    projected = stride != 1 or c_in != c_out
    assert isinstance(block.shortcut, nn.Identity) != projected
    if projected:
        conv = block.shortcut[0]
        assert conv.kernel_size == (1, 1) and conv.stride == (stride, stride)
        assert isinstance(block.shortcut[1], nn.BatchNorm2d)
    out = block(torch.randn(2, c_in, 9, 10))
    assert out.shape == (2, c_out, -(-9 // stride), -(-10 // stride))
    assert (out >= 0).all()  # the ReLU comes after the addition


@pytest.mark.parametrize("c_in, mid, stride", [(64, 16, 1), (16, 16, 1), (64, 32, 2), (128, 32, 1)])
def test_bottleneck_parameters_and_projection(c_in, mid, stride):
    block = models.Bottleneck(c_in, mid, stride)
    assert models.Bottleneck.expansion == 4
    assert models.count_parameters(block) == bottleneck_closed_form(c_in, mid, stride)
    assert isinstance(block.shortcut, nn.Identity) == (stride == 1 and c_in == 4 * mid)
    assert block.conv2.stride == (stride, stride)  # v1.5: the stride on the 3x3
    assert block(torch.randn(2, c_in, 8, 8)).shape == (2, 4 * mid, 8 // stride, 8 // stride)


def _torchvision_block(kind: str, c_in: int, width: int, stride: int):
    """torchvision's own block with the same shapes, as the independent reference."""
    from torchvision.models import resnet as tv

    Block = tv.BasicBlock if kind == "basic" else tv.Bottleneck
    out = width * Block.expansion
    downsample = None
    if stride != 1 or c_in != out:
        downsample = nn.Sequential(tv.conv1x1(c_in, out, stride), nn.BatchNorm2d(out))
    return Block(c_in, width, stride, downsample)


@pytest.mark.parametrize(
    "kind, c_in, width, stride",
    [("basic", 8, 8, 1), ("basic", 8, 16, 2), ("bottleneck", 32, 8, 1), ("bottleneck", 16, 8, 2)],
)
@pytest.mark.parametrize("train_mode", [False, True])
def test_blocks_match_torchvision(kind, c_in, width, stride, train_mode):
    torch.manual_seed(0)
    ours = models.BasicBlock(c_in, width, stride) if kind == "basic" else models.Bottleneck(
        c_in, width, stride
    )
    reference = _torchvision_block(kind, c_in, width, stride)
    for m in reference.modules():  # non-trivial batch-norm statistics and affine parameters
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    state = {k.replace("downsample", "shortcut"): v for k, v in reference.state_dict().items()}
    ours.load_state_dict(state)  # strict: the same tensors under torchvision's names
    ours.train(train_mode), reference.train(train_mode)
    x = torch.randn(3, c_in, 11, 11)
    assert torch.allclose(ours(x), reference(x), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"block": "bottleneck"},
        {"layers": (1, 1, 1, 1), "widths": (8, 16, 32, 64), "num_classes": 6},
        {"layers": (3,), "widths": (12,), "in_channels": 1},
        {"block": "bottleneck", "layers": (1, 2), "widths": (4, 8), "num_classes": 2},
    ],
)
def test_resnet_parameters_against_closed_form(kwargs):
    model = models.ResNet(**kwargs)
    full = {"block": "basic", "layers": (2, 2, 2), "widths": (16, 32, 64)} | kwargs
    assert models.count_parameters(model) == resnet_closed_form(**full)


@pytest.mark.parametrize(
    "block, layers, name",
    [("basic", (2, 2, 2, 2), "resnet18"), ("bottleneck", (3, 4, 6, 3), "resnet50")],
)
def test_resnet_at_imagenet_widths_matches_torchvision_but_for_the_stem(block, layers, name):
    """Same stages as torchvision's ResNet-18/50; only the stem differs: a 3x3 convolution
    (27·64 weights) instead of 7x7 (147·64), and no max pooling (no parameters)."""
    import torchvision

    with torch.device("meta"):
        reference = getattr(torchvision.models, name)(weights=None, num_classes=1000)
        ours = models.ResNet(block, layers, (64, 128, 256, 512), num_classes=1000)
    expected = models.count_parameters(reference) - 7 * 7 * 3 * 64 + 3 * 3 * 3 * 64
    assert models.count_parameters(ours) == expected
    assert ours.feature_dim == reference.fc.in_features


def test_resnet_structure_and_shapes():
    model = models.ResNet()
    assert [name for name, _ in model.named_children()] == [
        "stem", "layer1", "layer2", "layer3", "pool", "fc"
    ]
    assert isinstance(model.fc, nn.Linear) and model.fc.in_features == model.feature_dim == 64
    stem_conv = model.stem[0]
    assert stem_conv.kernel_size == (3, 3) and isinstance(model.stem[1], nn.BatchNorm2d)
    assert [len(model.layer1), len(model.layer2), len(model.layer3)] == [2, 2, 2]
    assert model.layer1[0].conv1.stride == (1, 1)
    assert model.layer2[0].conv1.stride == model.layer3[0].conv1.stride == (2, 2)
    assert model.layer2[1].conv1.stride == (1, 1)
    model.eval()  # batch norm with running statistics, so both passes below agree
    x = torch.randn(4, 3, 32, 32)
    z = model.stem(x)
    sizes = []
    for layer in (model.layer1, model.layer2, model.layer3):
        z = layer(z)
        sizes.append(tuple(z.shape[1:]))
    assert sizes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert torch.allclose(model.features(x), z.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(model(x), model.fc(model.features(x)))


@pytest.mark.parametrize("shape", [(8, 8), (32, 32), (13, 40), (64, 64)])
def test_resnet_accepts_any_size_from_8(shape):
    assert models.ResNet(num_classes=5)(torch.randn(2, 3, *shape)).shape == (2, 5)


@pytest.mark.parametrize("name", ["resnet", "resnet_bottleneck"])
def test_resnet_gradients_reach_every_parameter(name):
    torch.manual_seed(0)
    model = models.build(name, num_classes=4)
    loss = F.cross_entropy(model(torch.randn(3, 3, 16, 16)), torch.tensor([0, 1, 3]))
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname


def test_resnet_input_errors():
    model = models.ResNet()
    with pytest.raises(ValueError, match=re.escape("(N, 3, H, W) with H, W >= 8")) as info:
        model(torch.zeros(2, 1, 32, 32))
    assert "(2, 1, 32, 32)" in str(info.value)
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="H, W >= 8"):
        model(torch.zeros(1, 3, 7, 32))
    with pytest.raises(ValueError, match="torch.Tensor"):
        model.features([[1.0]])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"block": "wide"}, "block must be one of"),
        ({"layers": (2, 2), "widths": (16, 32, 64)}, "same length"),
        ({"layers": (), "widths": ()}, "non-empty"),
        ({"layers": (2, 0, 2)}, "every entry of layers must be a positive integer"),
        ({"widths": (16, 32.0, 64)}, "every entry of widths"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_resnet_constructor_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.ResNet(**kwargs)


def test_block_constructor_errors():
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        models.BasicBlock(16, 16, stride=0)
    with pytest.raises(ValueError, match="mid_channels"):
        models.Bottleneck(16, -4)


def test_resnets_registered():
    assert isinstance(models.build("resnet"), models.ResNet)
    assert models.build("resnet").block == "basic"
    bottleneck = models.build("resnet_bottleneck", num_classes=6)
    assert bottleneck.block == "bottleneck" and bottleneck.fc.out_features == 6
    assert bottleneck.feature_dim == 4 * 64


# ---------------------------------------------------------------- compact AlexNet, VGG, GoogLeNet


def conv_params(c_in: int, c_out: int, k: int) -> int:
    return (k * k * c_in + 1) * c_out


def test_alexnet_parameters_and_layers():
    convs = (
        conv_params(3, 32, 5) + conv_params(32, 64, 5) + conv_params(64, 96, 3)
        + conv_params(96, 96, 3) + conv_params(96, 64, 3)
    )
    fcs = (576 + 1) * 256 + (256 + 1) * 256 + (256 + 1) * 10
    model = models.AlexNet()
    assert models.count_parameters(model) == convs + fcs
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.Conv2d) == 5 and kinds.count(nn.Linear) == 3
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 3 and all(p.kernel_size == 3 and p.stride == 2 for p in pools)
    assert kinds.count(nn.Dropout) == 2 and nn.LocalResponseNorm not in kinds
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in models.AlexNet(lrn=True).modules()) == 2
    x = torch.randn(2, 3, 32, 32)
    assert model.features(x).shape == (2, 64, 3, 3)
    assert model(x).shape == models.AlexNet(lrn=True)(x).shape == (2, 10)
    assert model(torch.randn(1, 3, 15, 20)).shape == (1, 10)
    with pytest.raises(ValueError, match="H, W >= 15"):
        model(torch.randn(1, 3, 14, 32))


def test_vgg_only_3x3_convolutions_and_parameters():
    model = models.VGG()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 6 and all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    expected = (
        conv_params(3, 32, 3) + conv_params(32, 32, 3) + conv_params(32, 64, 3)
        + conv_params(64, 64, 3) + conv_params(64, 128, 3) + conv_params(128, 128, 3)
        + (512 + 1) * 256 + (256 + 1) * 256 + (256 + 1) * 10
    )
    assert models.count_parameters(model) == expected
    assert model.features(torch.randn(2, 3, 32, 32)).shape == (2, 128, 4, 4)
    bn = models.VGG(stages=((8,), (16, 16)), batch_norm=True, num_classes=3)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 3
    assert bn(torch.randn(2, 3, 4, 4)).shape == (2, 3)
    with pytest.raises(ValueError, match="H, W >= 4"):
        bn(torch.randn(2, 3, 3, 8))
    with pytest.raises(ValueError, match="stages must be"):
        models.VGG(stages=((8,), ()))


def inception_closed_form(i, c1, c3r, c3, c5r, c5, pp):
    return (
        conv_params(i, c1, 1) + conv_params(i, c3r, 1) + conv_params(c3r, c3, 3)
        + conv_params(i, c5r, 1) + conv_params(c5r, c5, 5) + conv_params(i, pp, 1)
    )


@pytest.mark.parametrize(
    "config",
    [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64), (5, 1, 2, 3, 1, 2, 4)],
)
def test_inception_module(config):
    torch.manual_seed(0)
    block = models.Inception(*config)
    assert models.count_parameters(block) == inception_closed_form(*config)
    _, c1, c3r, c3, c5r, c5, pp = config
    assert block.out_channels == c1 + c3 + c5 + pp
    x = torch.randn(2, config[0], 9, 7)
    out = block(x)
    assert out.shape == (2, c1 + c3 + c5 + pp, 9, 7)
    # the branches, written with torch.nn.functional, concatenated in the order 1, 3, 5, pool
    def cr(conv, z):
        return F.relu(F.conv2d(z, conv[0].weight, conv[0].bias, padding=conv[0].padding))

    b1 = cr(block.branch1, x)
    b3 = cr(block.branch3[1], cr(block.branch3[0], x))
    b5 = cr(block.branch5[1], cr(block.branch5[0], x))
    bp = cr(block.branch_pool[1], F.max_pool2d(x, 3, stride=1, padding=1))
    assert block.branch5[1][0].kernel_size == (5, 5)
    assert torch.allclose(out, torch.cat([b1, b3, b5, bp], dim=1), atol=1e-5)


def test_googlenet_compact():
    model = models.GoogLeNet(num_classes=6)
    assert sum(isinstance(m, models.Inception) for m in model.modules()) == 4
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 6)
    assert model.fc.in_features == model.inception4b.out_channels
    with pytest.raises(ValueError, match="got 1.2"):
        models.GoogLeNet(dropout=1.2)
    with pytest.raises(ValueError, match="c5r"):
        models.Inception(16, 8, 8, 8, 0, 8, 8)


@pytest.mark.parametrize("name", ["alexnet", "vgg", "inception", "resnet", "resnet_bottleneck"])
def test_compact_models_registered_and_trainable(name):
    torch.manual_seed(0)
    model = models.build(name, num_classes=6)
    x = torch.randn(4, 3, 32, 32)
    loss = F.cross_entropy(model(x), torch.tensor([0, 1, 2, 5]))
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, pname
    with pytest.raises(ValueError, match=re.escape("(N, 3, H, W)")):
        model(torch.randn(4, 1, 32, 32))

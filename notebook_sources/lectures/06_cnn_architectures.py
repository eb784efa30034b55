# %% [markdown]
# # Lecture 06 — CNN architectures
#
# Lecture 05 ended with LeNet-5: two convolutions, 62 thousand parameters, handwritten digits.
# Twenty years later the same ingredients — convolution, non-linearity, pooling, a classifier
# head — won the ImageNet challenge, and in the four years after that the winning networks went
# from 8 to 152 layers. This lecture walks through the four designs that marked that road:
# **AlexNet**, **VGG**, **GoogLeNet/Inception** and **ResNet**. For each we write the new idea
# as code, count what it costs (parameters and multiply-adds) and finally train compact
# versions of all of them on the course's shapes data set.
#
# **Learning goals.** After this lecture you can
# 1. say what changed from AlexNet to ResNet and why depth needed new ideas;
# 2. compute the parameters and the receptive field of a stack of 3x3 convolutions and compare
#    it with one large filter;
# 3. write an Inception module and a residual block as `nn.Module` classes and compute what
#    a 1x1 bottleneck saves;
# 4. count parameters and multiply-adds of any PyTorch model with `FlopCounterMode` on the
#    `meta` device, and explain why counted numbers can differ from a paper's table;
# 5. read a comparison of accuracy against compute.

# %% setup

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from course import conv, counting, data, grading, models, train

# %% [markdown]
# ## 1. ImageNet and the trend to depth
#
# The ImageNet Large Scale Visual Recognition Challenge (ILSVRC, 2010–2017) asked for the
# class of 1.28 million training photos among 1,000 classes, scored by the **top-5 error**:
# a test image counts as wrong when its true class is not among the network's five best
# guesses. The winners below are taken from the papers and the challenge results; the first
# two years were won by hand-designed features with linear classifiers, not by networks.

# %%
winners = [  # (year, entry, weighted layers or None, top-5 error in %)
    (2010, "NEC-UIUC (features + SVM)", None, 28.2),
    (2011, "XRCE (Fisher vectors)", None, 25.8),
    (2012, "AlexNet", 8, 16.4),
    (2013, "ZFNet", 8, 11.7),
    (2014, "GoogLeNet", 22, 6.7),
    (2015, "ResNet", 152, 3.57),
]
fig, ax = plt.subplots(figsize=(7, 3.6))
years = [w[0] for w in winners]
errors = [w[3] for w in winners]
colors = ["tab:gray" if w[2] is None else "tab:blue" for w in winners]
ax.bar(years, errors, color=colors)
for year, name, depth, error in winners:
    label = f"{name.split(' ')[0]}\n{depth} layers" if depth else name.split(" ")[0]
    ax.text(year, error + 0.6, f"{label}\n{error}%", ha="center", va="bottom", fontsize=8)
ax.set(xlabel="ILSVRC year", ylabel="top-5 error (%)", ylim=(0, 38),
       title="ImageNet classification winners (grey: no neural network)")
ax.set_xticks(years)
plt.show()

# %% [markdown]
# The error fell by a factor of eight in six years while depth grew from 8 to 152. Depth was
# not free: each step needed an idea that made the deeper network *trainable* (ReLU and
# dropout for AlexNet, small filters for VGG, cheap 1x1 bottlenecks for GoogLeNet, identity
# shortcuts for ResNet). The rest of the lecture takes them in order.
#
# Throughout we count two costs of a network:
# - **parameters**: the numbers the optimizer learns (memory, and the risk of overfitting);
# - **multiply-adds (MACs)** of one forward pass: the compute. A convolution with $C_{in}$
#   input and $C_{out}$ output channels, a $k\times k$ kernel and an $H'\times W'$ output costs
#   $$\text{MACs} = H' W' \cdot C_{out} \cdot k^2 C_{in}.$$
#   One multiply-add is two floating-point operations, so FLOPs $= 2\times$ MACs — but many
#   papers (ResNet's among them) write "FLOPs" for multiply-adds.
#
# `course.counting.count_macs` lets PyTorch count: it runs one forward pass under
# `torch.utils.flop_counter.FlopCounterMode` and halves the FLOPs. Built on the `meta`
# device, a model has shapes but no data, so counting even a 60-million-parameter network
# allocates nothing and takes about a second.

# %%
layer = nn.Conv2d(64, 128, kernel_size=3, padding=1)
by_formula = 56 * 56 * 128 * 3 * 3 * 64  # H'W' · C_out · k²C_in
print(f"by formula: {by_formula:,}   counted: {counting.count_macs(layer, (1, 64, 56, 56)):,}")

# %% [markdown]
# ## 2. AlexNet (2012)
#
# Krizhevsky, Sutskever and Hinton's network won ILSVRC 2012 with 16.4 % top-5 error, ten
# points ahead of the runner-up. It is LeNet made bigger, with a handful of changes that
# each made a difference:
#
# - **8 weighted layers**: 5 convolutions (11x11 stride 4, then 5x5, then three 3x3) and
#   3 fully connected layers (4096, 4096, 1000);
# - **ReLU** instead of tanh: the paper reports reaching 25 % training error six times faster;
# - **overlapping max pooling**, window 3 and stride 2 (windows share a row of pixels), which
#   lowered the error by about 0.4 points compared with 2x2 stride 2;
# - **dropout** (probability 0.5) in the first two fully connected layers, against
#   overfitting (lecture 07);
# - **data augmentation**: random 224x224 crops of 256x256 images, flips, colour jitter
#   (lecture 08);
# - **local response normalization (LRN)**: each activation divided by
#   $\big(k + \alpha\sum_{j} a_j^2\big)^\beta$ over 5 neighbouring channels; batch norm
#   (lecture 07) has since replaced it, and torchvision's AlexNet leaves it out;
# - **SGD with momentum 0.9 and weight decay 0.0005**, batch 128, learning rate 0.01 divided
#   by 10 when the validation error stopped improving;
# - **two GPUs** (3 GB each), with the channels split between them.
#
# Where do its 60 million parameters live? We count torchvision's version layer by layer.

# %%
with torch.device("meta"):
    alexnet = torchvision.models.alexnet(weights=None)
rows = [(name, counting.count_parameters(m)) for name, m in alexnet.named_modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))]
total = counting.count_parameters(alexnet)
for name, n in rows:
    print(f"{name:14s} {n:>11,}  {n / total:6.1%}")
fc_share = sum(n for name, n in rows if name.startswith("classifier")) / total
print(f"total {total:,} parameters; the fully connected layers hold {fc_share:.1%}")

# %% [markdown]
# The convolutions do most of the computing but the fully connected layers hold almost all
# the parameters — the first one alone connects 256·6·6 = 9,216 numbers to 4,096 units.
# Every later design attacks this head.
#
# The course's compact AlexNet keeps the recipe (5 conv + 3 FC, ReLU, overlapping 3/2
# pooling, dropout, optional LRN) at 32x32 pixels: the 11x11 stride-4 layer becomes 5x5
# stride 1 and the widths shrink. Its shapes, layer by layer:

# %%
compact_alexnet = models.AlexNet(num_classes=6)
z = torch.zeros(1, 3, 32, 32)
for layer in [*compact_alexnet.features, compact_alexnet.pool, *compact_alexnet.classifier]:
    z = layer(z)
    if not isinstance(layer, (nn.ReLU, nn.Dropout, nn.Identity)):
        print(f"{type(layer).__name__:18s} -> {tuple(z.shape)}")

# %% [markdown]
# **Check yourself.** Overlapping pooling (window 3, stride 2) turns a 32x32 map into 15x15.
# What would 2x2 stride-2 pooling give, and how many input pixels do neighbouring 3/2
# windows share?
#
# <details><summary>Answer</summary>
#
# $\lfloor (32-2)/2\rfloor + 1 = 16$ for 2x2 stride 2 and $\lfloor (32-3)/2\rfloor + 1 = 15$
# for 3/2 (`conv.output_size(32, 3, 2)`). Neighbouring 3/2 windows share one row (or column)
# of pixels: they start 2 apart and are 3 wide.
# </details>
#
# ## 3. VGG (2014): only 3x3 convolutions
#
# Simonyan and Zisserman (Oxford's Visual Geometry Group) asked a simple question: what if a
# network used **only 3x3 convolutions** (stride 1, padding 1) and 2x2 max pooling, and got
# deeper? VGG-16 and VGG-19 (13 or 16 convolutions + 3 FC layers) took second place in ILSVRC
# 2014 with 7.3 % top-5 error.
#
# Why 3x3? A stack of three 3x3 convolutions **sees a 7x7 region** of its input, like one 7x7
# convolution, but with $C$ channels in and out it has $3\cdot 9C^2 = 27C^2$ weights instead
# of $49C^2$, and three ReLUs instead of one — more non-linearity for fewer parameters.

# %%
C = 256
three_3x3 = sum(conv.conv_params(C, C, 3, bias=False) for _ in range(3))
one_7x7 = conv.conv_params(C, C, 7, bias=False)
print("receptive field of three 3x3:", conv.receptive_field([(3, 1)] * 3),
      "| of one 7x7:", conv.receptive_field([(7, 1)]))
print(f"weights at C={C}: three 3x3 = {three_3x3:,}, one 7x7 = {one_7x7:,} "
      f"(ratio {three_3x3 / one_7x7:.2f} = 27/49)")

# %% [markdown]
# The receptive field grows by 2 pixels per 3x3 layer, and each 2x2 pooling doubles the
# step, so a deep stack ends up seeing the whole image. The price is compute: VGG-16 keeps
# many channels at high resolution. VGG's features are still used today, for example in
# perceptual and style losses (lecture 10), because its plain stack of 3x3 layers gives
# well-behaved feature maps.

# %%
with torch.device("meta"):
    vgg16 = torchvision.models.vgg16(weights=None)
vgg_convs = sum(isinstance(m, nn.Conv2d) for m in vgg16.modules())
vgg_fcs = sum(isinstance(m, nn.Linear) for m in vgg16.modules())
print(f"VGG-16: {vgg_convs} conv + {vgg_fcs} FC layers, all convolutions 3x3: "
      f"{all(m.kernel_size == (3, 3) for m in vgg16.modules() if isinstance(m, nn.Conv2d))}")
vgg16_macs = counting.count_macs(vgg16)
print(f"{counting.count_parameters(vgg16) / 1e6:.1f} M parameters, "
      f"{vgg16_macs / 1e9:.2f} G multiply-adds at 224x224")

# %% [markdown]
# **Exercise.** A VGG stage replaces one 5x5 convolution (128 channels in and out, no bias)
# by two 3x3 convolutions with the same receptive field. How many weights does that save?

# %%
# exercise: 3x3 stack vs 5x5
answer = None  # your code here: weights of one 5x5 minus weights of two 3x3 (C = 128)
expected = (counting.count_parameters(nn.Conv2d(128, 128, 5, bias=False))
            - 2 * counting.count_parameters(nn.Conv2d(128, 128, 3, bias=False)))
grading.exercise("weights saved", answer, expected,
                 hint="a k x k convolution with C channels in and out has k·k·C·C weights")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: 3x3 stack vs 5x5
# answer = 5 * 5 * 128 * 128 - 2 * (3 * 3 * 128 * 128)  # 25C² − 18C² = 7C²
# expected = (counting.count_parameters(nn.Conv2d(128, 128, 5, bias=False))
#             - 2 * counting.count_parameters(nn.Conv2d(128, 128, 3, bias=False)))
# grading.exercise("weights saved", answer, expected,
#                  hint="a k x k convolution with C channels in and out has k·k·C·C weights")
# ```
# </details>
#
# ## 4. GoogLeNet and the Inception module (2014)
#
# GoogLeNet (Szegedy et al.) won ILSVRC 2014 with **6.7 %** top-5 error. Instead of choosing
# one filter size per layer, its **Inception module** runs four branches in parallel and
# concatenates their outputs along the channels:
#
# 1. a 1x1 convolution;
# 2. a 1x1 convolution that *reduces* the channels, then a 3x3 convolution;
# 3. a 1x1 reduction, then a 5x5 convolution;
# 4. 3x3 max pooling (stride 1), then a 1x1 projection.
#
# All branches keep the height and width, so the outputs stack: the module has
# $c_1 + c_3 + c_5 + c_{pool}$ output channels. Here it is as a module you can edit:

# %%
class Inception(nn.Module):
    """x: (N, in_ch, H, W) -> (N, c1 + c3 + c5 + pool_proj, H, W)."""

    def __init__(self, in_ch, c1, c3r, c3, c5r, c5, pool_proj):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Conv2d(in_ch, c1, 1), nn.ReLU())
        self.branch3 = nn.Sequential(
            nn.Conv2d(in_ch, c3r, 1), nn.ReLU(),  # 1x1 bottleneck
            nn.Conv2d(c3r, c3, 3, padding=1), nn.ReLU(),
        )
        self.branch5 = nn.Sequential(
            nn.Conv2d(in_ch, c5r, 1), nn.ReLU(),  # 1x1 bottleneck
            nn.Conv2d(c5r, c5, 5, padding=2), nn.ReLU(),
        )
        self.branch_pool = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1), nn.Conv2d(in_ch, pool_proj, 1), nn.ReLU()
        )

    def forward(self, x):
        branches = [self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)]
        return torch.cat(branches, dim=1)  # concatenate along the channels


block3a = Inception(192, 64, 96, 128, 16, 32, 32)  # GoogLeNet's module "3a"
x = torch.randn(2, 192, 28, 28)
print("inception (3a):", tuple(x.shape), "->", tuple(block3a(x).shape))
print("parameters:", counting.count_parameters(block3a),
      "| course.models.Inception:", counting.count_parameters(models.Inception(192, 64, 96, 128,
                                                                               16, 32, 32)))

# %% [markdown]
# **Why the 1x1 bottleneck?** A 1x1 convolution mixes channels at each pixel: it is a linear
# layer applied at every position. Placed before an expensive 5x5 convolution it first shrinks
# 192 channels to 16. The cost of module 3a's 5x5 branch at 28x28, with and without it:

# %%
direct = nn.Conv2d(192, 32, 5, padding=2)
reduced = nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2))
size = (1, 192, 28, 28)
for name, m in [("5x5 on 192 channels", direct), ("1x1 to 16, then 5x5", reduced)]:
    print(f"{name:22s} {counting.count_parameters(m):>8,} parameters "
          f"{counting.count_macs(m, size) / 1e6:7.1f} M multiply-adds")
print(f"the bottleneck divides the compute by "
      f"{counting.count_macs(direct, size) / counting.count_macs(reduced, size):.1f}")

# %% [markdown]
# **The whole network.** GoogLeNet stacks nine Inception modules (3a–5b) on a small stem:
# 22 weighted layers counted along the deepest path. It ends with **global average pooling**
# (lecture 05) and a single 1024 → 1000 linear layer instead of AlexNet's big fully connected
# head. To help the gradient reach the lower layers it adds two **auxiliary classifiers** on
# modules 4a and 4d during training only; their losses are added with weight 0.3:
# $$L = L_{main} + 0.3\,(L_{aux1} + L_{aux2}).$$
#
# The paper says GoogLeNet uses "12 times fewer parameters" than AlexNet (about 5 million),
# while torchvision lists 6.6 million. Let us count instead of guessing. First the network as
# the paper's table describes it, built with the `Inception` class above (no batch norm,
# with biases, LRN after the stem, no auxiliary classifiers):

# %%
def googlenet_paper(num_classes=1000):
    modules = [
        nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, 2, ceil_mode=True),
        nn.LocalResponseNorm(5), nn.Conv2d(64, 64, 1), nn.ReLU(),
        nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(), nn.LocalResponseNorm(5),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Inception(192, 64, 96, 128, 16, 32, 32), Inception(256, 128, 128, 192, 32, 96, 64),
        nn.MaxPool2d(3, 2, ceil_mode=True),
        Inception(480, 192, 96, 208, 16, 48, 64), Inception(512, 160, 112, 224, 24, 64, 64),
        Inception(512, 128, 128, 256, 24, 64, 64), Inception(512, 112, 144, 288, 32, 64, 64),
        Inception(528, 256, 160, 320, 32, 128, 128), nn.MaxPool2d(3, 2, ceil_mode=True),
        Inception(832, 256, 160, 320, 32, 128, 128), Inception(832, 384, 192, 384, 48, 128, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(1024, num_classes),
    ]  # fmt: skip
    return nn.Sequential(*modules)


with torch.device("meta"):
    paper = googlenet_paper()
    tv_main = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    tv_aux = torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
n_paper, n_main, n_aux = (counting.count_parameters(m) for m in (paper, tv_main, tv_aux))
n_bn = sum(m.weight.numel() + m.bias.numel() for m in tv_main.modules()
           if isinstance(m, nn.BatchNorm2d))
print(f"paper's layout, built here:         {n_paper / 1e6:.2f} M parameters, "
      f"{counting.count_macs(paper) / 1e9:.2f} G multiply-adds")
print(f"torchvision, no auxiliary heads:     {n_main / 1e6:.2f} M "
      f"(batch-norm γ, β: {n_bn:,}); 'branch 5x5' kernel: "
      f"{tv_main.inception3a.branch3[1].conv.kernel_size}")
print(f"torchvision with auxiliary heads:    {n_aux / 1e6:.2f} M "
      f"(the two heads: {(n_aux - n_main) / 1e6:.2f} M)")
print(f"AlexNet / 12 = {total / 12 / 1e6:.2f} M")
paper_table_k = [2.7, 112, 159, 380, 364, 437, 463, 580, 840, 1072, 1388, 1000]  # Table 1
print(f"the paper's Table 1, 'params' column summed: {sum(paper_table_k) / 1e3:.2f} M")

# %% [markdown]
# Where do the 0.37 M between the paper's layout and torchvision's go? Three differences,
# each counted:

# %%
tv_modules = [m for m in tv_main.modules() if isinstance(m, type(tv_main.inception3a))]
biases = sum(m.out_channels for m in tv_main.modules() if isinstance(m, nn.Conv2d))
kernel_5_vs_3 = sum((25 - 9) * c.in_channels * c.out_channels
                    for c in (m.branch3[1].conv for m in tv_modules))
print(f"conv biases dropped by torchvision:        -{biases:,}")
print(f"3x3 instead of 5x5 in {len(tv_modules)} modules:          -{kernel_5_vs_3:,}")
print(f"batch-norm γ and β added:                  +{n_bn:,}")
print(f"together: {n_bn - biases - kernel_5_vs_3:,}  = torchvision − paper layout: "
      f"{n_main - n_paper:,}")

# %% [markdown]
# What the counts say:
# - The paper's own layout holds 7.0 M parameters, and its Table 1 adds up to 6.8 M; "12 times
#   fewer than AlexNet" (61 M / 12 ≈ 5 M) is a round figure from the text.
# - torchvision's 6.6 M is the network **without** the auxiliary classifiers; with them it is
#   13.0 M, because each auxiliary head has a 2048 → 1024 fully connected layer. So the
#   auxiliary heads are not what separates 6.6 M from the paper.
# - The difference to the paper's layout is torchvision's layer choices, and they add up
#   exactly: batch norm after every convolution (+15 thousand γ and β), convolutions without
#   bias, and — a quirk kept for compatibility with the released weights — a **3x3** kernel
#   in the branch the paper specifies as 5x5, which removes by far the most.
#
# **Exercise.** GoogLeNet's module 4a is `Inception(480, 192, 96, 208, 16, 48, 64)`. How many
# channels does it output?

# %%
# exercise: inception channels
answer = None  # your code here: the number of output channels of module 4a
expected = Inception(480, 192, 96, 208, 16, 48, 64)(torch.zeros(1, 480, 14, 14)).shape[1]
grading.exercise("channels out of inception 4a", answer, expected,
                 hint="only the last convolution of each branch decides its output channels")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: inception channels
# answer = 192 + 208 + 48 + 64  # c1 + c3 + c5 + pool_proj; the reductions 96, 16 do not count
# expected = Inception(480, 192, 96, 208, 16, 48, 64)(torch.zeros(1, 480, 14, 14)).shape[1]
# grading.exercise("channels out of inception 4a", answer, expected,
#                  hint="only the last convolution of each branch decides its output channels")
# ```
# </details>
#
# ## 5. ResNet (2015): learning residuals
#
# **Degradation.** Stacking more plain layers eventually makes a network *worse* — and worse
# on the **training** set, so this is not overfitting. He et al. showed a 56-layer plain
# network with higher training error than a 20-layer one on CIFAR-10. Yet the deeper network
# could in principle copy the shallower one and set its extra layers to the identity: the
# optimizer just fails to find that solution (gradients that shrink or explode through many
# layers are part of the story; lecture 07 measures them layer by layer).
#
# **Residual learning.** Let a block learn the *change* $F(x)$ and add its input back:
# $$H(x) = F(x) + x.$$
# If the identity is what the block should do, it only has to drive $F$ to zero — easy,
# all weights towards 0 — instead of fitting the identity through ReLUs and convolutions.
# And the "+ x" gives the gradient a path that skips the block:
# $\partial H/\partial x = \partial F/\partial x + I$.
#
# The **basic block** (ResNet-18/34) is two 3x3 conv + batch norm, the shortcut added before
# the last ReLU. When a block halves the resolution (stride 2) and doubles the channels, $x$
# no longer fits: the shortcut becomes a **projection**, a strided 1x1 convolution.

# %%
class ResidualBlock(nn.Module):
    """x: (N, c_in, H, W) -> (N, c_out, H / stride, W / stride)."""

    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:  # shapes differ: project x with a 1x1 convolution
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x):
        f = F.relu(self.bn1(self.conv1(x)))
        f = self.bn2(self.conv2(f))  # F(x)
        return F.relu(f + self.shortcut(x))  # H(x) = F(x) + x, then the ReLU


block = ResidualBlock(64, 128, stride=2)
print(tuple(block(torch.randn(2, 64, 32, 32)).shape), "| projection:",
      not isinstance(block.shortcut, nn.Identity))
print("same parameters as course.models.BasicBlock:",
      counting.count_parameters(block) == counting.count_parameters(models.BasicBlock(64, 128, 2)))

# %% [markdown]
# "Learning zero is easy", in code: set the last batch-norm scale $\gamma$ to zero (some
# implementations initialize it that way) and the block becomes exactly `relu(x)` — for
# non-negative inputs, as after a previous ReLU, the identity.

# %%
block = ResidualBlock(16, 16).eval()
nn.init.zeros_(block.bn2.weight)
x = torch.rand(2, 16, 8, 8)  # non-negative, like the output of a previous block
print("block(x) == x:", torch.equal(block(x), x))

# %% [markdown]
# The **bottleneck block** (ResNet-50/101/152) does the 3x3 work at a quarter of the width:
# 1x1 to reduce (256 → 64), 3x3, 1x1 to expand (64 → 256). At 256 channels it costs far less
# than two 3x3 convolutions at full width:

# %%
basic_256 = models.BasicBlock(256, 256)
bottleneck_256 = models.Bottleneck(256, 64)
pairs = [("basic (two 3x3 at 256)", basic_256), ("bottleneck 256-64-64-256", bottleneck_256)]
for name, m in pairs:
    print(f"{name:26s} {counting.count_parameters(m):>9,} parameters "
          f"{counting.count_macs(m, (1, 256, 56, 56)) / 1e6:7.1f} M MACs at 56x56")

# %% [markdown]
# **The family.** A ResNet is a stem (7x7 conv stride 2, 3x3 max pool) and four stages at
# 56, 28, 14 and 7 pixels with 64, 128, 256, 512 channels (×4 for bottlenecks); every stage
# after the first starts with a stride-2 block — the resolution halves while the filters
# double, so each stage costs about the same. Global average pooling and one linear layer
# finish. The depth counts the weighted layers along the main path: the stem conv, 2 or 3 per
# block, and the final fc. `counting.weighted_layers` counts `Conv2d` and `Linear` modules,
# leaving out the projection shortcuts.

# %%
blocks_per_stage = {}
with torch.device("meta"):
    resnets = {d: getattr(torchvision.models, f"resnet{d}")(weights=None)
               for d in (18, 34, 50, 101, 152)}
for d, m in resnets.items():
    blocks_per_stage[d] = [len(getattr(m, f"layer{k}")) for k in range(1, 5)]
    print(f"ResNet-{d:<3d} blocks per stage {blocks_per_stage[d]}, "
          f"weighted layers {counting.weighted_layers(m)}")
print("ResNet-34: 1 + 2·(3+4+6+3) + 1 =", 1 + 2 * sum(blocks_per_stage[34]) + 1)

# %% [markdown]
# **Compute.** The ResNet paper lists 1.8, 3.6, 3.8, 7.6 and 11.3 GFLOPs (which are
# multiply-adds) for 18/34/50/101/152. Our counter on torchvision's models:

# %%
paper_gflops = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
start = time.perf_counter()
resnet_macs = {d: counting.count_macs(m) for d, m in resnets.items()}
seconds = time.perf_counter() - start
print(f"{'model':11s} {'params':>8s} {'counted G MACs':>15s} {'paper':>6s}")
for d, m in resnets.items():
    print(f"ResNet-{d:<4d} {counting.count_parameters(m) / 1e6:7.2f}M {resnet_macs[d] / 1e9:15.2f} "
          f"{paper_gflops[d]:6.1f}")
print(f"(counting all five took {seconds:.1f} s on the meta device)")

# %% [markdown]
# 18 and 34 agree; 50, 101 and 152 are about 0.3 G higher. The reason is where the bottleneck
# puts its stride. In the paper ("v1") the first 1x1 convolution of a downsampling block has
# stride 2, so the 3x3 already runs at half resolution. torchvision follows a later variant
# ("v1.5") that puts the stride on the **3x3** convolution: the 3x3 sees the full-resolution
# map, which costs 4x more for that one convolution in each of three stages, and gives about
# half a point better accuracy. We can check the explanation by moving the stride back:

# %%
def to_v1(model):
    """Move the stride of each downsampling bottleneck from the 3x3 conv to the first 1x1."""
    for k in (2, 3, 4):
        first = getattr(model, f"layer{k}")[0]
        first.conv1.stride, first.conv2.stride = (2, 2), (1, 1)
    return model


for d in (50, 101, 152):
    with torch.device("meta"):
        v1 = to_v1(getattr(torchvision.models, f"resnet{d}")(weights=None))
    print(f"ResNet-{d} with the paper's stride placement: "
          f"{counting.count_macs(v1) / 1e9:.2f} G MACs (paper {paper_gflops[d]})")

# %% [markdown]
# With the stride where the paper put it, the counts fall to the paper's figures (up to the
# paper's rounding). ResNet-152 won ILSVRC 2015 (an ensemble reached 3.57 % top-5 error) and
# is *cheaper* than VGG-16 despite being almost ten times deeper.
#
# **Exercise.** A 32x32 map with 64 channels enters a stage whose first block has stride 2
# (3x3 kernel, padding 1) and 128 channels. What is the output height?

# %%
# exercise: stride-2 stage
answer = None  # your code here: output height of the stage
expected = models.BasicBlock(64, 128, stride=2)(torch.zeros(1, 64, 32, 32)).shape[2]
grading.exercise("output height", answer, expected,
                 hint="floor((n + 2·padding − kernel) / stride) + 1")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: stride-2 stage
# answer = (32 + 2 * 1 - 3) // 2 + 1  # 16: the stage halves the resolution
# expected = models.BasicBlock(64, 128, stride=2)(torch.zeros(1, 64, 32, 32)).shape[2]
# grading.exercise("output height", answer, expected,
#                  hint="floor((n + 2·padding − kernel) / stride) + 1")
# ```
# </details>
#
# **Exercise.** The first 3x3 convolution of that block maps 64 to 128 channels at stride 2.
# Compute its multiply-adds by the formula of section 1; the cell compares with the counter.

# %%
# exercise: MACs of a convolution
answer = None  # your code here: multiply-adds of Conv2d(64, 128, 3, stride=2, padding=1) on 32x32
expected = counting.count_macs(nn.Conv2d(64, 128, 3, stride=2, padding=1), (1, 64, 32, 32))
grading.exercise("multiply-adds", answer, expected, hint="H'·W'·C_out·k·k·C_in with H' = W' = 16")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: MACs of a convolution
# answer = 16 * 16 * 128 * 3 * 3 * 64  # 18,874,368
# expected = counting.count_macs(nn.Conv2d(64, 128, 3, stride=2, padding=1), (1, 64, 32, 32))
# grading.exercise("multiply-adds", answer, expected, hint="H'·W'·C_out·k·k·C_in with H' = W' = 16")
# ```
# </details>
#
# ## 6. Comparing the architectures
#
# Parameters and multiply-adds of the full-size models are counted on the `meta` device at
# 224x224. Measured speed needs real tensors, so we time only two small models (random
# weights, batch of one, best of a few runs, on this machine's CPU).

# %%
def ms_per_image(model, input_size, repeats=3):
    """Best-of-`repeats` wall time of one forward pass, in milliseconds per image."""
    model.eval()
    x = torch.randn(input_size)
    best = float("inf")
    with torch.no_grad():
        model(x)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            best = min(best, time.perf_counter() - start)
    return 1000 * best / input_size[0]


full = {"AlexNet": alexnet, "VGG-16": vgg16, "GoogLeNet": tv_main,
        **{f"ResNet-{d}": m for d, m in resnets.items()}}
full_macs = {f"ResNet-{d}": macs for d, macs in resnet_macs.items()}  # counted above
timed = {"AlexNet": torchvision.models.alexnet, "ResNet-18": torchvision.models.resnet18}
print(f"{'model (224x224)':16s} {'params':>8s} {'G MACs':>7s} {'ms/image':>9s}")
for name, m in full.items():
    macs = full_macs.get(name) or (vgg16_macs if name == "VGG-16" else counting.count_macs(m))
    ms = ms_per_image(timed[name](weights=None), (1, 3, 224, 224)) if name in timed else None
    print(f"{name:16s} {counting.count_parameters(m) / 1e6:7.1f}M "
          f"{macs / 1e9:7.2f} {f'{ms:9.1f}' if ms else '        –'}")

# %% [markdown]
# The compact versions in `course.models` keep each design's idea at 32x32 pixels and a few
# hundred thousand parameters, small enough to train on a CPU in seconds:

# %%
compact = {"LeNet-5": ("lenet5", {"in_channels": 3, "head": "gap"}),
           "AlexNet": ("alexnet", {}), "VGG": ("vgg", {}), "Inception": ("inception", {}),
           "ResNet": ("resnet", {}), "ResNet-bottleneck": ("resnet_bottleneck", {})}
compact_stats = {}
print(f"{'compact (32x32)':18s} {'params':>8s} {'M MACs':>7s} {'ms/image':>9s}")
for name, (key, kwargs) in compact.items():
    m = models.build(key, num_classes=6, **kwargs)
    macs = counting.count_macs(m, (1, 3, 32, 32))
    ms = ms_per_image(m, (32, 3, 32, 32), repeats=2)
    compact_stats[name] = (counting.count_parameters(m), macs, ms)
    print(f"{name:18s} {compact_stats[name][0] / 1e3:7.0f}k {macs / 1e6:7.1f} {ms:9.2f}")

# %% [markdown]
# Parameters and compute are different budgets. A fully connected weight is used once per
# image, a convolution weight once per output position, so networks whose convolutions run at
# high resolution (Inception, the ResNets) spend many more multiply-adds per parameter:

# %%
for name, (key, kwargs) in compact.items():
    m = models.build(key, num_classes=6, **kwargs)
    linear = [layer for layer in m.modules() if isinstance(layer, nn.Linear)]
    n_fc = sum(counting.count_parameters(layer) for layer in linear)
    params, macs, _ = compact_stats[name]
    print(f"{name:18s} {macs / params:6.0f} MACs per parameter, "
          f"{n_fc / params:5.1%} of the parameters in linear layers")

# %% [markdown]
# Measured time is a third budget and follows multiply-adds only roughly: on a CPU, many
# small layers (Inception's branches, the batch norms of the ResNets) cost more per
# multiply-add than a few large ones. Compare the "ms/image" and "M MACs" columns above.
#
# ## 7. Accuracy against compute on the shapes data set
#
# Finally we train two of the compact networks briefly on the course's generated shapes (six
# classes: lecture 05 used them too) and plot test accuracy against multiply-adds: the VGG
# (built with batch norm after each convolution, as torchvision's `vgg16_bn`; lecture 07
# explains batch norm) and the ResNet. To fit the time budget the images are 16x16 and
# training is short; the numbers printed below say how short. (The compact AlexNet, with
# dropout and no batch norm, and the Inception network need many more steps before they leave
# chance level on this data: try them in the optional exercise at the end of the section.)

# %%
image_size, n_train, n_test, num_epochs, batch_size, lr = 16, 2000, 500, 5, 32, 1e-3
X, y = data.make_shapes(n_train + n_test, image_size=image_size, seed=0)
X_train, y_train = torch.tensor(X[:n_train]), torch.tensor(y[:n_train])
X_test, y_test = torch.tensor(X[n_train:]), torch.tensor(y[n_train:])
train_loader = train.make_loader(X_train, y_train, batch_size=batch_size, shuffle=True, seed=0)
test_loader = train.make_loader(X_test, y_test, batch_size=250, shuffle=False)
print(f"{n_train} training and {n_test} test images of {image_size}x{image_size} pixels, "
      f"{num_epochs} epochs, batch {batch_size}, Adam with learning rate {lr:g}")
trained = {"VGG (batch norm)": ("vgg", {"batch_norm": True}), "ResNet": ("resnet", {})}

# %% [markdown]
# The VGG is trained with the loop written out: for each batch, forward, loss, zero the old
# gradients, backward, step; then accuracy on the test set in eval mode (batch norm uses its
# running averages) without gradients.

# %%
torch.manual_seed(0)
model = models.build("vgg", num_classes=6, batch_norm=True)
optimizer = torch.optim.Adam(model.parameters(), lr=lr)
loss_fn = nn.CrossEntropyLoss()
start = time.perf_counter()
for epoch in range(1, num_epochs + 1):
    model.train()
    for X_batch, y_batch in train_loader:
        y_hat = model(X_batch)  # (B, 6) logits
        loss = loss_fn(y_hat, y_batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        correct = sum((model(Xb).argmax(1) == yb).sum().item() for Xb, yb in test_loader)
    print(f"epoch {epoch}: last batch loss {loss.item():.3f}, test accuracy {correct / n_test:.3f}")
results = {"VGG (batch norm)": correct / n_test}
print(f"({time.perf_counter() - start:.1f} s)")

# %% [markdown]
# The ResNet goes through the same loop inside `train.fit`.

# %%
torch.manual_seed(0)
m = models.build("resnet", num_classes=6)
start = time.perf_counter()
history = train.fit(m, train_loader, num_epochs=num_epochs, lr=lr, val_loader=test_loader,
                    progress=False)
results["ResNet"] = history["val_acc"][-1]
print(f"ResNet test accuracy {results['ResNet']:.3f}  ({time.perf_counter() - start:.1f} s)")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
cost = {}
for name, acc in results.items():
    m = models.build(trained[name][0], num_classes=6, **trained[name][1])
    cost[name] = counting.count_macs(m, (1, 3, image_size, image_size)) / 1e6
    ax.scatter(cost[name], acc, s=counting.count_parameters(m) / 2e3, alpha=0.7)
    ax.annotate(name, (cost[name], acc), textcoords="offset points", xytext=(6, 4), fontsize=9)
ax.set(xlabel=f"multiply-adds per {image_size}x{image_size} image (millions)",
       ylabel="test accuracy", ylim=(0, 1.05), xlim=(0, 1.3 * max(cost.values())),
       title=f"Compact networks after {num_epochs} epochs on {n_train} shapes\n"
             "(marker area ∝ parameters; dashed: chance = 1/6)")
ax.axhline(1 / 6, color="gray", lw=0.8, ls="--")
plt.show()
print({name: f"{c:.1f} M multiply-adds" for name, c in cost.items()},
      f"ratio {max(cost.values()) / min(cost.values()):.2f}")

# %% [markdown]
# Read this plot with care: it is one seed, five epochs and 2,000 small images, so the
# accuracies are those of networks still learning, and a difference of a few points is noise.
# What it does show is the cost axis, printed under the plot. Lecture 07 explains the
# ingredients (batch norm, residual connections) that let deep networks train at all, and
# lecture 08 what more data and augmentation buy.
#
# *Optional exercise (no check, a few minutes of CPU):* train `models.build("alexnet",
# num_classes=6)` and `models.build("inception", num_classes=6)` the same way and add them to
# the plot; then train for 20 epochs. Which of the four leaves chance level last, and why might
# dropout without batch norm be slow to start?
#
# **Check yourself.** Why can a network with *more* parameters (the compact AlexNet) need
# *fewer* multiply-adds than one with fewer parameters (the compact ResNet)?
#
# <details><summary>Answer</summary>
#
# A fully connected weight is used once per image; a convolution weight is used once per
# output position. Almost half of the compact AlexNet's parameters sit in its linear layers
# and its later convolutions run on maps already pooled to 15x15 and 7x7, while the ResNet
# spends its parameters on convolutions that run at 32x32, 16x16 and 8x8 positions.
# </details>
#
# ## Summary
#
# - From 2012 to 2015 ImageNet winners went from 8 to 152 layers and from 16.4 % to 3.57 %
#   top-5 error; each step made depth trainable or cheaper.
# - **AlexNet**: ReLU, overlapping pooling, dropout, augmentation, momentum SGD with weight
#   decay, LRN, GPUs; 61 M parameters, most in the fully connected head.
# - **VGG**: only 3x3 convolutions; three of them see 7x7 with 27/49 of the weights and three
#   non-linearities.
# - **GoogLeNet**: Inception modules of parallel 1x1/3x3/5x5/pool branches, 1x1 bottlenecks,
#   global average pooling, auxiliary classifiers (weight 0.3); 7.0 M parameters as the
#   paper lays it out, 6.6 M in torchvision's variant (no auxiliary heads, batch norm, no
#   biases, 3x3 where the paper has 5x5).
# - **ResNet**: $H(x) = F(x) + x$; basic and bottleneck blocks, projection shortcuts when
#   shapes change, stages that halve the resolution and double the channels. Counted
#   multiply-adds differ from the paper for 50/101/152 because torchvision moves the stride to
#   the 3x3 convolution (v1.5).
# - Count, don't guess: `FlopCounterMode` on the `meta` device gives parameters and
#   multiply-adds of any model in about a second.
#
# ## Further reading
#
# - A. Krizhevsky, I. Sutskever, G. E. Hinton (2012). ImageNet classification with deep
#   convolutional neural networks. *Advances in Neural Information Processing Systems 25*.
# - K. Simonyan, A. Zisserman (2015). Very deep convolutional networks for large-scale image
#   recognition. *International Conference on Learning Representations (ICLR)*.
# - C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke,
#   A. Rabinovich (2015). Going deeper with convolutions. *IEEE Conference on Computer Vision
#   and Pattern Recognition (CVPR)*.
# - K. He, X. Zhang, S. Ren, J. Sun (2016). Deep residual learning for image recognition.
#   *IEEE Conference on Computer Vision and Pattern Recognition (CVPR)*.
# - O. Russakovsky et al. (2015). ImageNet Large Scale Visual Recognition Challenge.
#   *International Journal of Computer Vision* 115(3), 211–252.
# - M. D. Zeiler, R. Fergus (2014). Visualizing and understanding convolutional networks.
#   *European Conference on Computer Vision (ECCV)*.

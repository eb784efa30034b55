# %% [markdown]
# # Lecture 09 — Transfer learning
#
# Training a convolutional network from scratch needs many labelled images; lecture 08 showed
# what happens with 100 of them. Very often a network trained on **another** task with plenty
# of data already exists, and its layers compute features — edges, corners, strokes, blobs,
# textures — that the new task can reuse. Taking them over is **transfer learning**, and in
# practice it is the usual way to build an image classifier.
#
# Every course that teaches it downloads ImageNet weights. This one trained its own backbone
# offline instead: a small ResNet (lecture 07) that learned 16 classes of generated shapes
# and textures from 50,000 images, shipped with the course package. We transfer it to
# handwritten digits, with 10, 50 and all (about 144) labels per class, and measure what
# helps and what does not.
#
# **Learning goals.** After this lecture you can
# 1. explain the vocabulary: source and target task, backbone and head, feature extraction
#    and fine-tuning, freezing, batch-norm statistics in evaluation mode, parameter groups;
# 2. write the mechanism in PyTorch: replace the head, freeze a backbone (and its batch-norm
#    statistics), build an optimizer with a smaller learning rate for the backbone;
# 3. run a fair comparison — same network, same step budget, several seeds — of training from
#    scratch, feature extraction, fine-tuning the last stage and fine-tuning everything, and
#    read it with the decision table (similar or different data, little or much of it);
# 4. look at what transfers: first-layer filters, nearest neighbours and a PCA of features.
#
# Cells that start with `# exercise:` are for you: replace the `None`, run the cell, and it
# says at once whether the answer is right; a solution is folded below each one.

# %% setup

# %%
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier, NearestCentroid
from torch import nn

from course import data, grading, models

torch.set_num_threads(1)  # small networks and batches: one thread is faster than two competing
lecture_start = time.perf_counter()

# %% [markdown]
# ## 1. Why transfer, and the words for it
#
# A CNN trained on a large labelled set (the **source task**) turns images into features in
# its convolutional layers and classes in its last layer. We want to solve a **target task**
# with few labels. Yosinski et al. (2014) measured that the first layers of a network learn
# general features (they look alike whatever the task), while the last layers become
# specific to the source classes; Razavian et al. (2014) showed that the features of an
# ImageNet network, used "off the shelf" with a linear classifier on top, were a strong
# baseline on many other recognition tasks. So we keep the general part and replace the
# specific part.
#
# | word | meaning in this lecture |
# |---|---|
# | source task | 16 classes of generated shapes and textures, 50,000 training images |
# | target task | the 10 digits, 10, 50 or all (about 144) labelled images per class |
# | backbone | every layer but the last: image `(N, 3, 32, 32)` → features `(N, 64)` |
# | head | the last layer, `fc`: features → class scores; task-specific, replaced |
# | feature extraction | the backbone is **frozen** (fixed), only a new head is trained |
# | fine-tuning | the backbone's pretrained weights are trained further, with the new head |
# | freezing | no gradients for a parameter (`requires_grad_(False)`), and batch norm in `eval()` mode |
# | parameter groups | one optimizer, several learning rates: small for the backbone, larger for the head |
#
# Why the backbone gets a **smaller** learning rate: its weights are already good and need
# small corrections, while the new head starts from random numbers. A large step in the
# backbone would destroy what it learned before the head has learned to use it.
#
# ## 2. The course backbone
#
# `models.pretrained("course-resnet")` loads the shipped checkpoint and checks it against
# its card (a small JSON file: architecture, source data and seeds, optimizer, accuracy, file
# hash). `tools/pretrain.py` reproduces it.

# %%
backbone = models.pretrained("course-resnet")  # a ResNet in eval mode, weights from the package
card = backbone.card
print(f"{card['architecture']}{tuple(card['kwargs'].items())}")
print(f"source data: {card['source_data']}")
print(f"{card['train_images']:,} images, {card['epochs']} epochs; source test accuracy "
      f"{card['source_test_accuracy']:.4f} ({card['test_data']})")
for name in ("stem", "layer1", "layer2", "layer3", "fc"):
    print(f"  {name:>6}: {models.count_parameters(getattr(backbone, name)):>6,} parameters")
print(f"  total: {models.count_parameters(backbone):,}")

# %% [markdown]
# A fresh draw of the source task (one image per class, a seed the backbone never saw), with
# the backbone's predictions:

# %%
X_src, y_src = data.make_shapes(64, image_size=32, seed=2026, classes=16)
X_src, y_src = torch.from_numpy(X_src), torch.from_numpy(y_src)
with torch.no_grad():
    pred_src = backbone(X_src).argmax(1)
print(f"accuracy on 64 fresh source images: {(pred_src == y_src).float().mean():.3f}")
fig, axes = plt.subplots(2, 8, figsize=(12, 4.2))
for ax, k in zip(axes.flat, range(16), strict=True):
    i = int((y_src == k).nonzero()[0, 0])
    ax.imshow(X_src[i].permute(1, 2, 0).numpy())
    ax.set_title(f"{card['classes'][k]}\n→ {card['classes'][pred_src[i]]}", fontsize=7)
    ax.axis("off")
fig.suptitle("the source task: 16 generated classes (title: class → backbone's prediction)",
             fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# Shapes in random colours on random backgrounds, outlines of several thicknesses and
# textured fills: the backbone had to learn edges, corners, thin strokes and periodic
# patterns, but it has never seen a digit.
#
# ## 3. The target task: digits as the backbone's input
#
# The backbone takes RGB images of 32x32 pixels with values in $[0, 1]$. scikit-learn's
# digits are 8x8 grey scans in $[0, 1]$, the ink **bright on a dark** background. Three
# choices:
# - **size**: resize 8x8 → 32x32 by bilinear interpolation (the shapes have objects of
#   about 14 to 26 pixels across; a 32x32 digit fills most of the image, which is close);
# - **channels**: repeat the grey channel three times (R = G = B);
# - **values**: keep $[0, 1]$ and the polarity as it is. The backbone was trained on raw
#   $[0, 1]$ pixels, not standardized ones, so we must not subtract a mean here (an ImageNet
#   network wants its own mean and standard deviation, section 9). The generator picks the
#   colours of object and background independently, so bright-on-dark and dark-on-bright
#   are equally familiar to the backbone: either polarity is in its range, and we keep the
#   one the data has.

# %%
def to_backbone_input(X):
    """Digits X: (N, 1, 8, 8) in [0, 1] -> float32 (N, 3, 32, 32): bilinear x4, grey -> RGB."""
    X = torch.as_tensor(X, dtype=torch.float32)
    if X.dim() != 4 or tuple(X.shape[1:]) != (1, 8, 8):
        raise ValueError(f"X must have shape (N, 1, 8, 8); got {tuple(X.shape)}")
    big = F.interpolate(X, size=(32, 32), mode="bilinear", align_corners=False)  # (N, 1, 32, 32)
    return big.clamp(0, 1).repeat(1, 3, 1, 1)  # (N, 3, 32, 32)


split = data.load_digits()  # 8x8, a fixed stratified 80/20 split (seed 0)
X_train, X_test = to_backbone_input(split.X_train), to_backbone_input(split.X_test)
y_train, y_test = torch.from_numpy(split.y_train), torch.from_numpy(split.y_test)
per_class = np.bincount(split.y_train)
print(f"train {tuple(X_train.shape)}, test {tuple(X_test.shape)}; "
      f"labels per class in the training split: {per_class.min()} to {per_class.max()}")
print(f"pixel mean and std: source images {X_src.mean():.2f}, {X_src.std():.2f}; "
      f"digits {X_train.mean():.2f}, {X_train.std():.2f}")

fig, axes = plt.subplots(1, 6, figsize=(9, 1.9))
for ax, k in zip(axes, range(6), strict=True):
    ax.imshow(X_train[k].permute(1, 2, 0).numpy())
    ax.set_title(f"digit {int(y_train[k])}", fontsize=9)
    ax.axis("off")
fig.suptitle("digits as the backbone sees them: 3x32x32, values in [0, 1]", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# The training split has between 139 and 146 digits per class (printed above), so "all
# labels" means about 144 per class and the three label sizes of the experiment are 10, 50
# and all. The 359 test digits are the same for every run; nothing below looks at them
# except to report the final accuracy.
#
# ## 4. The mechanism: a new head, freezing, parameter groups
#
# ### Replacing the head
#
# The backbone ends with `fc = nn.Linear(64, 16)` for the 16 source classes. For digits we
# put a new, randomly initialized `nn.Linear(feature_dim, 10)` in its place. We work on a
# copy, so that `backbone` stays as it was loaded.

# %%
model = copy.deepcopy(backbone)
print("old head:", model.fc)
model.fc = nn.Linear(model.feature_dim, 10)
print("new head:", model.fc)
with torch.no_grad():
    print(f"features {tuple(model.features(X_train[:4]).shape)} -> "
          f"scores {tuple(model(X_train[:4]).shape)}")

# %% [markdown]
# ### Freezing, and the batch-norm trap
#
# `p.requires_grad_(False)` tells autograd not to compute a gradient for `p`, so no optimizer
# can change it. That freezes the **weights**. It does not freeze the **batch-norm running
# statistics**: they are buffers, not parameters, and every forward pass in training mode
# moves them towards the statistics of the current batch (lecture 07). A frozen backbone must
# therefore also be in evaluation mode, where batch norm uses the stored statistics and
# changes nothing. And `model.train()` switches *every* submodule back to training mode, so
# the frozen part has to be put back into `eval()` after each call.

# %%
def freeze(module):
    """Freeze module in place: no gradients for its parameters, batch norm in eval mode."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


running_mean = model.stem[1].running_mean  # the first batch-norm layer's stored mean
before = running_mean.clone()
for p in model.parameters():
    p.requires_grad_(False)  # weights frozen, but the model is in training mode
model.train()
with torch.no_grad():
    model(X_train[:64])
print(f"requires_grad False + train(): running mean moved by {(running_mean - before).abs().max():.4f}")
model.load_state_dict(backbone.state_dict() | {k: v for k, v in model.state_dict().items()
                                               if k.startswith("fc.")})  # undo the drift
before = running_mean.clone()
freeze(model)  # requires_grad False + eval()
with torch.no_grad():
    model(X_train[:64])
print(f"requires_grad False + eval():  running mean moved by {(running_mean - before).abs().max():.4f}")

# %% [markdown]
# In training mode, 64 digits moved the stored mean of the very first batch-norm layer
# (the change is printed) although no weight can move; in evaluation mode nothing changed.
# A backbone whose statistics drift towards the target data computes different features
# from the ones it was trained with, and from one batch to the next.
#
# ### Counting what trains
#
# Which parameters train is what distinguishes the four methods of the experiment. The cell
# unfreezes the new head (and, for the "last stage" method, `layer3`) and counts.

# %%
def count_trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


model.fc.requires_grad_(True)
print(f"feature extraction: {count_trainable(model):>6,} trainable of "
      f"{models.count_parameters(model):,} (the head)")
model.layer3.requires_grad_(True)
print(f"last stage:         {count_trainable(model):>6,} trainable (layer3 and the head)")
model.requires_grad_(True)
print(f"everything:         {count_trainable(model):>6,} trainable")

# %% [markdown]
# **Exercise 1.** Freeze everything in `model_ex` except `layer2`, `layer3` and the head,
# and count the trainable parameters (`n_trainable`, an int). The check adds up the stages
# with `models.count_parameters`.

# %%
# exercise: trainable parameters
model_ex = copy.deepcopy(backbone)
model_ex.fc = nn.Linear(model_ex.feature_dim, 10)
n_trainable = None  # your code here
grading.exercise("trainable parameters", n_trainable,
                 sum(models.count_parameters(getattr(backbone, name))
                     for name in ("layer2", "layer3")) + 10 * backbone.feature_dim + 10,
                 hint="freeze(model_ex), then requires_grad_(True) on layer2, layer3 and fc; "
                 "count p.numel() for p with p.requires_grad")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: trainable parameters
# model_ex = copy.deepcopy(backbone)
# model_ex.fc = nn.Linear(model_ex.feature_dim, 10)
# freeze(model_ex)
# for name in ("layer2", "layer3", "fc"):
#     getattr(model_ex, name).requires_grad_(True)
# n_trainable = count_trainable(model_ex)
# grading.exercise("trainable parameters", n_trainable,
#                  sum(models.count_parameters(getattr(backbone, name))
#                      for name in ("layer2", "layer3")) + 10 * backbone.feature_dim + 10,
#                  hint="freeze(model_ex), then requires_grad_(True) on layer2, layer3 and fc; "
#                  "count p.numel() for p with p.requires_grad")
# ```
# The head alone is $64 \cdot 10 + 10 = 650$ parameters.
# </details>
#
# ### Parameter groups
#
# An optimizer takes a list of **parameter groups**, dicts with their own options; options
# not given in a group come from the keyword arguments. Fine-tuning everything uses two:

# %%
body = [p for name, p in model.named_parameters() if not name.startswith("fc.")]
optimizer = torch.optim.Adam([{"params": body, "lr": 1e-3},  # backbone: small steps
                              {"params": model.fc.parameters()}], lr=1e-2)  # head: default lr
for i, group in enumerate(optimizer.param_groups):
    print(f"group {i}: lr {group['lr']:g}, {len(group['params'])} tensors, "
          f"{sum(p.numel() for p in group['params']):,} parameters")

# %% [markdown]
# Frozen parameters should not be handed to the optimizer at all: they get no gradient, so
# plain SGD or Adam would skip them, but an optimizer with weight decay (AdamW, or SGD with
# momentum and weight decay) can still shrink them. Filtering with `p.requires_grad` is the
# habit to take.
#
# **Exercise 2.** `model_lr` has `stem` and `layer1` frozen. Build `optimizer_lr`, an SGD
# optimizer (momentum 0.9) that sees only the trainable parameters: the head at learning
# rate 0.01, the rest of the backbone at 0.001. The check reads, for every parameter of the
# model in order, the learning rate the optimizer will use for it (0 where it does not see it).

# %%
# exercise: parameter groups
model_lr = copy.deepcopy(model)
freeze(model_lr.stem)
freeze(model_lr.layer1)
optimizer_lr = None  # your code here: torch.optim.SGD([...], momentum=0.9)


def lr_of_each_parameter(optimizer, module):
    """The learning rate optimizer uses for each parameter of module, in order (0: not seen)."""
    if optimizer is None:
        return None
    lr = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    return [lr.get(id(p), 0.0) for p in module.parameters()]


grading.exercise("learning rate per parameter", lr_of_each_parameter(optimizer_lr, model_lr),
                 [0.0 if name.startswith(("stem.", "layer1.")) else
                  0.01 if name.startswith("fc.") else 0.001
                  for name, _ in model_lr.named_parameters()],
                 hint="two groups; select with name.startswith('fc.') and p.requires_grad")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: parameter groups
# model_lr = copy.deepcopy(model)
# freeze(model_lr.stem)
# freeze(model_lr.layer1)
# head = [p for name, p in model_lr.named_parameters() if name.startswith("fc.")]
# rest = [p for name, p in model_lr.named_parameters()
#         if not name.startswith("fc.") and p.requires_grad]
# optimizer_lr = torch.optim.SGD([{"params": rest, "lr": 0.001}, {"params": head, "lr": 0.01}],
#                                momentum=0.9)
#
#
# def lr_of_each_parameter(optimizer, module):
#     """The learning rate optimizer uses for each parameter of module, in order (0: not seen)."""
#     if optimizer is None:
#         return None
#     lr = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
#     return [lr.get(id(p), 0.0) for p in module.parameters()]
#
#
# grading.exercise("learning rate per parameter", lr_of_each_parameter(optimizer_lr, model_lr),
#                  [0.0 if name.startswith(("stem.", "layer1.")) else
#                   0.01 if name.startswith("fc.") else 0.001
#                   for name, _ in model_lr.named_parameters()],
#                  hint="two groups; select with name.startswith('fc.') and p.requires_grad")
# ```
# </details>
#
# **Exercise 3.** The batch-norm layer of the stem keeps `running_mean` $\mu$ and updates it
# in training mode as $\mu \leftarrow (1 - m)\,\mu + m\,\bar h$, with momentum $m = 0.1$ and
# $\bar h$ the mean over the batch and all positions of each channel of its input (the
# output of the stem's convolution). Compute, **without** running the model in training
# mode, the running mean `mu_after` (shape `(16,)`) after one forward pass of `x_bn` in
# training mode. The check runs it.

# %%
# exercise: a batch-norm running mean
x_bn = X_train[100:132]
conv_bn, norm_bn = backbone.stem[0], backbone.stem[1]
mu_after = None  # your code here: a tensor of shape (16,)
reference_bn = copy.deepcopy(backbone.stem).train()
with torch.no_grad():
    reference_bn(x_bn)
grading.exercise("the running mean after one step", mu_after, reference_bn[1].running_mean,
                 rtol=1e-5, atol=1e-6,
                 hint="h = conv_bn(x_bn); (1 - 0.1) * norm_bn.running_mean + 0.1 * h.mean((0, 2, 3))")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: a batch-norm running mean
# x_bn = X_train[100:132]
# conv_bn, norm_bn = backbone.stem[0], backbone.stem[1]
# with torch.no_grad():
#     h_bn = conv_bn(x_bn)  # (32, 16, 32, 32)
# mu_after = (1 - norm_bn.momentum) * norm_bn.running_mean + norm_bn.momentum * h_bn.mean((0, 2, 3))
# reference_bn = copy.deepcopy(backbone.stem).train()
# with torch.no_grad():
#     reference_bn(x_bn)
# grading.exercise("the running mean after one step", mu_after, reference_bn[1].running_mean,
#                  rtol=1e-5, atol=1e-6,
#                  hint="h = conv_bn(x_bn); (1 - 0.1) * norm_bn.running_mean + 0.1 * h.mean((0, 2, 3))")
# ```
# In evaluation mode `running_mean` would not change at all.
# </details>
#
# ## 5. One training loop for every method
#
# Every method of the experiment trains with the function below: Adam on the parameter
# groups it is given, for a fixed number of **steps** on mini-batches drawn at random (with a
# seeded generator) from the labelled images. The comparison is fair in compute: every
# method takes the same number of optimizer steps of the same batch size, whether it has 100
# or 1,438 labelled digits.
#
# Two details matter for honest numbers:
# - `frozen` lists the submodules that must stay in evaluation mode: the loop puts them back
#   after `model.train()` (section 4).
# - A short run leaves the batch-norm running statistics of the layers that trained behind
#   the weights (they are averages over the last few dozen batches, taken while the weights
#   still moved). So at the end the loop **re-estimates** them with the final weights on up to
#   128 training images; frozen layers keep theirs. Without this, a network trained from
#   scratch for a few dozen steps can be much worse in evaluation mode than in training mode
#   (remove the re-estimation and rerun the scratch runs to see it).

# %%
STEPS, BATCH = 30, 8  # the step budget of every run


def accuracy(model, X, y):
    """Fraction of X: (N, ...) that model (in eval mode) classifies as y: (N,)."""
    model.eval()
    with torch.no_grad():
        return (model(X).argmax(1) == y).float().mean().item()


def train(model, param_groups, X, y, seed, frozen=(), steps=STEPS, batch_size=BATCH):
    """Adam on param_groups for `steps` random mini-batches of (X: (N, ...), y: (N,));
    the modules in `frozen` stay in eval mode. Returns the model in eval mode."""
    optimizer = torch.optim.Adam(param_groups)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for module in frozen:
        module.eval()  # model.train() switched them back to training mode
    for _ in range(steps):
        batch = torch.randint(len(X), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(X[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    # re-estimate the running statistics of the batch norms that trained, with the final weights
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.training]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a plain average over the batches below
    if norms:
        with torch.no_grad():
            model(X[torch.randperm(len(X), generator=generator)[:128]])
    for norm in norms:
        norm.momentum = 0.1
    return model.eval()


# %% [markdown]
# ## 6. The experiment: four ways to learn the digits
#
# | method | what trains | learning rates (Adam) | input of the trained part |
# |---|---|---|---|
# | scratch | the same ResNet, random weights, every layer | 3e-3 | images |
# | feature extraction | a new head on the frozen backbone | head 3e-2 | pooled features, computed once, standardized |
# | last stage | `layer3` and a new head; `stem`..`layer2` frozen | `layer3` 1e-3, head 1e-2 | `layer2` maps, computed once |
# | fine-tune all | every layer from the pretrained weights and a new head | backbone 1e-3, head 1e-2 | images |
#
# A frozen part computes the same output for an image at every step, so we run it **once**
# over all digits and train on its output: feature extraction becomes a logistic regression
# on 64 numbers per digit, and the "last stage" method trains `layer3` on cached maps. This
# is exact, not an approximation; the cell checks it against the frozen model.
#
# The pooled features are outputs of a ReLU and an average, all positive, with a mean far
# from zero (printed below): a badly conditioned input for a linear layer trained by
# gradient descent (lecture 02). Feature extraction therefore **standardizes** them with
# the mean and standard deviation of the labelled training features. A per-feature affine
# map followed by a linear layer is again a linear layer, so the head can represent exactly
# the same functions; only its training is better conditioned. (The fine-tuned networks do
# not need this: their features pass through batch norms that train.)

# %%
tic = time.perf_counter()
with torch.no_grad():
    stem_out = {name: backbone.layer1(backbone.stem(X)) for name, X in
                (("train", X_train), ("test", X_test))}
    layer2_out = {name: backbone.layer2(h) for name, h in stem_out.items()}  # (N, 32, 16, 16)
    pooled = {name: backbone.pool(backbone.layer3(h)) for name, h in layer2_out.items()}  # (N, 64)
print(f"backbone run once over {len(X_train) + len(X_test)} digits: "
      f"{time.perf_counter() - tic:.1f} s; features {tuple(pooled['train'].shape)}")
frozen_model = freeze(copy.deepcopy(backbone))
with torch.no_grad():
    gap = (frozen_model.features(X_test[:50]) - pooled["test"][:50]).abs().max()
print(f"cached features vs the frozen model: max difference {gap:.1e}")
print(f"pooled features: mean {pooled['train'].mean():.2f}, standard deviation "
      f"{pooled['train'].std():.2f}, minimum {pooled['train'].min():.2f}")


def labelled_subset(k, seed):
    """Indices of k training digits per class (all of them for k=None), drawn with seed."""
    rng = np.random.default_rng(seed)
    return torch.from_numpy(np.concatenate(
        [rng.permutation(np.flatnonzero(split.y_train == c))[:k] for c in range(10)]))


def run(method, k, seed):
    """Test accuracy of `method` trained on k labelled digits per class with `seed`."""
    idx = labelled_subset(k, seed)
    torch.manual_seed(seed)  # the new head's (or the scratch network's) initial weights
    if method == "scratch":
        net = models.ResNet(**{**card["kwargs"], "num_classes": 10})
        train(net, [{"params": net.parameters(), "lr": 3e-3}], X_train[idx], y_train[idx], seed)
        return accuracy(net, X_test, y_test)
    if method == "feature extraction":
        mean, std = pooled["train"][idx].mean(0), pooled["train"][idx].std(0) + 1e-6
        head = nn.Linear(backbone.feature_dim, 10)
        train(head, [{"params": head.parameters(), "lr": 3e-2}],
              (pooled["train"][idx] - mean) / std, y_train[idx], seed)
        return accuracy(head, (pooled["test"] - mean) / std, y_test)
    if method == "last stage":
        top = nn.Sequential(copy.deepcopy(backbone.layer3), backbone.pool,
                            nn.Linear(backbone.feature_dim, 10))
        train(top, [{"params": top[0].parameters(), "lr": 1e-3},
                    {"params": top[2].parameters(), "lr": 1e-2}],
              layer2_out["train"][idx], y_train[idx], seed)
        return accuracy(top, layer2_out["test"], y_test)
    net = copy.deepcopy(backbone)  # fine-tune all
    net.fc = nn.Linear(net.feature_dim, 10)
    body = [p for name, p in net.named_parameters() if not name.startswith("fc.")]
    train(net, [{"params": body, "lr": 1e-3}, {"params": net.fc.parameters(), "lr": 1e-2}],
          X_train[idx], y_train[idx], seed)
    return accuracy(net, X_test, y_test)


METHODS = ("scratch", "feature extraction", "last stage", "fine-tune all")
SIZES = (10, 50, None)  # labels per class; None = all
SEEDS = (0, 1, 2)
tic = time.perf_counter()
results = {(method, k): np.array([run(method, k, seed) for seed in SEEDS])
           for k in SIZES for method in METHODS}
experiment_seconds = time.perf_counter() - tic
print(f"{len(results) * len(SEEDS)} runs of {STEPS} steps with batches of {BATCH} in "
      f"{experiment_seconds:.1f} s")


def size_name(k):
    return "all" if k is None else str(k)


print(f"\ntest accuracy on {len(y_test)} digits, mean ± standard deviation over "
      f"{len(SEEDS)} seeds")
print(f"{'labels/class':>12} | " + " | ".join(f"{m:>18}" for m in METHODS))
for k in SIZES:
    print(f"{size_name(k):>12} | " + " | ".join(
        f"{results[m, k].mean():>10.3f} ± {results[m, k].std():.3f}" for m in METHODS))

# %%
n_labels = [10, 50, int(round(per_class.mean()))]  # x positions; "all" drawn at the mean count
fig, ax = plt.subplots(figsize=(6.5, 3.8))
for j, method in enumerate(METHODS):
    means = [results[method, k].mean() for k in SIZES]
    stds = [results[method, k].std() for k in SIZES]
    ax.errorbar(np.array(n_labels) * (1 + 0.03 * (j - 1.5)), means, yerr=stds, marker="o",
                capsize=3, label=method)
ax.set_xscale("log")
ax.set_xticks(n_labels, ["10", "50", f"all (~{n_labels[-1]})"])
ax.minorticks_off()
ax.set_xlabel("labelled digits per class")
ax.set_ylabel("test accuracy")
ax.set_title(f"digits: {STEPS} steps of {BATCH} per run, mean ± std over {len(SEEDS)} seeds",
             fontsize=10)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The lines below are computed from the table: for each label size, the best method, and
# whether the best transfer method beats training from scratch by more than the seed-to-seed
# spread of the two (the sum of their standard deviations).

# %%
verdicts = {}
for k in SIZES:
    mean = {m: results[m, k].mean() for m in METHODS}
    best = max(mean, key=mean.get)
    best_transfer = max(METHODS[1:], key=mean.get)
    margin = mean[best_transfer] - mean["scratch"]
    spread = results[best_transfer, k].std() + results["scratch", k].std()
    verdicts[k] = ("helps" if margin > spread else "hurts" if margin < -spread
                   else "is within the noise")
    print(f"{size_name(k):>3} labels/class: best {best} ({mean[best]:.3f}); best transfer "
          f"({best_transfer}) minus scratch = {margin:+.3f}, spread {spread:.3f}: "
          f"transfer {verdicts[k]}")

# %% [markdown]
# ## 7. Reading the result: the decision table
#
# Which method to use depends on two questions: how **similar** the target data are to the
# source data, and how **many** labelled target examples there are. The usual rule of thumb:
#
# | | little target data | much target data |
# |---|---|---|
# | **similar** to the source | a linear classifier on the top features (feature extraction) | fine-tune a few top layers |
# | **different** from the source | hard: try linear classifiers on features from earlier stages | fine-tune more layers, or all of them (scratch becomes competitive) |
#
# The reasons: with little data, every trained parameter is a chance to overfit, so we train
# as few as possible; the top layers are the most specific to the source classes, so when the
# data differ, their features fit the target worse than earlier, more general ones. With much
# data, fine-tuning more layers adapts the features to the target, and training from
# scratch catches up.
#
# Digits and the course's shapes are **different** data: grey handwritten strokes against
# coloured, geometric, often textured objects. Both are dark-and-bright shapes with edges,
# corners and thin lines, which is what the first layers encode. Section 8 looks at what
# actually carries over. The printed lines below read this experiment's table.

# %%
mean_acc = {(m, k): results[m, k].mean() for m in METHODS for k in SIZES}
for k in SIZES:
    ranking = sorted(METHODS, key=lambda m: -mean_acc[m, k])
    print(f"{size_name(k):>3} labels/class, best to worst: " + " > ".join(
        f"{m} ({mean_acc[m, k]:.3f})" for m in ranking))
first, last = SIZES[0], SIZES[-1]
gain = {k: max(mean_acc[m, k] for m in METHODS[1:]) - mean_acc["scratch", k] for k in SIZES}
noise = max(results[m, k].std() for m in METHODS for k in SIZES)
trend = ("shrinks" if gain[last] < gain[first] - noise else
         "grows" if gain[last] > gain[first] + noise else
         "stays about the same (the change is smaller than the largest seed spread)")
print(f"best transfer minus scratch: {gain[first]:+.3f} with {first} labels/class, "
      f"{gain[last]:+.3f} with all labels: the advantage of transfer {trend}")
trains_convs = ("scratch", "last stage", "fine-tune all")
head_only_wins = [k for k in SIZES if mean_acc["feature extraction", k]
                  > max(mean_acc[m, k] for m in trains_convs)]
print(f"feature extraction beats every method that trains convolutions at "
      f"{len(head_only_wins)} of {len(SIZES)} label sizes")
assert len(head_only_wins) == len(SIZES), "the text below assumes feature extraction wins"

# %% [markdown]
# What this table says, with its step budget: 30 steps of 8 images, so each run sees 240
# images, a sixth of the largest training set.
# - **Feature extraction wins at every label size** (asserted in the cell): a linear head of
#   650 parameters on fixed features needs few examples and few steps.
# - The three methods that train convolutional layers — from random weights (scratch) or
#   from pretrained ones (last stage, fine-tune all) — have 58,000 to 78,000 parameters to
#   move in 30 steps, and end below it. None of the runs is converged: the numbers
#   compare what each method gets from **little data and little compute**. With far more
#   steps, every method would climb (the benchmark `benchmarks/transfer_digits.py --steps`
#   runs the same experiment with any budget).
# - Whether the advantage of transfer shrinks as labels are added is printed above. "All
#   labels" is still little data here (about 144 per class): the regime where scratch
#   catches up — much data, many steps, the bottom-right of the decision table — is not
#   reached by a one-minute lecture.
#
# **Check yourself.** Why may we train feature extraction and the "last stage" method on
# cached outputs of the frozen layers, but not fine-tune all layers that way?
#
# <details><summary>Answer</summary>
#
# A frozen part (weights fixed, batch norm in evaluation mode) is a fixed function: the same
# image gives the same output at every step, so computing it once is exact (the difference
# printed in section 6 is zero or rounding). When the backbone trains, its output changes
# after every step, and each step needs a new forward pass through it. With augmentation
# (lecture 08) caching stops being exact too: every step sees new copies of the images.
# </details>
#
# ## 8. What transfers
#
# ### First-layer filters
#
# The stem's 16 filters are 3x3x3: small, but they can still be drawn. Because the digits
# are grey (R = G = B), a filter acts on them as the **sum of its three colour channels**, a
# single 3x3 filter (second row). The third row shows the same sum for the randomly
# initialized network that the "scratch" runs start from.

# %%
def channel_sum(conv):
    """The 3x3 filters a grey image sees: weights (C_out, 3, k, k) summed over input channels."""
    return conv.weight.detach().sum(1)  # (C_out, k, k)


torch.manual_seed(0)
random_net = models.ResNet(**card["kwargs"]).eval()
w_rgb = backbone.stem[0].weight.detach()  # (16, 3, 3, 3)
rows = [("pretrained, RGB", None), ("pretrained, grey", channel_sum(backbone.stem[0])),
        ("random init, grey", channel_sum(random_net.stem[0]))]
fig, axes = plt.subplots(3, 16, figsize=(12, 2.7))
for r, (name, grey) in enumerate(rows):
    for c in range(16):
        ax = axes[r, c]
        if grey is None:
            f = w_rgb[c].permute(1, 2, 0)
            ax.imshow(((f - f.min()) / (f.max() - f.min())).numpy())  # each filter stretched
        else:
            limit = grey[c].abs().max().item()
            ax.imshow(grey[c].numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle("stem filters (3x3); grey rows: red positive, blue negative", fontsize=10)
plt.tight_layout()
plt.show()
balance = {}
for name, grey in rows[1:]:
    flat = grey.flatten(1)  # (16, 9)
    balance[name] = (flat.sum(1).abs() / flat.abs().sum(1)).mean().item()
    print(f"{name:>18}: mean |sum of weights| / sum of |weights| = {balance[name]:.2f}")
assert balance["pretrained, grey"] < balance["random init, grey"]  # the text below says so

# %% [markdown]
# A filter whose weights sum to zero ignores flat regions and answers only to changes of
# brightness — edges, lines, corners; a filter with all weights of one sign mostly measures
# the local brightness. The printed ratio is 0 for the first kind and 1 for the second, so
# it says how much of each set of filters is made of change detectors: the pretrained
# filters, as a grey image sees them, are closer to zero-sum than the random ones they
# started from: pretraining on shapes pushed the stem towards detectors of edges and lines,
# which is what a digit is made of. The first-layer
# filters are the part of a network that Yosinski et al. (2014) found to transfer best
# between tasks, and they are also the smallest part: 432 of the backbone's 78,432
# parameters here.
#
# ### Features: nearest neighbours and PCA
#
# A good feature space puts images of the same class close together. The simplest test is
# the **1-nearest-neighbour** classifier: label each test digit with the label of the closest
# training digit. We compare raw pixels (the original 8x8, 64 numbers) with the backbone's
# features after each stage (global average pooling, as the head sees them: 16, 32 and 64
# numbers), and with the same network at random initialization as a control, once with all
# labelled digits and once with 10 per class.

# %%
tic = time.perf_counter()
with torch.no_grad():
    random_pooled = {name: random_net.features(X) for name, X in
                     (("train", X_train), ("test", X_test))}
representations = {
    "pixels (8x8)": (split.X_train.reshape(len(split.X_train), -1),
                     split.X_test.reshape(len(split.X_test), -1)),
    "backbone layer1": tuple(backbone.pool(stem_out[s]).numpy() for s in ("train", "test")),
    "backbone layer2": tuple(backbone.pool(layer2_out[s]).numpy() for s in ("train", "test")),
    "backbone layer3": tuple(pooled[s].numpy() for s in ("train", "test")),
    "random init layer3": tuple(random_pooled[s].numpy() for s in ("train", "test")),
}
few = labelled_subset(10, 0).numpy()
nn_accuracy = {}
print(f"{'1-NN test accuracy':>20} | {'dim':>3} | all labels | 10 per class")
for name, (F_train, F_test) in representations.items():
    nn_accuracy[name] = [KNeighborsClassifier(n_neighbors=1).fit(F_train[rows_], y_rows)
                         .score(F_test, split.y_test)
                         for rows_, y_rows in ((slice(None), split.y_train),
                                               (few, split.y_train[few]))]
    print(f"{name:>20} | {F_train.shape[1]:>3} | {nn_accuracy[name][0]:>10.3f} | "
          f"{nn_accuracy[name][1]:>12.3f}")
print(f"({time.perf_counter() - tic:.1f} s)")
for column, label in ((0, "all labels"), (1, "10 labels per class")):
    best_rep = max(nn_accuracy, key=lambda name: nn_accuracy[name][column])
    vs_random = nn_accuracy["backbone layer3"][column] - nn_accuracy["random init layer3"][column]
    print(f"{label}: best representation for 1-NN: {best_rep}; pretrained minus random "
          f"layer3 features: {vs_random:+.3f}")
# the claims of the text below
assert all(max(nn_accuracy, key=lambda name: nn_accuracy[name][c]) == "pixels (8x8)"
           for c in (0, 1))
assert nn_accuracy["backbone layer2"][0] > nn_accuracy["backbone layer3"][0]
assert all(nn_accuracy["backbone layer3"][c] < nn_accuracy["random init layer3"][c] + 0.02
           for c in (0, 1))
assert max(r.mean() for r in results.values()) < nn_accuracy["pixels (8x8)"][1]

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), layout="constrained")
for ax, name in zip(axes, ("pixels (8x8)", "backbone layer3"), strict=True):
    F_train, F_test = representations[name]
    pca = PCA(n_components=2).fit(F_train)
    Z = pca.transform(F_test)
    points = ax.scatter(Z[:, 0], Z[:, 1], c=split.y_test, cmap="tab10", s=9, vmin=-0.5,
                        vmax=9.5)
    ax.set_title(f"{name}: PCA of the test digits\n(2 components: "
                 f"{pca.explained_variance_ratio_.sum():.0%} of the variance)", fontsize=10)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
plt.show()

# %% [markdown]
# Four lessons from the 1-NN table, each asserted in the cell:
# - **Raw pixels are the best representation for 1-NN**, with all labels and with 10 per
#   class. The 8x8 digits were centred and scaled when the data set was made, so distances
#   between pixel vectors are already meaningful. Every accuracy of the experiment in section
#   6 is below 1-NN on pixels with 10 labels per class: a baseline any experiment should
#   print before it claims that a network helps.
# - The backbone's `layer2` features beat its `layer3` features: the last stage is the most
#   specific to the 16 source classes, the earlier one more general. This is the decision
#   table's advice for different data: try earlier stages.
# - The pretrained `layer3` features are no better for 1-NN than those of the same network
#   at random initialization. As distances, the top features of shapes carry little about
#   digits.
# - Yet feature extraction, a trained linear head on the same `layer3` features, was the best
#   method of section 6. 1-NN weighs every feature equally in a Euclidean distance; a trained
#   head learns which of the 64 features matter for digits and ignores the rest.
#
# The two titles say how much of the variance two components keep: points that overlap in
# this plane may still be apart in the full space, which is why the 1-NN accuracies above,
# computed in the full space, are the numbers to trust; the picture shows the shape of the
# clusters.
#
# **Exercise 4.** The nearest-**centroid** classifier is even simpler than 1-NN: average the
# features of each class's training images, and label a test image with the class of the
# closest average. Compute its test accuracy (`centroid_accuracy`, a float) on the
# backbone's `layer3` features with 10 labelled digits per class (the indices `few`), in
# torch or NumPy. The check uses scikit-learn's `NearestCentroid`.

# %%
# exercise: nearest centroid
F_few, y_few = pooled["train"][few], y_train[few]
centroid_accuracy = None  # your code here
grading.exercise("nearest-centroid accuracy", centroid_accuracy,
                 NearestCentroid().fit(F_few.numpy(), y_few.numpy())
                 .score(pooled["test"].numpy(), y_test.numpy()),
                 rtol=1e-6, hint="centroids = stack of F_few[y_few == c].mean(0); "
                 "torch.cdist(pooled['test'], centroids).argmin(1)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: nearest centroid
# F_few, y_few = pooled["train"][few], y_train[few]
# centroids = torch.stack([F_few[y_few == c].mean(0) for c in range(10)])  # (10, 64)
# predicted = torch.cdist(pooled["test"], centroids).argmin(1)
# centroid_accuracy = (predicted == y_test).float().mean().item()
# grading.exercise("nearest-centroid accuracy", centroid_accuracy,
#                  NearestCentroid().fit(F_few.numpy(), y_few.numpy())
#                  .score(pooled["test"].numpy(), y_test.numpy()),
#                  rtol=1e-6, hint="centroids = stack of F_few[y_few == c].mean(0); "
#                  "torch.cdist(pooled['test'], centroids).argmin(1)")
# ```
# </details>
#
# ## 9. The same code with ImageNet weights (online only)
#
# With internet access (or with the weights already in torch's cache),
# `models.pretrained("resnet18-imagenet")` gives torchvision's ResNet-18 trained on the 1.28
# million photos of ImageNet. The cell below runs feature extraction with it, through the
# same `train` function, standardization and label subsets as section 6. Two things change: an ImageNet network
# expects its inputs standardized with the ImageNet mean and standard deviation per channel,
# and it was trained on 224x224 photos, so we enlarge the digits to 64x64 (a compromise
# between its receptive fields and the CPU time of 1,797 forward passes). Offline the loader
# fails within seconds and the cell says so.

# %%
try:
    imagenet = models.pretrained("resnet18-imagenet")
except RuntimeError as error:
    print(f"skipped, no ImageNet weights here: {error}")
else:
    imagenet.fc = nn.Identity()  # the backbone: (N, 3, H, W) -> (N, 512)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    def imagenet_features(X):
        """X: (N, 3, 32, 32) in [0, 1] -> (N, 512) ResNet-18 features at 64x64."""
        with torch.no_grad():
            return torch.cat([imagenet((F.interpolate(x, size=(64, 64), mode="bilinear",
                                                      align_corners=False) - mean) / std)
                              for x in X.split(256)])

    imagenet_pooled = {"train": imagenet_features(X_train), "test": imagenet_features(X_test)}
    for k in SIZES:
        accs = []
        for seed in SEEDS:
            idx = labelled_subset(k, seed)
            train_features = imagenet_pooled["train"][idx]
            mean, std = train_features.mean(0), train_features.std(0) + 1e-6
            torch.manual_seed(seed)
            head = nn.Linear(512, 10)
            train(head, [{"params": head.parameters(), "lr": 3e-2}],
                  (train_features - mean) / std, y_train[idx], seed)
            accs.append(accuracy(head, (imagenet_pooled["test"] - mean) / std, y_test))
        print(f"ImageNet ResNet-18, feature extraction, {size_name(k)} labels/class: "
              f"{np.mean(accs):.3f} ± {np.std(accs):.3f} (course backbone: "
              f"{results['feature extraction', k].mean():.3f})")

# %% [markdown]
# Kornblith et al. (2019) compared 16 ImageNet networks on 12 target data sets: networks that
# are better on ImageNet are generally better as fixed feature extractors and after
# fine-tuning; but on two fine-grained sets (cars, aircraft) networks trained from random
# initialization came close to fine-tuned ones, pretraining mostly making training faster.
#
# **Check yourself.** Why do we standardize the inputs for the ImageNet network but not for
# the course backbone?
#
# <details><summary>Answer</summary>
#
# Each network must see inputs distributed the way its training inputs were. torchvision's
# ImageNet weights were trained on images standardized with the ImageNet mean and standard
# deviation; the course backbone was trained on raw pixels in [0, 1]. Feeding either one the
# other's convention shifts every first-layer response, and the batch-norm statistics
# stored with the weights no longer match.
# </details>

# %%
print(f"lecture ran in {time.perf_counter() - lecture_start:.0f} s "
      f"(CPU time of this process: {time.process_time():.0f} s)")

# %% [markdown]
# ## Summary
#
# - Transfer learning reuses a network trained on a source task for a target task: keep the
#   **backbone**, replace the **head** (`model.fc = nn.Linear(feature_dim, num_classes)`).
# - **Feature extraction** freezes the backbone and trains only the head: cheap (the frozen
#   features can be computed once), few parameters, hard to overfit. **Fine-tuning** trains
#   the backbone too (the last stage or everything), with a smaller learning rate for it than
#   for the new head, through optimizer **parameter groups**.
# - Freezing is `requires_grad_(False)` **and** evaluation mode for batch norm, restored after
#   every `model.train()`; frozen parameters stay out of the optimizer.
# - Compare methods fairly: same network, same step budget, several seeds, spreads in the
#   table; say what "all data" means (here about 144 digits per class).
# - The decision table: similar data and little of it → linear head on top features; much
#   of it → fine-tune; different data → earlier features or more fine-tuning, and with enough
#   data and compute, training from scratch competes (a regime this lecture's one-minute
#   budget does not reach).
# - Here, with little compute, a linear head on the frozen backbone's standardized features
#   beat every method that trains convolutions, at 10, 50 and all labels per class; and 1-NN
#   on raw pixels beat them all: print the simple baseline.
# - What transfers can be looked at: first-layer filters, and how well nearest neighbours or
#   a linear classifier separate the target classes in each stage's features.
#
# ## Further reading
#
# - J. Yosinski, J. Clune, Y. Bengio, H. Lipson (2014). How transferable are features in deep
#   neural networks? *NeurIPS*.
# - A. S. Razavian, H. Azizpour, J. Sullivan, S. Carlsson (2014). CNN features off-the-shelf:
#   an astounding baseline for recognition. *CVPR Workshops*.
# - S. Kornblith, J. Shlens, Q. V. Le (2019). Do better ImageNet models transfer better?
#   *CVPR*.
# - J. Donahue, Y. Jia, O. Vinyals, J. Hoffman, N. Zhang, E. Tzeng, T. Darrell (2014).
#   DeCAF: a deep convolutional activation feature for generic visual recognition. *ICML*.
# - K. He, R. Girshick, P. Dollár (2019). Rethinking ImageNet pre-training. *ICCV*.
# - Y. Wu, J. Johnson (2021). Rethinking "batch" in BatchNorm. arXiv:2105.07576 (re-estimating
#   batch-norm statistics after training, "precise BN").
# - A. Zhang, Z. C. Lipton, M. Li, A. J. Smola (2023). *Dive into Deep Learning*, Cambridge
#   University Press, section 14.2 "Fine-Tuning".

# %% [markdown]
# # Lecture 10 — Looking inside CNNs
#
# A trained CNN is a function with tens of thousands of numbers in it. This lecture opens it
# up in three ways: we **look at** what it computes (filters, feature maps, the geometry of
# its last-layer features), we **ask** which pixels a decision depends on (saliency, guided
# backpropagation), and we **optimize images** against it (class visualization, DeepDream,
# texture synthesis and style transfer, feature inversion). Two small experiments end the
# lecture: does a CNN decide by shape or by texture, and what happens to its features when
# training goes on after the training error has reached zero (neural collapse)?
#
# Everything runs on a CPU in about a minute, so every image is small (16 to 96 pixels a
# side) and every optimization takes only 100-150 steps: the pictures are rougher than the
# ones in the papers, for that reason.
#
# **Learning goals.** After this lecture you can
# 1. show a network's first-layer filters and feature maps, and explore its last-layer
#    features with nearest neighbours, PCA and t-SNE;
# 2. compute a saliency map and a guided-backpropagation map and say what each shows;
# 3. write image optimization as gradient ascent or descent on pixels: class visualization,
#    DeepDream, texture synthesis, style transfer and feature inversion;
# 4. compute a Gram matrix, Gatys' style loss, a content loss and total variation;
# 5. measure texture vs shape bias and the four neural-collapse quantities NC1-NC4.
#
# **Networks used.** LeNet-5 trained here on the digits (sections 1-7 and 10); a small
# colour CNN trained here on generated shapes (sections 6 and 9); a layer of random,
# untrained filters (section 8, texture synthesis).

# %% setup

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_sample_images
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from torch import nn

from course import data, grading, interpret, models, plot, style, train

start_time = time.perf_counter()

# %% [markdown]
# ## 1. A network to look at: LeNet-5 on the digits
#
# We train LeNet-5 (lecture 05) on scikit-learn's digits, 28x28 padded to 32x32, for a few
# epochs: enough for the features to mean something.

# %%
split = data.load_digits(image_size=28)
pad = ((0, 0), (0, 0), (2, 2), (2, 2))
X_train, y_train = np.pad(split.X_train, pad), split.y_train
X_test, y_test = np.pad(split.X_test, pad), split.y_test

train.set_seed(0)
lenet = models.LeNet5()
history = train.fit(lenet, train.make_loader(X_train, y_train, batch_size=64), num_epochs=5,
                    lr=3e-3, device=device)
lenet = lenet.cpu().eval()
test_acc = train.accuracy(train.predict(lenet, X_test), y_test)
print(f"LeNet-5: train accuracy {history['train_acc'][-1]:.3f}, test accuracy {test_acc:.3f}")

# %% [markdown]
# ## 2. Filters and feature maps
#
# The first layer's filters live in pixel space, so we can draw them as images: six 5x5
# filters, red positive and blue negative on one colour scale. Below them, the maps they
# produce on one test digit (after the ReLU), and the 16 maps of the second layer.

# %%
digit = torch.from_numpy(X_test[:1])  # (1, 1, 32, 32)
with torch.no_grad():
    maps1 = lenet.features[:2](digit)[0]  # conv1 + ReLU: (6, 28, 28)
    maps2 = lenet.features[:5](digit)[0]  # ... conv2 + ReLU: (16, 10, 10)
filters = lenet.features.conv1.weight.detach()[:, 0]  # (6, 5, 5)
limit = filters.abs().max().item()

fig, axes = plt.subplots(4, 8, figsize=(12, 6.6))
for ax in axes.flat:
    ax.set_axis_off()
plot.image(digit[0], ax=axes[0, 0], title=f"digit {y_test[0]}")
for c in range(6):
    plot.image(filters[c], ax=axes[0, c + 1], cmap="RdBu_r", vmin=-limit, vmax=limit,
               title=f"filter {c}")
    plot.image(maps1[c], ax=axes[1, c + 1], title=f"conv1 map {c}", cmap="viridis")
for c in range(16):
    r, col = divmod(c, 8)
    plot.image(maps2[c], ax=axes[2 + r, col], title=f"conv2 map {c}", cmap="viridis")
for ax in axes.flat:
    ax.title.set_fontsize(9)
fig.suptitle("LeNet-5 on the digits: first-layer filters (top), feature maps (yellow = large)")
plt.show()

# %% [markdown]
# The filters are small edge and blob detectors; each conv1 map lights up where the digit
# has a stroke of the filter's orientation. (In big ImageNet networks the first-layer filters
# are crisp oriented edges and colour blobs; a 6-filter net trained for a few epochs on
# 1,400 blurry digits is noisier.) Deeper maps are coarser and harder to read: that is why
# the rest of the lecture asks the network *questions* instead of staring at its numbers.
#
# ## 3. The last layer: nearest neighbours, PCA and t-SNE
#
# The 84 numbers before LeNet's classifier (the output of `fc2` + ReLU) are a
# representation of the image. Two checks that it is a good one: images whose features are
# close should look alike (nearest neighbours in feature space, compared with neighbours in
# pixel space), and a 2-D projection should separate the classes.

# %%
def last_features(model, X):
    """LeNet-5's 84 features before the classifier. X: (N, 1, 32, 32) -> (N, 84)."""
    with torch.no_grad():
        return model.head[:-1](model.features(torch.as_tensor(X))).numpy()


H_test = last_features(lenet, X_test)
queries = [3, 7, 11]
fig, axes = plt.subplots(2 * len(queries), 6, figsize=(8, 2.9 * len(queries)))
for q, query in enumerate(queries):
    for row, (space, Z) in enumerate((("pixels", X_test.reshape(len(X_test), -1)),
                                      ("features", H_test))):
        distance = np.linalg.norm(Z - Z[query], axis=1)
        nearest = np.argsort(distance)[1:6]  # [0] is the query itself
        ax_row = axes[2 * q + row]
        plot.image(X_test[query], ax=ax_row[0], title=f"query {y_test[query]}, {space}")
        for ax, k in zip(ax_row[1:], nearest, strict=True):
            plot.image(X_test[k], ax=ax, title=f"label {y_test[k]}")
fig.suptitle("five nearest test digits: by pixel distance, then by LeNet feature distance")
plt.tight_layout()
plt.show()

# %%
pca_2d = PCA(n_components=2).fit_transform(H_test)
tsne_2d = TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(H_test)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
for ax, Z, name in ((axes[0], pca_2d, "PCA"), (axes[1], tsne_2d, "t-SNE")):
    points = ax.scatter(Z[:, 0], Z[:, 1], c=y_test, cmap="tab10", s=8, vmin=-0.5, vmax=9.5)
    ax.set_title(name)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
fig.suptitle(f"LeNet's 84 last-layer features of {len(H_test)} test digits in 2-D")
plt.show()

# %% [markdown]
# PCA is linear and keeps the directions of largest variance: several classes already
# separate, others overlap. t-SNE (van der Maaten and Hinton, 2008) keeps *neighbourhoods*
# instead of distances and shows ten clusters; distances between t-SNE clusters, and their
# sizes, mean little.
#
# ## 4. Saliency maps
#
# Which pixels does the score $S_c$ of class $c$ depend on? To first order,
# $S_c(I + \delta) \approx S_c(I) + \nabla_I S_c \cdot \delta$, so the pixels with a large
# gradient are those where a small change moves the score most. The **saliency map**
# (Simonyan et al., 2014) is the absolute gradient, with the maximum over colour channels:
#
# $$M_{ij} = \max_c \left|\frac{\partial S_y}{\partial I_{c,i,j}}\right|.$$
#
# It takes one backward pass. The code below is all of it; the cell checks it against
# `course.interpret.saliency`.

# %%
def saliency_map(model, X, y):
    """|d S_y / d X| with the max over channels. X: (N, C, H, W), y: (N,) -> (N, H, W)."""
    X = X.clone().requires_grad_(True)
    scores = model(X)  # (N, K)
    scores.gather(1, y[:, None]).sum().backward()  # sum: every image gets its own gradient
    return X.grad.abs().amax(dim=1)


X_show = torch.from_numpy(X_test[:8])
y_show = torch.from_numpy(y_test[:8])
sal = saliency_map(lenet, X_show, y_show)
assert torch.allclose(sal, interpret.saliency(lenet, X_show, y_show))
guided = interpret.guided_backprop(lenet, X_show, y_show)  # (8, 1, 32, 32), section 5

fig, axes = plt.subplots(3, 8, figsize=(12, 4.8))
for i in range(8):
    plot.image(X_show[i], ax=axes[0, i], title=f"label {y_show[i].item()}")
    plot.image(sal[i], ax=axes[1, i], cmap="hot")
    g = guided[i, 0]
    plot.image(g, ax=axes[2, i], cmap="RdBu_r", vmin=-g.abs().max(), vmax=g.abs().max())
axes[1, 0].set_ylabel("saliency")
axes[2, 0].set_ylabel("guided\nbackprop")
fig.suptitle("LeNet-5: saliency (black = 0, white = largest, per image) and guided "
             "backpropagation (red > 0 > blue)")
plt.show()

# %% [markdown]
# The saliency is spread over the digit and the empty pixels around it: ink there would
# change the digit (a 3 with a closing stroke on the left is an 8). It is noisy, because
# the gradient of a ReLU network jumps from pixel to pixel.
#
# **Exercise.** For a *linear* model $S = W \operatorname{vec}(I) + b$ the gradient of $S_c$
# is the row $w_c$ whatever the image. Compute the saliency map of class 2 of the linear
# model below directly from its weights (no autograd), as a `(4, 5)` tensor.

# %%
# exercise: saliency of a linear model
torch.manual_seed(0)
linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 6))
answer = None  # your code here: from linear[1].weight, shape (4, 5)
expected = interpret.saliency(linear, torch.rand(1, 3, 4, 5), 2)[0]
grading.exercise("saliency of class 2", answer, expected,
                 hint="reshape row 2 of the weight to (3, 4, 5), abs, max over dim 0")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: saliency of a linear model
# torch.manual_seed(0)
# linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 6))
# answer = linear[1].weight[2].detach().reshape(3, 4, 5).abs().amax(dim=0)
# expected = interpret.saliency(linear, torch.rand(1, 3, 4, 5), 2)[0]
# grading.exercise("saliency of class 2", answer, expected,
#                  hint="reshape row 2 of the weight to (3, 4, 5), abs, max over dim 0")
# ```
# </details>
#
# ## 5. Guided backpropagation
#
# In the backward pass a ReLU passes the gradient where its input was positive. **Guided
# backpropagation** (Springenberg et al., 2015) also drops the *negative* gradients there:
#
# $$\frac{\partial L}{\partial x} = \mathbb{1}[x > 0] \cdot \max\!\Big(\frac{\partial L}
# {\partial y}, 0\Big) \qquad \text{for } y = \operatorname{ReLU}(x),$$
#
# so only paths that *increase* the score reach the image. `interpret.guided_backprop` does
# it with a custom autograd function attached to every `nn.ReLU` by a forward hook (removed
# afterwards). The third row of the figure above shows the result: sharper, stroke-shaped
# maps. It is not a faithful explanation, though: Adebayo et al. (2018) showed that guided
# backpropagation gives almost the same picture for a network with *random* weights: it
# behaves partly like an edge detector of the input. The cell measures that on LeNet.

# %%
def correlation(a, b):
    """Pearson correlation of two tensors' entries, taken as flat vectors."""
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


train.set_seed(1)
random_lenet = models.LeNet5().eval()
for name, fn in (("saliency", interpret.saliency), ("guided", interpret.guided_backprop)):
    trained_map = fn(lenet, X_show, y_show).abs()
    random_map = fn(random_lenet, X_show, y_show).abs()
    print(f"{name:9s}: correlation of |map| between trained and random LeNet "
          f"{correlation(trained_map, random_map):.2f}")

# %% [markdown]
# Neither map is the same for a random network, but the guided maps of the trained and the
# random LeNet are more alike than the saliency maps (the printed correlations): part of
# what guided backpropagation shows comes from the image, not from what the network learned.

# %% [markdown]
# ## 6. Class visualization and DeepDream: gradient *ascent* on the image
#
# Turn the question around: which image makes the score of class $c$ large? Gradient ascent
# on the pixels solves
#
# $$I^\star = \arg\max_I\; S_c(I) - \lambda \|I\|_2^2 .$$
#
# Without the penalty the answer is high-frequency noise that the network scores highly but
# no one would call a digit; the L2 penalty, an occasional Gaussian **blur**, random
# **jitter** (shifting the image by a pixel or two before each step) and **clipping** to the
# valid pixel range push it towards natural-looking images (Yosinski et al., 2015).
# `interpret.class_visualization` runs that loop; here for each digit class, 100 steps.

# %%
class_images = torch.cat([
    interpret.class_visualization(lenet, c, (1, 32, 32), steps=100, lr=0.05, l2=1e-3,
                                  max_jitter=2, blur_every=10, blur_sigma=0.5)
    for c in range(10)
])
with torch.no_grad():
    probs = lenet(class_images).softmax(dim=1).diagonal()
fig, axes = plt.subplots(1, 10, figsize=(13, 1.9))
for c in range(10):
    plot.image(class_images[c], ax=axes[c], title=f"{c}: p={probs[c]:.2f}", vmin=0, vmax=1)
fig.suptitle("LeNet-5: images that maximize each class score (black 0, white 1)", y=1.1)
plt.show()

# %% [markdown]
# The network is sure of each image (the softmax probability is printed above it), and some
# classes show the strokes one expects (a loop, a bar); others are patterns of stroke
# fragments: the network needs the parts, not their arrangement.
#
# **DeepDream** (Mordvintsev et al., 2015) ascends a *layer's* activations instead of a
# class score, starting from a photo: maximize $\frac12\|a(I)\|^2$, whose gradient with
# respect to the activations is $a$ itself, so whatever the layer sees a little of gets
# amplified. LeNet sees one grey channel, so we dream with a small colour CNN trained on
# the course's shapes (section 9 trains it; we return to it there).
#
# ## 7. Gram matrices and style
#
# Gatys, Ecker and Bethge (2015) described a *texture* by the correlations between the
# channels of a layer. With the $N$ feature maps of a layer flattened to the rows of
# $F \in \mathbb{R}^{N \times M}$ ($M = HW$ positions), the **Gram matrix** is
#
# $$G = F F^\top \in \mathbb{R}^{N \times N}, \qquad G_{cd} = \sum_{k=1}^{M} F_{ck} F_{dk}.$$
#
# It sums over positions, so it forgets *where* things are and keeps *which features occur
# together*: exactly what a texture is. The style loss of layer $l$ between an image
# (Gram $G$) and a style image (Gram $\hat G$) is
#
# $$E_l = \frac{1}{4 N^2 M^2} \sum_{c,d} (G_{cd} - \hat G_{cd})^2 ,$$
#
# the **content loss** keeps the feature maps $P$ of a content image, $L_{\text{content}} =
# \frac12 \sum (F - P)^2$, and **total variation** $\text{TV}(I) = \sum (I_{i+1,j} -
# I_{ij})^2 + (I_{i,j+1} - I_{ij})^2$ keeps the image smooth. `course.style` divides its
# Gram matrix by $M$ (an average over positions, comparable between image sizes), so its
# style loss reads $\sum (G/M - \hat G/M)^2 / (4N^2)$, the same number. The cell writes the
# formulas out and checks them against `course.style`.

# %%
def gram(F):
    """G = F Fᵀ of one image's maps F: (C, H, W) -> (C, C), not normalized."""
    C = F.shape[0]
    F = F.reshape(C, -1)  # (N = C, M = H*W)
    return F @ F.T


def layer_style_loss(F, F_style):
    """Gatys' E_l between maps F and F_style, both (C, H, W)."""
    N, M = F.shape[0], F.shape[1] * F.shape[2]
    return ((gram(F) - gram(F_style)) ** 2).sum() / (4 * N**2 * M**2)


torch.manual_seed(0)
F_img, F_sty = torch.rand(4, 6, 5), torch.rand(4, 6, 5)
M = 6 * 5
assert torch.allclose(gram(F_img) / M, style.gram_matrix(F_img[None])[0])
ours = layer_style_loss(F_img, F_sty)
theirs = style.style_loss(F_img[None], style.gram_matrix(F_sty[None])[0])
assert torch.allclose(ours, theirs)
print(f"E_l by the formula {ours:.6f} == course.style.style_loss {theirs:.6f}")

# %% [markdown]
# **Exercise.** The feature map below has two channels and three positions: channel 0 is
# $(1, 0, 2)$ and channel 1 is $(3, 1, 1)$. Write down its Gram matrix $G = FF^\top$ (not
# normalized) as a 2x2 nested list, by hand.

# %%
# exercise: a Gram matrix by hand
features = torch.tensor([[1.0, 0.0, 2.0], [3.0, 1.0, 1.0]]).reshape(1, 2, 1, 3)
answer = None  # your code here: [[G00, G01], [G10, G11]]
expected = style.gram_matrix(features)[0] * 3  # course.style divides by M = 3 positions
grading.exercise("Gram matrix", answer, expected,
                 hint="G[c][d] = sum over positions of channel c times channel d")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: a Gram matrix by hand
# features = torch.tensor([[1.0, 0.0, 2.0], [3.0, 1.0, 1.0]]).reshape(1, 2, 1, 3)
# answer = [[1 + 0 + 4, 3 + 0 + 2], [3 + 0 + 2, 9 + 1 + 1]]
# expected = style.gram_matrix(features)[0] * 3  # course.style divides by M = 3 positions
# grading.exercise("Gram matrix", answer, expected,
#                  hint="G[c][d] = sum over positions of channel c times channel d")
# ```
# </details>
#
# **Exercise.** Compute the total variation of the 2x3 image $\begin{pmatrix} 0 & 1 & 1 \\
# 2 & 1 & 0 \end{pmatrix}$ with slicing (no loops).

# %%
# exercise: total variation
image = torch.tensor([[0.0, 1.0, 1.0], [2.0, 1.0, 0.0]])
answer = None  # your code here
expected = style.total_variation(image[None, None])
grading.exercise("total variation", answer, expected,
                 hint="(image[1:] - image[:-1]) ** 2 and (image[:, 1:] - image[:, :-1]) ** 2")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: total variation
# image = torch.tensor([[0.0, 1.0, 1.0], [2.0, 1.0, 0.0]])
# answer = ((image[1:] - image[:-1]) ** 2).sum() + ((image[:, 1:] - image[:, :-1]) ** 2).sum()
# expected = style.total_variation(image[None, None])
# grading.exercise("total variation", answer, expected,
#                  hint="(image[1:] - image[:-1]) ** 2 and (image[:, 1:] - image[:, :-1]) ** 2")
# ```
# </details>
#
# ## 8. Texture synthesis and style transfer on photos
#
# **Texture synthesis**: start from noise and descend $\sum_l E_l$ until the image has the
# Gram matrices of a texture photo. **Style transfer** (Gatys et al., 2016): start from a
# content photo and descend $\alpha L_{\text{content}} + \beta \sum_l E_l + \gamma\,
# \text{TV}$. Both only need *some* feature maps. Gatys used VGG-19 trained on ImageNet;
# Ustyuzhaninov et al. (2016) found that one layer of **random, untrained** filters at
# several sizes (3 to 15 pixels here, 32 filters each) already describes textures well.
# Random filters need no download, so they are what we use; `style.vgg19_features()` gives
# VGG-19's maps instead when its weights can be downloaded (the last cell of this section
# tries, and skips with a message offline).
#
# The photos are the ones scikit-learn ships (`load_sample_images`: a Chinese temple and a
# dahlia) and matplotlib's portrait of Grace Hopper, all shrunk to 64-80 pixels; 150 Adam
# steps each.

# %%
def to_tensor(photo):
    """An (H, W, 3) photo (uint8 or [0, 1] floats) as a (1, 3, H, W) float tensor."""
    x = torch.as_tensor(np.asarray(photo, dtype=np.float32))
    return (x / 255 if x.max() > 1 else x).permute(2, 0, 1)[None]


china_full, flower_full = (to_tensor(p) for p in load_sample_images().images)  # 427x640
china = F.interpolate(china_full, size=(120, 180), mode="area")
flower = F.interpolate(flower_full, size=(120, 180), mode="area")
hopper = to_tensor(data.load_photo(size=(80, 64)))
textures = {"dahlia petals": flower[:, :, 30:94, 60:124], "temple roof": china[:, :, 20:84, 30:94]}

random_features = style.RandomFeatures(kernel_sizes=(3, 5, 7, 11, 15), width=32, seed=0)


def texture_loss(target_grams):
    """Sum of the style losses over the random-feature scales (times 1e6 to read it easily),
    plus a little total variation."""
    def loss(x):
        maps = random_features(x)
        E = sum(style.style_loss(f, g) for f, g in zip(maps, target_grams, strict=True))
        return 1e6 * E + 1e-3 * style.total_variation(x)
    return loss


noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
synthesized = {}
for name, texture in textures.items():
    grams = [style.gram_matrix(f) for f in random_features(texture)]
    synthesized[name], losses = style.synthesize(texture_loss(grams), noise, steps=150,
                                                 lr=0.03, record_every=149)
    print(f"{name}: loss {losses[0]:.1f} at the start, {losses[-1]:.2f} after 150 steps")

# %%
style_image = textures["dahlia petals"]
style_grams = [style.gram_matrix(f) for f in random_features(style_image)]
content_maps = random_features(hopper)[-1]  # the 15x15 filters: coarse layout


def transfer_loss(x):
    maps = random_features(x)
    E = sum(style.style_loss(f, g) for f, g in zip(maps, style_grams, strict=True))
    return 1e6 * E + 1e-2 * style.content_loss(maps[-1], content_maps) \
        + 1e-3 * style.total_variation(x)


stylized, _ = style.synthesize(transfer_loss, hopper, steps=150, lr=0.03)

fig, axes = plt.subplots(1, 7, figsize=(15, 2.8))
pictures = [("texture: dahlia", textures["dahlia petals"]),
            ("synthesized", synthesized["dahlia petals"]),
            ("texture: temple", textures["temple roof"]),
            ("synthesized", synthesized["temple roof"]),
            ("content", hopper), ("style", style_image), ("style transfer", stylized)]
for ax, (title, img) in zip(axes, pictures, strict=True):
    plot.image(img[0], ax=ax, title=title)
fig.suptitle("Gram-matrix textures and style transfer with one layer of random filters "
             "(64-80 px, 150 steps)", y=1.04)
plt.show()

# %% [markdown]
# The synthesized textures have the colours and the blob sizes of their sources, with the
# layout scrambled: a Gram matrix does not know where anything was. The style transfer
# keeps Grace Hopper's silhouette (the content loss on the coarsest filters) and paints it
# in the dahlia's oranges. With VGG-19's deeper features, strokes and petals would be
# reproduced as well; the optional cell below runs it when the weights can be downloaded.

# %%
vgg = style.vgg19_features()
if vgg is not None:  # online, or weights cached: the same transfer with VGG-19 (slower)
    vgg_grams = [style.gram_matrix(f) for f in vgg(style_image)]
    vgg_content = vgg(hopper)[3]

    def vgg_loss(x):
        maps = vgg(x)
        E = sum(style.style_loss(f, g) for f, g in zip(maps, vgg_grams, strict=True))
        return 1e3 * E + 1e-2 * style.content_loss(maps[3], vgg_content)

    vgg_stylized, _ = style.synthesize(vgg_loss, hopper, steps=150, lr=0.03)
    plot.image(vgg_stylized[0], title="style transfer with VGG-19 (ImageNet weights)")
    plt.show()

# %% [markdown]
# **Feature inversion** (Mahendran and Vedaldi, 2015) asks what a layer *keeps* of an
# image: start from grey and descend the content loss alone, $\frac12\|\phi(I) -
# \phi(I_0)\|^2$ (plus a little TV), for the maps $\phi$ of LeNet at increasing depth.

# %%
target_digit = torch.from_numpy(X_test[5:6])  # (1, 1, 32, 32)
layers = {"conv1": lenet.features[:2], "conv2 + pool": lenet.features,
          "fc2 (84 numbers)": lambda x: lenet.head[:-1](lenet.features(x))}
grey = torch.full_like(target_digit, 0.5)
fig, axes = plt.subplots(1, 4, figsize=(9, 2.6))
plot.image(target_digit[0], ax=axes[0], title=f"original ({y_test[5]})", vmin=0, vmax=1)
for ax, (name, phi) in zip(axes[1:], layers.items(), strict=True):
    phi_0 = phi(target_digit).detach()

    def inversion_loss(x, phi=phi, phi_0=phi_0):
        return style.content_loss(phi(x), phi_0) + 1e-2 * style.total_variation(x)

    inverted, _ = style.synthesize(inversion_loss, grey, steps=150, lr=0.05)
    plot.image(inverted[0], ax=ax, title=f"from {name}", vmin=0, vmax=1)
fig.suptitle("LeNet-5: images whose features match the original's (feature inversion)",
             y=1.06)
plt.show()

# %% [markdown]
# The first layer keeps nearly everything: the inversion is the digit. After pooling the
# strokes survive but their exact placement blurs, and the 84 features of `fc2` keep only
# what the classifier needs: a digit-like pattern of the right class, not this digit.
#
# ## 9. Shape or texture? A cue-conflict experiment
#
# Geirhos et al. (2019) showed ImageNet CNNs images whose shape says one class and whose
# texture another (a cat shape with elephant skin): the networks mostly followed the
# *texture*, people the *shape*. Training on stylized images (texture randomized) made the
# networks shape-biased. We repeat the experiment in miniature: three shapes (disc, square,
# triangle) filled with one of three textures (horizontal stripes, checkerboard, dots).
#
# - **data A (texture correlated)**: each shape always comes with its own texture, so
#   either cue solves the task;
# - **data B (texture random)**: textures are drawn at random, so only shape works.
#
# Both networks are then tested on **cue-conflict** images whose texture belongs to a
# different class than their shape; the *shape bias* is the share of shape decisions among
# the decisions that follow shape or texture.

# %%
SIDE = 32


def shape_masks(kind, n, rng):
    """n masks (n, SIDE, SIDE) of one shape (0 disc, 1 square, 2 triangle), random size and
    position."""
    r = rng.uniform(7, 11, n)[:, None, None]
    cx, cy = (rng.uniform(12, 20, n)[:, None, None] for _ in range(2))
    y, x = np.mgrid[:SIDE, :SIDE] + 0.5
    dx, dy = x - cx, y - cy
    if kind == 0:
        return np.hypot(dx, dy) < r
    if kind == 1:
        return np.maximum(np.abs(dx), np.abs(dy)) < 0.8 * r
    return (dy < 0.6 * r) & (dy > 1.6 * np.abs(dx) - r)  # a triangle pointing up


def textures_of(kind, n, rng):
    """n texture images (n, SIDE, SIDE) in {0, 1}: 0 stripes, 1 checkerboard, 2 dots."""
    y, x = np.mgrid[:SIDE, :SIDE]
    phase = rng.integers(0, 4, (n, 1, 1))
    if kind == 0:
        return ((y + phase) // 2) % 2 == 0
    if kind == 1:
        return ((x + phase) // 2 + (y + phase) // 2) % 2 == 0
    return ((x + phase) % 4 < 2) & ((y + phase) % 4 < 2)  # 2x2 dots every 4 pixels


def cue_images(shapes, textures_, rng):
    """Images (n, 3, SIDE, SIDE): shape filled with texture, random colours, grey noise."""
    n = len(shapes)
    X = np.empty((n, 3, SIDE, SIDE), dtype=np.float32)
    for k in range(3):
        for t in range(3):
            idx = np.flatnonzero((shapes == k) & (textures_ == t))
            if len(idx):
                fill = textures_of(t, len(idx), rng)
                X[idx] = (shape_masks(k, len(idx), rng) * (0.35 + 0.65 * fill))[:, None]
    colour = rng.uniform(0.4, 1.0, (n, 3, 1, 1))
    return np.clip(X * colour + rng.normal(0.15, 0.05, X.shape), 0, 1).astype(np.float32)


rng = np.random.default_rng(0)
n_train = 900
shapes_train = rng.integers(0, 3, n_train)
X_A = cue_images(shapes_train, shapes_train, rng)  # texture = shape's own texture
X_B = cue_images(shapes_train, rng.integers(0, 3, n_train), rng)  # texture at random
shapes_conflict = rng.integers(0, 3, 300)
textures_conflict = (shapes_conflict + rng.integers(1, 3, 300)) % 3  # never its own texture
X_conflict = cue_images(shapes_conflict, textures_conflict, rng)

names = ("disc", "square", "triangle")
fig, axes = plt.subplots(1, 8, figsize=(12, 1.9))
for ax, i in zip(axes[:4], range(4), strict=True):
    plot.image(X_A[i], ax=ax, title=f"A: {names[shapes_train[i]]}")
for ax, i in zip(axes[4:], range(4), strict=True):
    plot.image(X_conflict[i], ax=ax,
               title=f"{names[shapes_conflict[i]]} / {names[textures_conflict[i]]}'s tex.")
fig.suptitle("training images of data A (left) and cue-conflict test images: shape / texture",
             y=1.12)
plt.show()

# %%
def small_cnn():
    """A small colour CNN for 32x32 images: two conv stages, global average pooling."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 3),
    )


cue_nets = {}
for name, X in (("A: texture correlated", X_A), ("B: texture random", X_B)):
    train.set_seed(0)
    net = small_cnn()
    train.fit(net, train.make_loader(X, shapes_train, batch_size=64), num_epochs=6, lr=3e-3,
              progress=False, device=device)
    cue_nets[name] = net.cpu().eval()
    pred = train.predict(net, X_conflict)
    by_shape = (pred == shapes_conflict).mean()
    by_texture = (pred == textures_conflict).mean()
    print(f"{name}: train acc {train.accuracy(train.predict(net, X), shapes_train):.2f} | "
          f"cue conflict: follows shape {by_shape:.2f}, texture {by_texture:.2f}, "
          f"shape bias {by_shape / (by_shape + by_texture):.2f}")

# %% [markdown]
# When texture is available and easy (data A), the network leans on it: its decisions on
# cue-conflict images follow the texture more than the shape. When texture carries no
# information (data B), it has to learn shape, and its decisions follow the shape; shape
# is the harder cue, so in the same 6 epochs it fits its training set less well (compare
# the printed training accuracies). Which cue a CNN uses is decided by the
# training data, not by the architecture: the argument of Geirhos et al. for training on
# stylized images.
#
# Now the DeepDream of section 6, with the shape-trained network B: 20 ascent steps on the
# activations of its last convolution (+ ReLU), starting from Grace Hopper at 96x76 pixels.

# %%
dream_net = cue_nets["B: texture random"]
hopper_big = to_tensor(data.load_photo(size=(96, 76)))
dreamed = interpret.deep_dream(dream_net, dream_net[7], hopper_big, steps=20, lr=0.02)
fig, axes = plt.subplots(1, 3, figsize=(8, 3.4))
plot.image(hopper_big[0], ax=axes[0], title="photo")
plot.image(dreamed[0], ax=axes[1], title="DeepDream, 20 steps")
change = (dreamed - hopper_big)[0].abs().amax(dim=0)
axes[2].imshow(change, cmap="magma")
axes[2].set_axis_off()
axes[2].set_title("|change| (max over RGB)")
fig.colorbar(axes[2].images[0], ax=axes[2], fraction=0.05)
fig.suptitle("DeepDream with the small CNN trained on shapes (data B)", y=1.02)
plt.show()

# %% [markdown]
# The network's last layer knows edges, corners and stripes of shapes, and those are what
# appears: fine oriented stripes and corner-like marks, strongest along the edges of the
# portrait (the right panel shows where the pixels changed). DeepDream with a large
# ImageNet network paints dog faces and eyes for the same reason: those are what its layers
# were trained to see.
#
# ## 10. Neural collapse
#
# Papyan, Han and Donoho (2020) followed the last-layer features $h_i$ of classifiers
# trained **beyond zero training error** and found four things happening together:
#
# - **NC1, variability collapse**: features of one class shrink to their class mean $\mu_c$.
#   Measured by $\operatorname{tr}(\Sigma_W \Sigma_B^+)/C$, within-class covariance in units
#   of between-class covariance;
# - **NC2, simplex ETF**: the centred class means $\mu_c - \mu_G$ get equal lengths and equal,
#   maximal angles, the *simplex equiangular tight frame* $M^\star = \sqrt{C/(C-1)}\,(I -
#   \mathbf{1}\mathbf{1}^\top / C)$, whose rows have cosine $-1/(C-1)$;
# - **NC3, self-duality**: the classifier's weight rows line up with the centred means;
# - **NC4**: the network's decision becomes "the nearest class mean".
#
# We train LeNet-5 on 20 digits per class (at 16x16 pixels, to be quick) with SGD and weight
# decay, far past zero training error, and measure all four every 10 epochs with
# `interpret.neural_collapse` on the 84 features before the classifier.
#
# **Exercise.** Build $M^\star$ for $C = 4$ classes from the formula and check its rows'
# cosines.

# %%
# exercise: the simplex ETF
C = 4
answer = None  # your code here: the (4, 4) matrix M*
expected = interpret.simplex_etf(4)
grading.exercise("simplex ETF for C = 4", answer, expected,
                 hint="(C / (C - 1)) ** 0.5 * (torch.eye(C) - torch.ones(C, C) / C)")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# # exercise: the simplex ETF
# C = 4
# answer = (C / (C - 1)) ** 0.5 * (torch.eye(C) - torch.ones(C, C) / C)
# print("cosines of row 0:", (answer @ answer.T)[0])  # 1 and -1/3
# expected = interpret.simplex_etf(4)
# grading.exercise("simplex ETF for C = 4", answer, expected,
#                  hint="(C / (C - 1)) ** 0.5 * (torch.eye(C) - torch.ones(C, C) / C)")
# ```
# </details>

# %%
small = data.load_digits(image_size=16)
pick = np.concatenate([np.flatnonzero(small.y_train == c)[:20] for c in range(10)])
X_small, y_small = torch.from_numpy(small.X_train[pick]), torch.from_numpy(small.y_train[pick])

train.set_seed(0)
nc_net = models.LeNet5(image_size=16)
optimizer = torch.optim.SGD(nc_net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-3)
generator = torch.Generator().manual_seed(0)
record = {"epoch": [], "train error": [], "NC1": [], "NC2": [], "NC3": [], "NC4": []}
for epoch in range(1, 121):
    nc_net.train()
    for batch in torch.randperm(len(X_small), generator=generator).split(50):
        optimizer.zero_grad()
        F.cross_entropy(nc_net(X_small[batch]), y_small[batch]).backward()
        optimizer.step()
    if epoch % 10 == 0:
        nc_net.eval()
        with torch.no_grad():
            H = nc_net.head[:-1](nc_net.features(X_small))  # (200, 84)
            predictions = nc_net.head.fc3(H).argmax(dim=1)
        measures = interpret.neural_collapse(H, y_small, nc_net.head.fc3.weight, predictions)
        record["epoch"].append(epoch)
        record["train error"].append((predictions != y_small).float().mean().item())
        for key, value in measures.items():
            record[key].append(value)
for i, epoch in enumerate(record["epoch"]):
    print(f"epoch {epoch:3d}: " + ", ".join(f"{k} {v[i]:.3f}" for k, v in record.items()
                                           if k != "epoch"))

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
axes[0].semilogy(record["epoch"], record["NC1"], "-o", ms=3)
axes[0].set_ylabel(r"NC1 = tr($\Sigma_W \Sigma_B^+$)/C  (log scale)")
for key in ("NC2", "NC3"):
    axes[1].plot(record["epoch"], record[key], "-o", ms=3, label=key)
axes[1].set_ylabel("distance (0 = collapse)")
axes[1].legend()
axes[2].plot(record["epoch"], record["train error"], "-o", ms=3, label="training error")
axes[2].plot(record["epoch"], 1 - np.array(record["NC4"]), "-s", ms=3,
             label="1 - NC4 (disagreement with nearest mean)")
axes[2].set_ylabel("share of the 200 digits")
axes[2].legend(loc="upper right", fontsize=8)
zero = next((e for e, err in zip(record["epoch"], record["train error"], strict=True)
             if err == 0), None)
for ax in axes:
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    if zero is not None:
        ax.axvline(zero, color="grey", ls=":")
fig.suptitle("neural collapse of LeNet-5 on 200 digits (dotted: first epoch with zero "
             "training error)")
plt.tight_layout()
plt.show()

# %% [markdown]
# NC1 falls steeply while the training error falls and keeps drifting down, unevenly,
# once the error is at or near zero (the dotted line): the classes tighten although
# hardly any prediction changes, and NC4 ends close to full agreement (the printed table). NC2 and NC3 move much more slowly on this small network and short run: the
# means are far from an ETF still. Papyan et al. trained for hundreds of epochs with
# larger networks; try `range(1, 401)` to see them fall further.
#
# **Check yourself.** Why does NC1 use the *pseudo*-inverse of $\Sigma_B$?
#
# <details><summary>Answer</summary>
#
# $\Sigma_B$ is built from $C$ centred means, which sum to zero: they span at most $C - 1$
# dimensions, and the features have $D = 84 > C - 1$. So $\Sigma_B$ is singular and has no
# inverse; the pseudo-inverse inverts it on the span of the means, the only directions in
# which "between-class units" are defined.
# </details>
#
# **Check yourself.** A saliency map is almost zero on a background pixel. Does that mean
# the network would ignore a large change of that pixel?
#
# <details><summary>Answer</summary>
#
# No. The gradient is a *local*, first-order statement: it says what a tiny change does.
# A ReLU network is piecewise linear, and a large change can cross into a region where the
# pixel matters a lot (adversarial examples, lecture 11, exploit exactly this).
# </details>

# %%
print(f"the whole notebook ran in {time.perf_counter() - start_time:.0f} s")

# %% [markdown]
# ## Summary
#
# - First-layer filters and feature maps can be looked at directly; last-layer features are
#   explored with nearest neighbours, PCA and t-SNE.
# - A saliency map is $\max_c |\partial S_y / \partial I_c|$, one backward pass; guided
#   backpropagation also drops negative gradients at ReLUs, giving sharper maps that depend
#   partly on the input alone.
# - Class visualization, DeepDream, texture synthesis, style transfer and feature inversion
#   are all gradient steps on *pixels* with the weights fixed; they differ in the objective
#   (a class score, a layer's energy, Gram matrices, content maps) and the regularizers (L2,
#   blur, jitter, clipping, total variation).
# - A Gram matrix $G = FF^\top$ keeps which features occur together and forgets where:
#   a texture. Gatys' style loss is $\frac{1}{4N^2M^2}\sum (G - \hat G)^2$.
# - Whether a CNN uses shape or texture depends on its training data.
# - Trained past zero error, last-layer features collapse to their class means (NC1
#   falling), which move towards a simplex ETF (NC2), align with the classifier (NC3), and
#   the network becomes a nearest-class-mean rule (NC4).
#
# ## Further reading
#
# - K. Simonyan, A. Vedaldi, A. Zisserman. *Deep inside convolutional networks: visualising
#   image classification models and saliency maps.* ICLR 2014 workshop (arXiv:1312.6034).
# - J. T. Springenberg, A. Dosovitskiy, T. Brox, M. Riedmiller. *Striving for simplicity:
#   the all convolutional net.* ICLR 2015 workshop (arXiv:1412.6806).
# - J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim. *Sanity checks for
#   saliency maps.* NeurIPS 2018.
# - J. Yosinski, J. Clune, A. Nguyen, T. Fuchs, H. Lipson. *Understanding neural networks
#   through deep visualization.* ICML 2015 Deep Learning Workshop (arXiv:1506.06579).
# - A. Mordvintsev, C. Olah, M. Tyka. *Inceptionism: going deeper into neural networks.*
#   Google Research Blog, 2015.
# - L. A. Gatys, A. S. Ecker, M. Bethge. *Texture synthesis using convolutional neural
#   networks.* NeurIPS 2015.
# - L. A. Gatys, A. S. Ecker, M. Bethge. *Image style transfer using convolutional neural
#   networks.* CVPR 2016.
# - I. Ustyuzhaninov, W. Brendel, L. A. Gatys, M. Bethge. *Texture synthesis using shallow
#   convolutional networks with random filters.* arXiv:1606.00021, 2016.
# - A. Mahendran, A. Vedaldi. *Understanding deep image representations by inverting them.*
#   CVPR 2015.
# - R. Geirhos, P. Rubisch, C. Michaelis, M. Bethge, F. A. Wichmann, W. Brendel.
#   *ImageNet-trained CNNs are biased towards texture; increasing shape bias improves
#   accuracy and robustness.* ICLR 2019.
# - V. Papyan, X. Y. Han, D. L. Donoho. *Prevalence of neural collapse during the terminal
#   phase of deep learning training.* PNAS 117(40):24652–24663, 2020.
# - L. van der Maaten, G. Hinton. *Visualizing data using t-SNE.* JMLR 9:2579–2605, 2008.

"""course.interpret and course.style against closed forms, autograd, scikit-learn and (when
installed) Captum."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course import interpret, style


def small_cnn(seed: int = 0, inplace: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=inplace),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(inplace=inplace),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 5),
    )


def params(model):
    return [p.detach().clone() for p in model.parameters()]


# --- saliency ---


def test_saliency_of_a_linear_model_is_abs_weight_max_over_channels():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 5, 7))
    x = torch.randn(6, 3, 4, 5)
    target = torch.tensor([0, 1, 2, 3, 4, 6])
    got = interpret.saliency(model, x, target)
    w = model[1].weight.detach().reshape(7, 3, 4, 5)  # the gradient of score k is w_k
    expected = w[target].abs().amax(dim=1)
    torch.testing.assert_close(got, expected)


def test_saliency_leaves_model_input_and_mode_alone():
    model = nn.Sequential(small_cnn(), nn.Dropout(0.5)).train()
    before, x = params(model), torch.rand(2, 3, 8, 8)
    x_before = x.clone()
    a = interpret.saliency(model, x, 1)
    b = interpret.saliency(model, x, 1)
    torch.testing.assert_close(a, b)  # eval mode inside: dropout off, so deterministic
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    assert torch.equal(x, x_before) and not x.requires_grad


def test_saliency_matches_autograd_per_image():
    model, x = small_cnn(1), torch.rand(3, 3, 8, 8)
    got = interpret.saliency(model, x, [4, 0, 2])
    for i, k in enumerate([4, 0, 2]):
        xi = x[i : i + 1].clone().requires_grad_(True)
        model(xi)[0, k].backward()
        torch.testing.assert_close(got[i], xi.grad[0].abs().max(dim=0).values)


@pytest.mark.parametrize(
    "bad", [torch.rand(3, 8, 8), torch.zeros(1, 3, 8, 8, dtype=torch.long), np.zeros((1, 3, 8, 8))]
)
def test_saliency_rejects_inputs_that_are_not_float_images(bad):
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        interpret.saliency(small_cnn(), bad, 0)


def test_saliency_rejects_bad_targets():
    with pytest.raises(ValueError, match="target"):
        interpret.saliency(small_cnn(), torch.rand(2, 3, 8, 8), [0, 1, 2])


# --- guided backpropagation ---


def test_guided_backprop_of_a_two_layer_relu_net_by_hand():
    torch.manual_seed(3)
    W1, W2, v = torch.randn(8, 12), torch.randn(6, 8), torch.randn(2, 6)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8, bias=False), nn.ReLU(),
        nn.Linear(8, 6, bias=False), nn.ReLU(), nn.Linear(6, 2, bias=False),
    )
    with torch.no_grad():
        model[1].weight.copy_(W1), model[3].weight.copy_(W2), model[5].weight.copy_(v)
    x = torch.randn(1, 3, 2, 2)
    z1 = W1 @ x.flatten()
    z2 = W2 @ torch.relu(z1)
    g2 = v[1].clamp(min=0) * (z2 > 0)  # only positive gradients, only through active units
    g1 = (W2.T @ g2).clamp(min=0) * (z1 > 0)
    expected = (W1.T @ g1).reshape(1, 3, 2, 2)
    torch.testing.assert_close(interpret.guided_backprop(model, x, 1), expected)


def test_guided_backprop_removes_its_hooks_and_needs_relu_modules():
    model, x = small_cnn(2), torch.rand(2, 3, 8, 8)
    interpret.guided_backprop(model, x, 3)
    assert all(not m._forward_hooks for m in model.modules())
    plain = x.clone().requires_grad_(True)
    model(plain)[:, 3].sum().backward()
    torch.testing.assert_close(interpret.saliency(model, x, 3), plain.grad.abs().amax(1))
    with pytest.raises(ValueError, match="nn.ReLU"):
        interpret.guided_backprop(nn.Sequential(nn.Flatten(), nn.Linear(192, 2)), x, 0)


@pytest.mark.filterwarnings("ignore::UserWarning:captum")
@pytest.mark.parametrize("inplace", [False, True])
def test_saliency_and_guided_backprop_agree_with_captum(inplace):
    attr = pytest.importorskip("captum.attr")
    model, x = small_cnn(4, inplace=inplace).eval(), torch.rand(3, 3, 8, 8)
    target = torch.tensor([1, 0, 4])
    captum_saliency = attr.Saliency(model).attribute(x, target=target, abs=True).amax(dim=1)
    torch.testing.assert_close(interpret.saliency(model, x, target), captum_saliency)
    if not inplace:  # Captum's module backward hooks refuse in-place ReLUs; ours handle them
        captum_guided = attr.GuidedBackprop(model).attribute(x, target=target)
        torch.testing.assert_close(interpret.guided_backprop(model, x, target), captum_guided)


def test_guided_backprop_is_the_same_with_inplace_relus():
    x = torch.rand(2, 3, 8, 8)
    plain = interpret.guided_backprop(small_cnn(5), x, 2)
    torch.testing.assert_close(interpret.guided_backprop(small_cnn(5, inplace=True), x, 2), plain)


# --- activations, class visualization, DeepDream ---


def test_activations_returns_the_layer_output_with_its_graph():
    model, x = small_cnn(6), torch.rand(2, 3, 8, 8, requires_grad=True)
    a = interpret.activations(model, model[1], x)
    torch.testing.assert_close(a, torch.relu(model[0](x)))
    assert a.requires_grad
    with pytest.raises(ValueError, match="not called"):
        interpret.activations(model, nn.ReLU(), x)


def test_class_visualization_raises_the_score_stays_in_range_and_follows_the_seed():
    model = small_cnn(7).train()
    before = params(model)
    start = 0.5 + 0.01 * torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    img = interpret.class_visualization(model, 2, (3, 8, 8), steps=30, lr=0.05, seed=0)
    assert img.shape == (1, 3, 8, 8) and img.min() >= 0 and img.max() <= 1
    with torch.no_grad():
        model.eval()
        gain = model(img)[0, 2] - model(start)[0, 2]
        model.train()
    assert gain > 0
    again = interpret.class_visualization(model, 2, (3, 8, 8), steps=30, lr=0.05, seed=0)
    other = interpret.class_visualization(model, 2, (3, 8, 8), steps=30, lr=0.05, seed=1)
    assert torch.equal(img, again) and not torch.equal(img, other)
    assert model.training and all(p.grad is None for p in model.parameters())
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        interpret.class_visualization(model, 2, (8, 8))


def test_class_visualization_of_a_linear_score_reaches_the_box_corner():
    # S(I) = w · I on [0, 1]: without L2, blur or jitter the maximizer is 1 where w > 0, else 0
    torch.manual_seed(9)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 4))
    img = interpret.class_visualization(
        model, 3, (2, 3, 3), steps=100, lr=0.05, l2=0.0, max_jitter=0, blur_every=0
    )
    w = model[1].weight[3].detach().reshape(1, 2, 3, 3)
    corner = (w > 0).float()
    assert torch.equal(img > 0.5, w > 0)  # every pixel moved towards its corner
    big = w.abs() > 0.3 * w.abs().mean()  # these take steps of at least 0.015: arrived
    torch.testing.assert_close(img[big], corner[big])


def test_deep_dream_amplifies_the_layer():
    model = small_cnn(8)
    image = torch.rand(1, 3, 8, 8)
    dreamed = interpret.deep_dream(model, model[4], image, steps=15, lr=0.02)
    with torch.no_grad():
        norm = [interpret.activations(model, model[4], im).norm() for im in (image, dreamed)]
    assert norm[1] > 1.2 * norm[0]
    assert dreamed.min() >= 0 and dreamed.max() <= 1 and not torch.equal(dreamed, image)


# --- Gram matrices, losses, synthesis ---


def test_gram_matrix_by_hand():
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # C=2, M=2
    # F Fᵀ = [[1+4, 3+8], [3+8, 9+16]], divided by M = 2
    expected = torch.tensor([[[2.5, 5.5], [5.5, 12.5]]])
    torch.testing.assert_close(style.gram_matrix(features), expected)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        style.gram_matrix(torch.rand(2, 3, 4))


def test_style_loss_is_gatys_formula_and_its_gradient():
    torch.manual_seed(0)
    C, H, W = 3, 4, 5
    N, M = C, H * W
    F_img = torch.rand(1, C, H, W, dtype=torch.float64, requires_grad=True)
    F_style = torch.rand(1, C, H, W, dtype=torch.float64)
    G = torch.einsum("ik,jk->ij", F_img[0].reshape(C, M), F_img[0].reshape(C, M))
    A = torch.einsum("ik,jk->ij", F_style[0].reshape(C, M), F_style[0].reshape(C, M))
    expected = ((G - A) ** 2).sum() / (4 * N**2 * M**2)
    loss = style.style_loss(F_img, style.gram_matrix(F_style)[0])
    torch.testing.assert_close(loss, expected)
    # Gatys et al.: dE/dF = (G - A) F / (N² M²) (all features positive, no ReLU mask here)
    loss.backward()
    closed = ((G - A) @ F_img[0].reshape(C, M) / (N**2 * M**2)).reshape(C, H, W)
    torch.testing.assert_close(F_img.grad[0], closed.detach())
    with pytest.raises(ValueError, match="target_gram"):
        style.style_loss(F_img, torch.zeros(2, 2))


def test_content_loss_and_total_variation_by_formula():
    a, b = torch.rand(2, 3, 4, 5), torch.rand(2, 3, 4, 5)
    torch.testing.assert_close(style.content_loss(a, b), F.mse_loss(a, b, reduction="sum") / 2)
    with pytest.raises(ValueError, match="same shape"):
        style.content_loss(a, b[:1])
    x = torch.rand(2, 3, 4, 5)
    loops = _tv_loops(x)
    torch.testing.assert_close(style.total_variation(x), loops)
    assert style.total_variation(torch.ones(1, 1, 6, 6)) == 0


def _tv_loops(x):
    total = torch.zeros((), dtype=x.dtype)
    N, C, H, W = x.shape
    for n in range(N):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    if i + 1 < H:
                        total += (x[n, c, i + 1, j] - x[n, c, i, j]) ** 2
                    if j + 1 < W:
                        total += (x[n, c, i, j + 1] - x[n, c, i, j]) ** 2
    return total


def test_random_features_are_fixed_by_the_seed_and_untrainable():
    a, b = style.RandomFeatures(seed=0), style.RandomFeatures(seed=0)
    c = style.RandomFeatures(seed=1)
    x = torch.rand(1, 3, 16, 16)
    assert all(torch.equal(p, q) for p, q in zip(a(x), b(x), strict=True))
    assert not torch.equal(a(x)[0], c(x)[0])
    assert not any(p.requires_grad for p in a.parameters())
    assert [tuple(f.shape) for f in a(x)] == [(1, 32, 16, 16)] * 5


def test_synthesize_inverts_an_identity_feature_and_leaves_init_alone():
    torch.manual_seed(0)
    target, init = torch.rand(1, 3, 6, 6), torch.full((1, 3, 6, 6), 0.5)
    init_before = init.clone()
    img, losses = style.synthesize(
        lambda x: style.content_loss(x, target), init, steps=300, lr=0.05, record_every=1
    )
    assert torch.equal(init, init_before) and len(losses) == 300
    assert losses[-1] < 1e-3 * losses[0]
    torch.testing.assert_close(img, target, atol=0.02, rtol=0)


def test_vgg19_features_skip_with_a_message_offline(monkeypatch, tmp_path, capsys):
    import socket

    def offline(*args, **kwargs):
        raise OSError("offline")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # nothing cached there
    assert style.vgg19_features() is None
    assert "skipped" in capsys.readouterr().out


# --- neural collapse ---


def collapsed_set(C=4, D=6, per_class=5, scale=3.0, seed=0):
    """Features exactly on the vertices of a rotated, scaled simplex ETF plus a shift."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(D, D, generator=g, dtype=torch.float64))
    means = scale * interpret.simplex_etf(C) @ Q[:C]  # (C, D), centred
    shift = torch.randn(D, generator=g, dtype=torch.float64)
    y = torch.arange(C).repeat_interleave(per_class)
    return means[y] + shift, y, means


def test_simplex_etf_has_nc2_zero_and_the_right_angles():
    for C in (2, 3, 10):
        M = interpret.simplex_etf(C)
        cos = M @ M.T
        torch.testing.assert_close(cos.diagonal(), torch.ones(C, dtype=torch.float64))
        off = cos[~torch.eye(C, dtype=torch.bool)]
        torch.testing.assert_close(off, torch.full_like(off, -1 / (C - 1)))
        assert interpret.nc2(M) < 1e-12
    assert interpret.nc2(torch.randn(5, 8)) > 0.1
    with pytest.raises(ValueError, match="C >= 2"):
        interpret.simplex_etf(1)


def test_a_perfectly_collapsed_set_has_all_four_measures_at_collapse():
    H, y, means = collapsed_set()
    out = interpret.neural_collapse(H, y, W=2.0 * means, predictions=y)
    assert out["NC1"] < 1e-12 and out["NC2"] < 1e-10 and out["NC3"] < 1e-10
    assert out["NC4"] == 1.0


def test_nc1_in_one_dimension_by_hand():
    H = torch.tensor([[0.0], [2.0], [5.0], [7.0]])  # class 0: 0, 2 (mean 1); class 1: 5, 7
    y = torch.tensor([0, 0, 1, 1])
    sigma_W = (1 + 1 + 1 + 1) / 4  # squared distances to the class means, averaged
    sigma_B = ((1 - 3.5) ** 2 + (6 - 3.5) ** 2) / 2
    assert interpret.nc1(H, y) == pytest.approx(sigma_W / sigma_B / 2)


def test_nc1_against_numpy_pinv_on_random_features():
    rng = np.random.default_rng(0)
    C, D = 3, 5
    y = rng.integers(0, C, 60)
    H = rng.normal(size=(60, D)) + 2 * rng.normal(size=(C, D))[y]
    mu = np.array([H[y == c].mean(0) for c in range(C)])
    sw = sum(np.outer(h - mu[c], h - mu[c]) for h, c in zip(H, y, strict=True)) / len(H)
    sb = sum(np.outer(m - H.mean(0), m - H.mean(0)) for m in mu) / C
    expected = np.trace(sw @ np.linalg.pinv(sb, rcond=1e-10, hermitian=True)) / C
    assert interpret.nc1(H, y) == pytest.approx(expected, rel=1e-8)


def test_nc3_is_zero_for_a_rescaled_classifier_and_positive_otherwise():
    _, _, means = collapsed_set()
    assert interpret.nc3(5 * means, means) < 1e-12
    assert interpret.nc3(-means, means) == pytest.approx(2.0)  # opposite unit vectors
    with pytest.raises(ValueError, match=r"\(C, D\)"):
        interpret.nc3(means[:2], means)


def test_nc4_agrees_with_scikit_learn_nearest_centroid():
    from sklearn.neighbors import NearestCentroid

    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 80)
    H = rng.normal(size=(80, 3)) + rng.normal(size=(4, 3))[y]
    predictions = rng.integers(0, 4, 80)
    ncc = NearestCentroid().fit(H, y).predict(H)
    assert interpret.nc4(H, y, predictions) == pytest.approx(np.mean(ncc == predictions))
    assert interpret.nc4(H, y, ncc) == 1.0


def test_neural_collapse_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        interpret.nc1(torch.rand(4, 2), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError, match="two classes"):
        interpret.nc1(torch.rand(4, 2), torch.zeros(4))
    assert math.isfinite(interpret.nc1(torch.rand(6, 2), torch.tensor([0, 1] * 3)))

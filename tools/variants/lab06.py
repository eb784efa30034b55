"""Variants of lab 06 (batch norm and residual networks): typical mistakes and correct
alternatives.

The lab fixes PyTorch's conventions: biased variance in the normalization, eps inside the
square root, running averages ``(1 - momentum) * r + momentum * stat`` with the unbiased
variance, new running tensors (no in-place update), statistics over (N, H, W) for 4-D input,
evaluation mode with the running statistics; a basic block whose final ReLU follows the
addition, with a 1x1 projection + BN shortcut exactly when the stride or the width changes;
and gradient norms of the weights (ndim >= 2) from fresh gradients.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = "batchnorm_forward: unbiased variance in the normalization"

_BN = "batchnorm_forward"
_BACK = "batchnorm_backward"
_BLOCK = "ResidualBlock"
_NET = "SmallResNet"
_NORMS = "gradient_norms"

VARIANTS = [
    # -- batch norm forward, training mode --------------------------------------------------
    wrong("batchnorm_forward: unbiased variance in the normalization", {_BN: edit(
        ("var = ((x - mean.reshape(shape)) ** 2).mean(dim=axes)  # (C,), biased",
         "var = x.var(dim=axes, unbiased=True)"),
        ("momentum * var * m / (m - 1)", "momentum * var"),
    )}, "test_batchnorm_train"),
    wrong("batchnorm_forward: running statistics not updated", {_BN: edit(
        ("new_mean = (1 - momentum) * running_mean + momentum * mean",
         "new_mean = running_mean.clone()"),
        ("new_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)",
         "new_var = running_var.clone()"),
    )}, "test_batchnorm_train"),
    wrong("batchnorm_forward: momentum convention swapped (m <-> 1 - m)", {_BN: edit(
        ("new_mean = (1 - momentum) * running_mean + momentum * mean",
         "new_mean = momentum * running_mean + (1 - momentum) * mean"),
        ("new_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)",
         "new_var = momentum * running_var + (1 - momentum) * var * m / (m - 1)"),
    )}, "test_batchnorm_train"),
    wrong("batchnorm_forward: biased variance in the running average", {_BN: edit(
        ("momentum * var * m / (m - 1)", "momentum * var"),
    )}, "test_batchnorm_train"),
    wrong("batchnorm_forward: 4-D statistics over N only (per pixel)", {_BN: edit(
        ("axes = (0,) if x.dim() == 2 else (0, 2, 3)", "axes = (0,)"),
        ("shape = (1, C) if x.dim() == 2 else (1, C, 1, 1)", "shape = (1, *x.shape[1:])"),
        ("m = x.numel() // C", "m = x.shape[0]"),
    )}, ("test_batchnorm_train", "test_batchnorm_eval")),
    wrong("batchnorm_forward: eval mode uses the batch statistics", {_BN: edit(
        ("    if training:\n        m = x.numel() // C",
         "    if True:\n        m = x.numel() // C"),
    )}, "test_batchnorm_eval"),
    wrong("batchnorm_forward: eps outside the square root", {_BN: edit(
        ("torch.sqrt(var.reshape(shape) + eps)", "(torch.sqrt(var.reshape(shape)) + eps)"),
    )}, ("test_batchnorm_train", "test_batchnorm_eval")),
    wrong("batchnorm_forward: gamma and beta swapped", {_BN: edit(
        ("out = gamma.reshape(shape) * x_hat + beta.reshape(shape)",
         "out = beta.reshape(shape) * x_hat + gamma.reshape(shape)"),
    )}, ("test_batchnorm_train", "test_batchnorm_eval")),
    wrong("batchnorm_forward: updates the running statistics in place", {_BN: edit(
        ("new_mean = (1 - momentum) * running_mean + momentum * mean",
         "new_mean = running_mean.mul_(1 - momentum).add_(momentum * mean)"),
        ("new_var = (1 - momentum) * running_var + momentum * var * m / (m - 1)",
         "new_var = running_var.mul_(1 - momentum).add_(momentum * var * m / (m - 1))"),
    )}, "test_batchnorm_train"),
    wrong("batchnorm_forward: no check of the input (3-D and integer x accepted)", {_BN: edit(
        ("    if x.dim() not in (2, 4):\n        raise", "    if False:\n        raise"),
        ("    if not x.is_floating_point():\n        raise",
         "    if False:\n        raise"),
    )}, "test_batchnorm_train"),
    wrong("batchnorm_forward: calls F.batch_norm", {_BN: """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                      training=True):
    rm, rv = running_mean.clone(), running_var.clone()
    out = F.batch_norm(x, rm, rv, gamma, beta, training=training, momentum=momentum, eps=eps)
    return out, rm, rv
"""}, "test_batchnorm_train"),
    correct("batchnorm_forward: torch.var_mean over a (C, m) view, in float64", {_BN: """
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5,
                      training=True):
    if x.dim() not in (2, 4) or not torch.is_floating_point(x):
        raise ValueError(f"x must be a float tensor (N, C) or (N, C, H, W); got {x.shape}")
    C = x.shape[1]
    if any(t.shape != (C,) for t in (gamma, beta, running_mean, running_var)):
        raise ValueError("gamma, beta and the running statistics must have shape (C,)")
    flat = x.transpose(0, 1).reshape(C, -1).double()  # (C, m)
    if training:
        if flat.shape[1] < 2:
            raise ValueError("need more than one value per channel in training mode")
        var, mean = torch.var_mean(flat, dim=1, correction=0)
        unbiased = torch.var(flat, dim=1, correction=1)
        new_mean = running_mean + momentum * (mean.to(x.dtype) - running_mean)
        new_var = running_var + momentum * (unbiased.to(x.dtype) - running_var)
    else:
        mean, var = running_mean.double(), running_var.double()
        new_mean, new_var = running_mean.clone(), running_var.clone()
    y = (flat - mean[:, None]) * torch.rsqrt(var[:, None] + eps)
    y = y * gamma.double()[:, None] + beta.double()[:, None]
    shape = (C, x.shape[0], *x.shape[2:])
    return y.reshape(shape).transpose(0, 1).to(x.dtype).contiguous(), new_mean, new_var
"""}),
    # -- batch norm backward ----------------------------------------------------------------
    wrong("batchnorm_backward: no terms through the mean and variance", {_BACK: edit(
        ("""        dout - dout.mean(dim=axes, keepdim=True)
        - x_hat * (dout * x_hat).mean(dim=axes, keepdim=True))""", "        dout)"),
    )}, "test_batchnorm_backward"),
    wrong("batchnorm_backward: the variance term forgotten", {_BACK: edit(
        ("""
        - x_hat * (dout * x_hat).mean(dim=axes, keepdim=True))""", ")"),
    )}, "test_batchnorm_backward"),
    wrong("batchnorm_backward: dgamma = sum of dout", {_BACK: edit(
        ("dgamma = (dout * x_hat).sum(dim=axes)", "dgamma = dout.sum(dim=axes)"),
    )}, "test_batchnorm_backward"),
    wrong("batchnorm_backward: sums over N only for 4-D input", {_BACK: edit(
        ("axes = (0,) if x.dim() == 2 else (0, 2, 3)", "axes = (0,)"),
        ("shape = (1, C) if x.dim() == 2 else (1, C, 1, 1)",
         "shape = (1, C) if x.dim() == 2 else (1, C, 1, 1)\n    gamma = gamma"),
        ("dbeta = dout.sum(dim=axes)", "dbeta = dout.sum(dim=(0, 2, 3) if x.dim() == 4 else 0)"),
        ("dgamma = (dout * x_hat).sum(dim=axes)",
         "dgamma = (dout * x_hat).sum(dim=(0, 2, 3) if x.dim() == 4 else 0)"),
    )}, "test_batchnorm_backward"),
    correct("batchnorm_backward: step by step through the graph", {_BACK: """
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    dims = [0] + list(range(2, x.dim()))
    view = [1, -1] + [1] * (x.dim() - 2)
    m = x.numel() // x.shape[1]
    mu = x.mean(dim=dims, keepdim=True)
    xc = x - mu
    var = (xc * xc).mean(dim=dims, keepdim=True)
    std = (var + eps).sqrt()
    xhat = xc / std
    dbeta = dout.sum(dim=dims)
    dgamma = (dout * xhat).sum(dim=dims)
    dxhat = dout * gamma.reshape(view)
    dstd = -(dxhat * xc).sum(dim=dims, keepdim=True) / std**2
    dvar = dstd / (2 * std)
    dxc = dxhat / std + 2 * xc * dvar / m
    dmu = -dxc.sum(dim=dims, keepdim=True)
    return dxc + dmu / m, dgamma, dbeta
"""}),
    # -- residual block ---------------------------------------------------------------------
    wrong("ResidualBlock: shortcut added after the final ReLU", {_BLOCK: edit(
        ("return F.relu(out + self.shortcut(x))", "return F.relu(out) + self.shortcut(x)"),
    )}, "test_ResidualBlock"),
    wrong("ResidualBlock: no projection when the shape changes", {_BLOCK: edit(
        ("if stride != 1 or in_channels != out_channels:", "if False:"),
    )}, ("test_ResidualBlock", "test_SmallResNet")),
    wrong("ResidualBlock: projection only when the channels change (not the stride)", {_BLOCK:
        edit(("if stride != 1 or in_channels != out_channels:",
              "if in_channels != out_channels:"))}, "test_ResidualBlock"),
    wrong("ResidualBlock: projection without batch norm", {_BLOCK: edit(
        ("""nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))""",
         "nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False))"),
    )}, "test_ResidualBlock"),
    wrong("ResidualBlock: stride on the second convolution", {_BLOCK: edit(
        ("self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,",
         "self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=1, padding=1,"),
        ("self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)",
         "self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1, "
         "bias=False)"),
    )}, "test_ResidualBlock"),
    wrong("ResidualBlock: ReLU missing between the two convolutions", {_BLOCK: edit(
        ("out = F.relu(self.bn1(self.conv1(x)))", "out = self.bn1(self.conv1(x))"),
    )}, "test_ResidualBlock"),
    correct("ResidualBlock: nn.Sequential main branch, nn.ReLU modules", {_BLOCK: """
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride,
                               padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.main = nn.Sequential(self.conv1, self.bn1, self.relu, self.conv2, self.bn2)
        self.shortcut = nn.Identity()
        if stride > 1 or in_channels != out_channels:
            proj = nn.Module()
            proj.conv = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            proj.bn = nn.BatchNorm2d(out_channels)
            proj.forward = lambda t: proj.bn(proj.conv(t))
            self.shortcut = proj

    def forward(self, x):
        identity = self.shortcut(x)
        return self.relu(self.main(x) + identity)
"""}),
    # -- small ResNet -----------------------------------------------------------------------
    wrong("SmallResNet: no downsampling between stages", {_NET: edit(
        ("stride = 2 if (k > 0 and b == 0) else 1", "stride = 1"),
    )}, "test_SmallResNet"),
    wrong("SmallResNet: global max pooling instead of the average", {_NET: edit(
        ("return self.fc(out.mean(dim=(2, 3)))", "return self.fc(out.amax(dim=(2, 3)))"),
    )}, "test_SmallResNet"),
    wrong("SmallResNet: no ReLU in the stem", {_NET: edit(
        ("nn.BatchNorm2d(widths[0]), nn.ReLU())", "nn.BatchNorm2d(widths[0]))"),
    )}, "test_SmallResNet"),
    correct("SmallResNet: stages as a ModuleList, AdaptiveAvgPool2d", {_NET: """
class SmallResNet(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, widths=(16, 32, 64), blocks_per_stage=2):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        self.stages = nn.ModuleList()
        c = widths[0]
        for k, w in enumerate(widths):
            stage = [ResidualBlock(c, w, 1 if k == 0 else 2)]
            stage += [ResidualBlock(w, w) for _ in range(blocks_per_stage - 1)]
            self.stages.append(nn.Sequential(*stage))
            c = w
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(c, num_classes)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        for stage in self.stages:
            x = stage(x)
        return self.head(torch.flatten(self.pool(x), 1))
"""}),
    # -- gradient norms ---------------------------------------------------------------------
    wrong("gradient_norms: stale gradients accumulate", {_NORMS: edit(
        ("    model.zero_grad(set_to_none=True)\n", ""),
    )}, "test_gradient_norms"),
    wrong("gradient_norms: norms of the weights, not of their gradients", {_NORMS: edit(
        ("{name: p.grad.norm().item()", "{name: p.detach().norm().item()"),
    )}, "test_gradient_norms"),
    wrong("gradient_norms: biases and batch-norm parameters included", {_NORMS: edit(
        ("if p.dim() >= 2}", "if p.grad is not None}"),
    )}, "test_gradient_norms"),
    wrong("gradient_norms: summed loss instead of the mean", {_NORMS: edit(
        ("loss = F.cross_entropy(model(X), y)", "loss = F.cross_entropy(model(X), y, "
         "reduction='sum')"),
    )}, "test_gradient_norms"),
    wrong("gradient_norms: puts the model in training mode", {_NORMS: edit(
        ("    model.zero_grad(set_to_none=True)\n", "    model.zero_grad()\n    model.train()\n"),
    )}, "test_gradient_norms"),
    correct("gradient_norms: torch.autograd.grad, a list comprehension", {_NORMS: """
def gradient_norms(model, X, y):
    names = [n for n, p in model.named_parameters() if p.ndim > 1]
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(F.cross_entropy(model(X), y), [params[n] for n in names])
    return {n: float(torch.linalg.vector_norm(g)) for n, g in zip(names, grads)}
"""}),
]

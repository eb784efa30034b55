"""Variants of lab 08 (transfer learning): typical mistakes and correct alternatives.

The lab fixes: digits become backbone input by bilinear 8 -> 32 resizing (align_corners=False),
clipping to [0, 1] and a gray channel repeated to RGB; the head is replaced in place by
``nn.Linear(model.feature_dim, num_classes)``; freezing sets requires_grad on parameters,
``train_mode`` keeps frozen batch norms in eval mode; AdamW with a head group and a
trainable-backbone group, frozen parameters in none; ``fit`` selects the epoch with the best
validation accuracy (strictly better, so the first of ties) and never sees the test set.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = "train_mode: plain model.train() (frozen batch norms drift)"

VARIANTS = [
    # -- input -----------------------------------------------------------------------------
    wrong("input: nearest-neighbour resizing", {"to_backbone_input": edit(
        ('mode="bilinear", align_corners=False', 'mode="nearest"'),
    )}, "test_to_backbone_input"),
    wrong("input: one channel only", {"to_backbone_input": edit(
        ("big.clamp(0, 1).repeat(1, 3, 1, 1)", "big.clamp(0, 1)"),
    )}, "test_to_backbone_input"),
    wrong("input: float64 kept", {"to_backbone_input": edit(
        ("F.interpolate(X.float(),", "F.interpolate(X,"),
    )}, "test_to_backbone_input"),
    correct("input: Upsample module and expand", {"to_backbone_input": """
def to_backbone_input(X):
    if X.ndim != 4 or X.shape[1:] != (1, 8, 8):
        raise ValueError(f"X must be (N, 1, 8, 8); got {tuple(X.shape)}")
    up = nn.Upsample(scale_factor=4, mode="bilinear")(X.to(torch.float32))
    return torch.clip(up, 0.0, 1.0).expand(-1, 3, -1, -1).contiguous()
"""}),
    # -- head ------------------------------------------------------------------------------
    wrong("head: width 64 typed in", {"replace_head": edit(
        ("model.fc = nn.Linear(model.feature_dim, num_classes)",
         "model.fc = nn.Linear(64, num_classes)"),
    )}, "test_replace_head"),
    wrong("head: old head kept in front of the new one", {"replace_head": edit(
        ("model.fc = nn.Linear(model.feature_dim, num_classes)",
         "model.fc = nn.Sequential(model.fc, nn.Linear(model.fc.out_features, num_classes))"),
    )}, ("test_replace_head", "test_make_optimizer")),
    wrong("head: new model wrapping the old one", {"replace_head": """
def replace_head(model, num_classes):
    wrapped = nn.Sequential(model, nn.Linear(model.fc.out_features, num_classes))
    wrapped.fc, wrapped.feature_dim = wrapped[1], model.feature_dim
    wrapped.features = model.features
    return wrapped
"""}, "test_replace_head"),
    correct("head: named in_features from the old head", {"replace_head": """
def replace_head(model, num_classes):
    setattr(model, "fc", nn.Linear(in_features=model.fc.in_features, out_features=num_classes))
    return model
"""}),
    # -- freezing --------------------------------------------------------------------------
    wrong("freeze: the head frozen too", {"freeze_backbone": edit(
        ("        parameter.requires_grad_(True)\n", "        parameter.requires_grad_(False)\n"),
    )}, "test_freeze_backbone"),
    wrong("freeze: only the convolutions frozen (batch-norm weights still learn)", {
        "freeze_backbone": """
def freeze_backbone(model):
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.weight.requires_grad_(False)
    return model
"""}, "test_freeze_backbone"),
    correct("freeze: named_parameters and a name test", {"freeze_backbone": """
def freeze_backbone(model):
    for name, p in model.named_parameters():
        p.requires_grad = name.split(".")[0] == "fc"
    return model
"""}),
    # -- train mode ------------------------------------------------------------------------
    wrong("train_mode: plain model.train() (frozen batch norms drift)", {"train_mode": """
def train_mode(model):
    return model.train()
"""}, ("test_train_mode", "test_fit")),
    wrong("train_mode: the whole backbone in eval mode", {"train_mode": """
def train_mode(model):
    model.eval()
    model.fc.train()
    return model
"""}, ("test_train_mode",)),
    wrong("train_mode: every batch norm in eval mode (also the learning ones)", {
        "train_mode": edit(("if not module.weight.requires_grad:", "if True:")),
    }, "test_train_mode"),
    correct("train_mode: any frozen parameter test, _BatchNorm base class", {"train_mode": """
def train_mode(model):
    model.train(True)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if not any(p.requires_grad for p in m.parameters()):
                m.train(False)
    return model
"""}),
    # -- counting --------------------------------------------------------------------------
    wrong("count: tensors instead of scalars", {"count_trainable": """
def count_trainable(model):
    params = list(model.parameters())
    return sum(1 for p in params if p.requires_grad), len(params)
"""}, "test_count_trainable"),
    # -- optimizer -------------------------------------------------------------------------
    wrong("optimizer: every parameter handed over (frozen ones with weight decay)", {
        "make_optimizer": edit(
            ("backbone = [p for p in model.parameters() if p.requires_grad and id(p) not in "
             "head_ids]",
             "backbone = [p for p in model.parameters() if id(p) not in head_ids]"),
        )}, "test_make_optimizer"),
    wrong("optimizer: one learning rate for all", {"make_optimizer": """
def make_optimizer(model, lr_head, lr_backbone, weight_decay=1e-4):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(trainable, lr=lr_head, weight_decay=weight_decay)
"""}, "test_make_optimizer"),
    wrong("optimizer: learning rates swapped", {"make_optimizer": edit(
        ('groups = [{"params": head, "lr": lr_head}]',
         'groups = [{"params": head, "lr": lr_backbone}]'),
        ('groups.append({"params": backbone, "lr": lr_backbone})',
         'groups.append({"params": backbone, "lr": lr_head})'),
    )}, "test_make_optimizer"),
    wrong("optimizer: weight decay on the head only", {"make_optimizer": """
def make_optimizer(model, lr_head, lr_backbone, weight_decay=1e-4):
    head = list(model.fc.parameters())
    rest = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("fc.")]
    groups = [{"params": head, "lr": lr_head, "weight_decay": weight_decay}]
    if rest:
        groups.append({"params": rest, "lr": lr_backbone, "weight_decay": 0.0})
    return torch.optim.AdamW(groups)
"""}, "test_make_optimizer"),
    correct("optimizer: named_parameters, explicit per-group weight decay", {
        "make_optimizer": """
def make_optimizer(model, lr_head, lr_backbone, weight_decay=1e-4):
    head, backbone = [], []
    for name, p in model.named_parameters():
        if name.startswith("fc."):
            head.append(p)
        elif p.requires_grad:
            backbone.append(p)
    groups = [dict(params=head, lr=lr_head, weight_decay=weight_decay)]
    groups += [dict(params=backbone, lr=lr_backbone, weight_decay=weight_decay)] if backbone else []
    return torch.optim.AdamW(groups, lr=lr_head)
"""}),
    # -- fit -------------------------------------------------------------------------------
    wrong("fit: plain model.train() every epoch", {"fit": edit(
        ("        train_mode(model)\n", "        model.train()\n"),
    )}, "test_fit"),
    wrong("fit: last epoch kept (no model selection)", {"fit": edit(
        ("    model.load_state_dict(best_state)\n", ""),
    )}, "test_fit"),
    wrong("fit: best state kept without a copy (state_dict aliases the weights)", {"fit": edit(
        ("copy.deepcopy(model.state_dict())", "model.state_dict()"),
    )}, "test_fit"),
    wrong("fit: epoch selected on the test set", {"fit": edit(
        ("            for X, y in val_loader:\n", "            for X, y in test_loader:\n"),
    )}, "test_fit"),
    wrong("fit: validation in training mode", {"fit": edit(
        ("        model.eval()\n", ""),
    )}, "test_fit"),
    wrong("fit: gradients never zeroed", {"fit": edit(
        ("            optimizer.zero_grad()\n", ""),
    )}, "test_fit"),
    wrong("fit: accuracy averaged over batches (uneven last batch)", {"fit": edit(
        ("                correct += (model(X).argmax(1) == y).sum().item()\n"
         "                count += len(y)\n",
         "                correct += (model(X).argmax(1) == y).float().mean().item()\n"
         "                count += 1\n"),
    )}, "test_fit"),
    wrong("fit: early exit once validation accuracy stops improving", {"fit": edit(
        ("        if val_accs[-1] > best_acc:\n",
         "        if len(val_accs) > 1 and val_accs[-1] <= best_acc:\n"
         "            break\n"
         "        if val_accs[-1] > best_acc:\n"),
    )}, "test_fit"),
    wrong("fit: ties go to the last best epoch (>=)", {"fit": edit(
        ("        if val_accs[-1] > best_acc:\n", "        if val_accs[-1] >= best_acc:\n"),
    )}, "test_fit"),
    correct("fit: inference_mode, strict max over the history, states cloned by hand", {"fit": """
def fit(model, optimizer, train_loader, val_loader, num_epochs, loss_fn):
    history, best = [], None
    for epoch in range(num_epochs):
        train_mode(model)
        for inputs, targets in train_loader:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            hits = sum(int((model(X).argmax(-1) == y).sum()) for X, y in val_loader)
        history.append(hits / len(val_loader.dataset))
        if best is None or history[-1] > max(history[:-1]):
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best)
    return history
"""}),
]

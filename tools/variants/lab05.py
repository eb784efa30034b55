"""Variants of lab 05 (CNNs in PyTorch): typical mistakes and correct alternatives.

The lab fixes: items ``(float32 (1, H, W) image, 0-d int64 label)``, a transform applied per
read to a fresh copy, ValueErrors for bad shapes; a training loader shuffled by its own
``torch.Generator().manual_seed(seed)`` and an unshuffled, unaugmented test loader, both
keeping the last batch; LeNet-5 for 32x32 inputs returning logits; accuracy as a float;
``train_one_epoch`` in train mode with zeroed gradients, returning the mean loss per example;
``evaluate`` in eval mode under no_grad, per-example means, the model's mode restored.
"""

from __future__ import annotations

from tools.mutants import correct, edit, wrong

__all__ = ["VARIANTS", "CROSS_CHECK"]

#: The wrong variant that is also graded by the real nbgrader.
CROSS_CHECK = "evaluate: model.eval() forgotten"

VARIANTS = [
    # -- Dataset ---------------------------------------------------------------------------
    wrong("Dataset: labels keep the caller's dtype (int32)", {"DigitsDataset": edit(
        ("self.y = torch.tensor(y, dtype=torch.int64)", "self.y = torch.from_numpy(y.copy())"),
    )}, "test_DigitsDataset"),
    wrong("Dataset: images share memory with X (torch.from_numpy, no clone)", {
        "DigitsDataset": edit(
            ("self.X = torch.tensor(X, dtype=torch.float32)",
             "self.X = torch.from_numpy(X) if X.dtype == np.float32 else "
             "torch.tensor(X, dtype=torch.float32)"),
            ("image = self.X[i].clone()", "image = self.X[i]"),
        )}, "test_DigitsDataset"),
    wrong("Dataset: transform applied once to all images in __init__", {"DigitsDataset": edit(
        ("        self.transform = transform\n",
         "        self.transform = None\n        if transform is not None:\n"
         "            self.X = torch.stack([transform(image) for image in self.X])\n"),
    )}, "test_DigitsDataset"),
    wrong("Dataset: images without the channel axis (H, W)", {"DigitsDataset": edit(
        ("image = self.X[i].clone()", "image = self.X[i, 0].clone()"),
    )}, "test_DigitsDataset"),
    correct("Dataset: keeps NumPy arrays, converts per item", {"DigitsDataset": """
class DigitsDataset(Dataset):
    def __init__(self, X, y, transform=None):
        X = np.array(X, dtype=np.float32)
        if X.ndim == 3:
            X = X.reshape(X.shape[0], 1, *X.shape[1:])
        y = np.array(y)
        if X.ndim != 4 or X.shape[1] != 1 or y.shape != (X.shape[0],) or y.dtype.kind not in "iu":
            raise ValueError(f"expected X (N, [1,] H, W), integer y (N,); got {X.shape}, {y.shape}")
        self.images, self.labels, self.transform = X, y.astype(np.int64), transform

    def __len__(self):
        return self.labels.shape[0]

    def __getitem__(self, index):
        image = torch.tensor(self.images[index])
        label = torch.tensor(self.labels[index])
        return (self.transform(image) if self.transform else image), label
"""}),
    # -- loaders ---------------------------------------------------------------------------
    wrong("loaders: test loader shuffled", {"make_loaders": edit(
        ("test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False)",
         "test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=True)"),
    )}, "test_make_loaders"),
    wrong("loaders: test set augmented too", {"make_loaders": edit(
        ("test_set = DigitsDataset(X_test, y_test)",
         "test_set = DigitsDataset(X_test, y_test, transform=train_transform)"),
    )}, "test_make_loaders"),
    wrong("loaders: seed ignored (global RNG shuffles)", {"make_loaders": edit(
        ("shuffle=True, generator=generator)", "shuffle=True)"),
    )}, "test_make_loaders"),
    wrong("loaders: torch.manual_seed(seed) instead of a generator", {"make_loaders": edit(
        ("generator = torch.Generator().manual_seed(seed)", "torch.manual_seed(seed)"),
        ("shuffle=True, generator=generator)", "shuffle=True)"),
    )}, "test_make_loaders"),
    wrong("loaders: last batch dropped", {"make_loaders": edit(
        ("shuffle=True, generator=generator)", "shuffle=True, generator=generator, "
         "drop_last=True)"),
    )}, "test_make_loaders"),
    correct("loaders: explicit RandomSampler and SequentialSampler", {"make_loaders": """
def make_loaders(X_train, y_train, X_test, y_test, batch_size=64, seed=0, train_transform=None):
    from torch.utils.data import RandomSampler, SequentialSampler
    g = torch.Generator()
    g.manual_seed(seed)
    train_set = DigitsDataset(X_train, y_train, train_transform)
    test_set = DigitsDataset(X_test, y_test, None)
    return (DataLoader(train_set, batch_size, sampler=RandomSampler(train_set, generator=g)),
            DataLoader(test_set, batch_size, sampler=SequentialSampler(test_set)))
"""}),
    # -- LeNet -----------------------------------------------------------------------------
    wrong("LeNet: flattens to (1, 400) (works for batch size 1 only)", {"LeNet5": edit(
        ("x = torch.flatten(x, 1)  # (N, 400)", "x = x.view(1, -1)"),
    )}, "test_LeNet5"),
    wrong("LeNet: softmax on the output", {"LeNet5": edit(
        ("return self.fc3(x)", "return torch.softmax(self.fc3(x), dim=1)"),
    )}, "test_LeNet5"),
    wrong("LeNet: ReLU after the first dense layer forgotten", {"LeNet5": edit(
        ("x = F.relu(self.fc1(x))", "x = self.fc1(x)"),
    )}, "test_LeNet5"),
    wrong("LeNet: padding 2 in the first convolution (28x28 LeNet)", {"LeNet5": edit(
        ("nn.Conv2d(in_channels, 6, kernel_size=5)", "nn.Conv2d(in_channels, 6, 5, padding=2)"),
        ("nn.Linear(16 * 5 * 5, 120)", "nn.Linear(16 * 6 * 6, 120)"),
    )}, "test_LeNet5"),
    wrong("LeNet: no check of the input shape", {"LeNet5": edit(
        ("if x.dim() != 4 or tuple(x.shape[1:]) != (self.in_channels, 32, 32):",
         "if x.dim() < 2:"),
    )}, "test_LeNet5"),
    correct("LeNet: nn.Sequential, pool before ReLU, a 5x5 convolution as first dense layer", {
        "LeNet5": """
class LeNet5(nn.Module):
    def __init__(self, num_classes=10, in_channels=1):
        super().__init__()
        self.shape = (in_channels, 32, 32)
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5), nn.MaxPool2d(2), nn.ReLU(),
            nn.Conv2d(6, 16, 5), nn.MaxPool2d(2, 2), nn.ReLU(),
            nn.Conv2d(16, 120, 5), nn.ReLU(), nn.Flatten(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        if x.ndim != 4 or x.shape[1:] != self.shape:
            raise ValueError(f"x must be (N, *{self.shape}); got {tuple(x.shape)}")
        return self.body(x)
"""}),
    # -- accuracy --------------------------------------------------------------------------
    wrong("accuracy: argmax over the batch (dim=0)", {"accuracy": edit(
        ("logits.argmax(dim=1) == y", "logits.argmax(dim=0) == y"),
    )}, "test_accuracy"),
    wrong("accuracy: number of correct examples, not the fraction", {"accuracy": edit(
        ("(logits.argmax(dim=1) == y).float().mean().item()",
         "(logits.argmax(dim=1) == y).sum().item()"),
    )}, "test_accuracy"),
    correct("accuracy: max(...).indices, sum / len", {"accuracy": """
def accuracy(logits, y):
    if logits.ndim != 2 or y.shape != logits.shape[:1]:
        raise ValueError("logits must be (N, C) and y (N,)")
    return int((logits.max(dim=-1).indices == y).sum()) / len(y)
"""}),
    # -- train_one_epoch -------------------------------------------------------------------
    wrong("train: gradients never zeroed", {"train_one_epoch": edit(
        ("        optimizer.zero_grad()\n", ""),
    )}, "test_train_one_epoch"),
    wrong("train: model.train() forgotten", {"train_one_epoch": edit(
        ("    model.train()\n", ""),
    )}, "test_train_one_epoch"),
    wrong("train: mean of the batch losses", {"train_one_epoch": edit(
        ("total += loss.item() * len(y)", "total += loss.item()"),
        ("count += len(y)", "count += 1"),
    )}, "test_train_one_epoch"),
    wrong("train: softmax before CrossEntropyLoss", {"train_one_epoch": edit(
        ("loss = loss_fn(model(X), y)", "loss = loss_fn(torch.softmax(model(X), dim=1), y)"),
    )}, "test_train_one_epoch"),
    wrong("train: stops after the first batch", {"train_one_epoch": edit(
        ("        count += len(y)\n", "        count += len(y)\n        break\n"),
    )}, "test_train_one_epoch"),
    wrong("train: loss_fn ignored (plain cross-entropy)", {"train_one_epoch": edit(
        ("loss = loss_fn(model(X), y)", "loss = F.cross_entropy(model(X), y)"),
    )}, "test_train_one_epoch"),
    correct("train: zero_grad after the step, set_to_none=False, detached sums", {
        "train_one_epoch": """
def train_one_epoch(model, loader, loss_fn, optimizer):
    model.train(True)
    optimizer.zero_grad(set_to_none=False)
    losses = []
    for inputs, targets in loader:
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        losses.append(loss.detach() * inputs.shape[0])
    return float(torch.stack(losses).sum() / len(loader.dataset))
"""}),
    # -- evaluate --------------------------------------------------------------------------
    wrong("evaluate: model.eval() forgotten", {"evaluate": edit(
        ("    model.eval()\n", ""),
    )}, "test_evaluate"),
    wrong("evaluate: torch.no_grad() forgotten", {"evaluate": edit(
        ("with torch.no_grad():", "if True:"),
    )}, "test_evaluate"),
    wrong("evaluate: mean of the batch losses and accuracies", {"evaluate": edit(
        ("total_loss += loss_fn(logits, y).item() * len(y)",
         "total_loss += loss_fn(logits, y).item()"),
        ("correct += (logits.argmax(dim=1) == y).sum().item()",
         "correct += (logits.argmax(dim=1) == y).float().mean().item()"),
        ("count += len(y)", "count += 1"),
    )}, "test_evaluate"),
    wrong("evaluate: accuracy as the mean of the batch accuracies", {"evaluate": """
def evaluate(model, loader, loss_fn):
    was_training = model.training
    model.eval()
    total_loss, count, batch_accuracies = 0.0, 0, []
    with torch.no_grad():
        for X, y in loader:
            logits = model(X)
            total_loss += loss_fn(logits, y).item() * len(y)
            count += len(y)
            batch_accuracies.append(accuracy(logits, y))
    model.train(was_training)
    return total_loss / count, sum(batch_accuracies) / len(batch_accuracies)
"""}, "test_evaluate"),
    wrong("evaluate: argmax over the wrong dimension", {"evaluate": edit(
        ("logits.argmax(dim=1) == y", "logits.argmax(dim=0)[: len(y)] == y"),
    )}, "test_evaluate"),
    wrong("evaluate: always back to train mode", {"evaluate": edit(
        ("model.train(was_training)", "model.train()"),
    )}, "test_evaluate"),
    wrong("evaluate: mode not restored (left in eval)", {"evaluate": edit(
        ("    model.train(was_training)\n", ""),
    )}, "test_evaluate"),
    correct("evaluate: inference_mode, one loss over the concatenated logits", {"evaluate": """
def evaluate(model, loader, loss_fn):
    mode = model.training
    model.train(False)
    with torch.inference_mode():
        pairs = [(model(X), y) for X, y in loader]
        logits = torch.cat([p for p, _ in pairs])
        labels = torch.cat([t for _, t in pairs])
        loss = float(loss_fn(logits, labels))
    model.train(mode)
    return loss, accuracy(logits, labels)
"""}),
]

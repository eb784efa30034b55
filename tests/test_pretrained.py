"""The shipped course backbone, its card and the script that makes it (course.pretrained)."""

from __future__ import annotations

import hashlib
import json
import math
import socket
import time

import numpy as np
import pytest
import torch

from course import data, models, pretrained
from tools import pretrain

CARD = pretrained.CHECKPOINTS / "course_resnet.json"
WEIGHTS = pretrained.CHECKPOINTS / "course_resnet.pt"


def test_shipped_file_matches_its_card():
    card = json.loads(CARD.read_text())
    blob = WEIGHTS.read_bytes()
    assert hashlib.sha256(blob).hexdigest() == card["sha256"]
    assert len(blob) == card["bytes"] <= 5 * 2**20  # at most 5 MB
    assert card["architecture"] == "course.models.ResNet"
    assert card["classes"] == list(data.SHAPE_CLASSES_ALL[: card["kwargs"]["num_classes"]])
    assert card["torch_version"] and card["training_seconds"] > 0 and card["epochs"] >= 1


def test_loads_in_eval_mode_with_the_card_and_all_weights():
    model = pretrained.load("course-resnet")
    assert not model.training and model.card["sha256"] == json.loads(CARD.read_text())["sha256"]
    state = torch.load(WEIGHTS, weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key].float()), key
    assert models.pretrained("course-resnet").card == model.card  # models delegates


def test_reaches_the_cards_accuracy_on_a_fresh_draw():
    model = pretrained.load("course-resnet")
    card = model.card
    n = 2000
    # a fresh draw: a seed used neither for training (1000+) nor for the card's test set (999)
    X, y = data.make_shapes(n, seed=20261203, classes=card["kwargs"]["num_classes"])
    with torch.no_grad():
        pred = torch.cat(
            [model(torch.from_numpy(X[i : i + 500])).argmax(1) for i in range(0, n, 500)]
        )
    acc = float((pred.numpy() == y).mean())
    p = card["source_test_accuracy"]
    # two independent estimates of p: n and the card's test_size images
    spread = math.sqrt(p * (1 - p) * (1 / n + 1 / card["config"]["test_size"]))
    assert abs(acc - p) <= max(0.015, 2.5 * spread), (acc, p)
    assert acc > 3 / card["kwargs"]["num_classes"]  # far above chance


def test_corrupt_or_missing_checkpoint_fails_clearly(tmp_path):
    (tmp_path / "course_resnet.json").write_text(CARD.read_text())
    with pytest.raises(FileNotFoundError, match="tools.pretrain"):
        pretrained.load("course-resnet", folder=tmp_path)
    blob = bytearray(WEIGHTS.read_bytes())
    blob[-100] ^= 0xFF
    (tmp_path / "course_resnet.pt").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match="corrupt"):
        pretrained.load("course-resnet", folder=tmp_path)


def test_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="course-resnet.*resnet18-imagenet"):
        pretrained.load("vgg16")
    with pytest.raises(ValueError, match="choose one of"):
        models.pretrained("resnet50")


def test_imagenet_offline_fails_fast_with_advice(monkeypatch, tmp_path):
    import torchvision  # noqa: F401  (imported before the clock starts)

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable (simulated)")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(pretrained, "_torch_hub_dir", lambda: str(tmp_path))
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="cannot be reached.*course-resnet"):
        pretrained.load("resnet18-imagenet")
    assert time.perf_counter() - start < 10


def test_quick_pretraining_writes_a_loadable_consistent_checkpoint(tmp_path):
    pretrain.main(["--quick", "--out", str(tmp_path)])
    card = json.loads((tmp_path / "course_resnet.json").read_text())
    assert card["sha256"] == pretrain.sha256(tmp_path / "course_resnet.pt")
    assert card["train_images"] == pretrain.QUICK["chunks"] * pretrain.QUICK["chunk_size"]
    model = pretrained.load("course-resnet", folder=tmp_path)
    # the card's accuracy is the model's accuracy on the card's own test draw
    X, y = data.make_shapes(
        card["config"]["test_size"], seed=card["config"]["test_seed"], classes=16
    )
    with torch.no_grad():
        acc = float((model(torch.from_numpy(X)).argmax(1).numpy() == y).mean())
    assert acc == pytest.approx(card["source_test_accuracy"], abs=0.005)  # <= 2 near-ties


def test_quick_pretraining_needs_an_output_folder():
    with pytest.raises(SystemExit):
        pretrain.main(["--quick"])


def test_two_runs_give_identical_weights(tmp_path):
    tiny = {**pretrain.QUICK, "chunk_size": 200, "test_size": 50}
    first = pretrain.pretrain(tmp_path / "a", tiny, log=lambda *a: None)
    second = pretrain.pretrain(tmp_path / "b", tiny, log=lambda *a: None)
    a = torch.load(tmp_path / "a" / "course_resnet.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "course_resnet.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert first["source_test_accuracy"] == second["source_test_accuracy"]
    # and the weights did move away from the initialization
    torch.manual_seed(tiny["torch_seed"])
    init = models.ResNet(**first["kwargs"]).state_dict()
    assert not torch.equal(init["fc.weight"], a["fc.weight"])
    assert np.isfinite(first["training_seconds"])

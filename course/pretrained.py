"""Pretrained networks: the course's own backbone (shipped, offline) and optional ImageNet weights.

``load("course-resnet")`` returns the small ResNet that ``tools/pretrain.py`` trained on 16
classes of generated shapes and textures (``course.data.make_shapes(..., classes=16)``). The
weights ship with the package in ``course/checkpoints/`` beside a JSON card (architecture,
source data, seeds, accuracy, sha256); loading checks the file against the card's hash and
attaches the card as ``model.card``. ``load("resnet18-imagenet")`` is an optional online
upgrade: torchvision's ImageNet ResNet-18, which fails within seconds with a clear message
when the download server cannot be reached.

>>> load("vgg16")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown pretrained network 'vgg16'; choose one of ('course-resnet', ...)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from course import data

__all__ = ["NAMES", "CHECKPOINTS", "load", "card", "IMAGENET_HOST"]

#: Names :func:`load` knows.
NAMES = ("course-resnet", "resnet18-imagenet")
#: Folder of the shipped checkpoints.
CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
#: Server of torchvision's weights; checked with a short timeout before any download.
IMAGENET_HOST = "download.pytorch.org"


def _check_name(name: str) -> None:
    if name not in NAMES:
        raise ValueError(f"unknown pretrained network {name!r}; choose one of {NAMES}")


def card(name: str = "course-resnet", folder: Path | None = None) -> dict:
    """The JSON card of a shipped checkpoint, as a dict (``FileNotFoundError`` if missing)."""
    _check_name(name)
    if name != "course-resnet":
        raise ValueError(f"{name!r} has no shipped card; only 'course-resnet' is shipped")
    path = Path(folder or CHECKPOINTS) / "course_resnet.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"the card {path} is missing; reinstall the course package or recreate the "
            "checkpoint with `python -m tools.pretrain`"
        )
    return json.loads(path.read_text())


def _load_course_resnet(folder: Path | None):
    import torch

    from course.models import ResNet

    info = card("course-resnet", folder)
    path = Path(folder or CHECKPOINTS) / info["file"]
    if not path.is_file():
        raise FileNotFoundError(
            f"the checkpoint {path} is missing; reinstall the course package or recreate it "
            "with `python -m tools.pretrain` (about 6 minutes on 2 CPU cores)"
        )
    blob = path.read_bytes()
    digest = hashlib.sha256(blob).hexdigest()
    if digest != info["sha256"]:
        raise ValueError(
            f"the checkpoint {path} is corrupt or was replaced: its sha256 is {digest}, the "
            f"card says {info['sha256']}; reinstall the package or rerun "
            "`python -m tools.pretrain`, which writes both files"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = ResNet(**info["kwargs"])
    model.load_state_dict({key: value.float() for key, value in state.items()})
    model.card = info
    return model.eval()


def _load_imagenet(timeout: float):
    import torchvision

    weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
    cached = Path(_torch_hub_dir()) / "checkpoints" / Path(weights.url).name
    if not cached.is_file() and not data._online(IMAGENET_HOST, timeout):
        raise RuntimeError(
            f"resnet18-imagenet needs torchvision's ImageNet weights, which are not cached in "
            f"{cached.parent} and {IMAGENET_HOST} cannot be reached (offline?). Use "
            "load('course-resnet'), which ships with the course, or run "
            "load('resnet18-imagenet') once on a machine with internet access (the weights, "
            "45 MB, are then cached for offline use)."
        )
    model = torchvision.models.resnet18(weights=weights)
    model.card = {"name": "resnet18-imagenet", "weights": str(weights), "url": weights.url}
    return model.eval()


def _torch_hub_dir() -> str:
    import torch

    return torch.hub.get_dir()


def load(name: str, folder: Path | None = None, timeout: float = 3.0):
    """A pretrained network in eval mode, with its card as ``model.card``.

    ``"course-resnet"``: the course backbone (offline; ``folder`` overrides where the
    checkpoint and card are read from; the file must match the card's sha256).
    ``"resnet18-imagenet"``: torchvision's ResNet-18 with ImageNet weights (online, or cached);
    raises ``RuntimeError`` within about ``timeout`` seconds when offline.
    """
    _check_name(name)
    if name == "course-resnet":
        return _load_course_resnet(folder)
    return _load_imagenet(timeout)

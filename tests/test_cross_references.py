"""Every "lecture NN" in a notebook source points at the lecture that teaches what the
sentence talks about, by the numbering of the syllabus (L07 is normalization, dropout and
residual networks, L08 augmentation, L09 transfer learning, L10 visualization...).

A reference is judged by the words around it: when they name the topic of another lecture
and none of the referenced one's, the number is wrong (e.g. "data augmentation, lecture 07").
"""

from __future__ import annotations

import re

import pytest

from tools import nbbuild

#: Lecture number -> words that name its topic (lower case prefixes).
TOPICS = {
    1: ("linear regression", "least squares", "design matrix", "gradient descent"),
    2: ("optimiz", "momentum", "adam", "rmsprop", "adagrad", "sgd", "learning rate",
        "gradient descent"),
    3: ("backprop", "autodiff", "autograd", "chain rule", "computational graph", "gradient check"),
    4: ("convolution", "padding", "dilation", "im2col"),
    5: ("pooling", "lenet"),
    6: ("architecture", "alexnet", "vgg", "inception", "googlenet", "imagenet"),
    7: ("batch norm", "normaliz", "dropout", "residual", "resnet", "initializ", "xavier",
        "vanishing"),
    8: ("augment", "regulariz", "weight decay", "overfit"),
    9: ("transfer", "fine-tun", "pretrain", "backbone", "feature extraction"),
    10: ("visualiz", "saliency", "style transfer", "style loss", "perceptual", "gram matri",
         "deepdream", "looks inside",
         "neural collapse"),
    11: ("adversarial", "attack", "robust", "fgsm", "pgd"),
    12: ("graph", "gnn", "gcn", "message passing", "karate"),
}
#: Where a clause ends: the words around a reference are read up to these.
BOUNDARIES = (". ", "; ", " - ", "— ", ": ", "? ", "¶")
REFERENCE = re.compile(r"\blectures? (\d{2})((?:(?:, | and | ?[–-] ?)\d{2})*)", re.I)
SOURCES = sorted(nbbuild.SOURCES.glob("*/*.py"))


def _prose(path) -> str:
    """The source as one line of text: comment markers, line breaks and runs of spaces
    removed; a blank line (a paragraph break) becomes " ¶ "."""
    lines = [re.sub(r"^\s*# ?", "", line).strip() for line in path.read_text().splitlines()]
    return re.sub(r" +", " ", " ".join(line or "¶" for line in lines))


def suspicious_references(text: str) -> list[str]:
    """References whose surroundings name another lecture's topic and not their own."""
    found = []
    for match in REFERENCE.finditer(text):
        if text[match.end() : match.end() + 3] == " — ":  # a title: "Lecture 11 — ..."
            continue
        numbers = [int(n) for n in re.findall(r"\d{2}", match[0])]
        if re.search(r"\d ?[–-] ?\d", match[0]):  # a range: lectures 01–03
            numbers = list(range(numbers[0], numbers[-1] + 1))
        if not all(1 <= n <= 12 for n in numbers):
            found.append(f"{match[0]}: the course has lectures 01-12")
            continue
        before = text[max(0, match.start() - 130) : match.start()]
        cut = max(before.rfind(b) + len(b) for b in BOUNDARIES)
        after = text[match.end() : match.end() + 60]
        ends = [after.find(b) for b in BOUNDARIES if b in after]
        window = (before[max(cut, 0) :] + match[0] + after[: min(ends, default=60)]).lower()
        named = {n for n, words in TOPICS.items() if any(w in window for w in words)}
        if named and not named & set(numbers):
            found.append(f"...{window.strip()}... names lecture {named} topics")
    return found


def test_the_judge_catches_wrong_numbers():
    assert suspicious_references("Data augmentation (lecture 07) makes the network tolerate more.")
    assert suspicious_references("Lecture 09 visualizes what the filters respond to.")
    assert not suspicious_references("Lecture 10 visualizes what the filters respond to.")
    assert not suspicious_references("Residual connections (lecture 07) fix it.")
    assert suspicious_references("as lecture 13 shows")


@pytest.mark.parametrize("path", SOURCES, ids=[p.name for p in SOURCES])
def test_cross_references_match_the_syllabus(path):
    problems = suspicious_references(_prose(path))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)

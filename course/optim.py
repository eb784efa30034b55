"""Reference optimizers on NumPy arrays, for the gradient-descent explorer.

One generic :class:`Stepper` implements every update rule with exactly the arithmetic of
``torch.optim`` (SGD with momentum/dampening/Nesterov, Adagrad, RMSprop, Adam), and returns
with each step a :class:`StepRecord` of the numbers involved (gradient, velocity, effective
per-coordinate step size), so that a plot can draw arrows and a readout can fill in the rule.
:func:`run` minimizes a :mod:`course.surfaces` surface and reports divergence.

>>> from course import surfaces
>>> path = run(surfaces.get("quadratic_1d"), Stepper("gd", lr=0.1), start=[2.0], steps=3)
>>> path.points[:, 0].round(6).tolist()   # x ← (1 − 2η) x = 0.8 x
[2.0, 1.6, 1.28, 1.024]
>>> path.diverged
False
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "OPTIMIZERS",
    "LABELS",
    "HYPERPARAMETERS",
    "StepRecord",
    "Stepper",
    "Trajectory",
    "run",
    "stable_lr",
]

OPTIMIZERS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")

LABELS = {
    "gd": "GD",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
}

# The hyperparameters of each rule with torch.optim's defaults.
HYPERPARAMETERS = {
    "gd": {},
    "momentum": {"momentum": 0.9, "dampening": 0.0},
    "nesterov": {"momentum": 0.9},
    "adagrad": {"eps": 1e-10, "lr_decay": 0.0, "initial_accumulator_value": 0.0},
    "rmsprop": {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0},
    "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
}


@dataclass(frozen=True)
class StepRecord:
    """The numbers of one update ``x_new = x − lr_eff ⊙ direction`` (all arrays ``(D,)``).

    Attributes:
        grad: the gradient ``g`` the step used.
        velocity: momentum buffer ``b`` (momentum, Nesterov, RMSprop with momentum) or Adam's
            first moment ``m`` after the step; zeros for rules without one.
        second: accumulated squared gradients after the step (Adagrad's sum, RMSprop's
            and Adam's moving average ``v``); None for rules without one.
        direction: the vector the step moves against (``g``, ``b``, ``g + μb`` or ``m``).
        lr_eff: the per-coordinate step size multiplying ``direction``.
        update: ``x_new − x``.
    """

    grad: np.ndarray
    velocity: np.ndarray
    second: np.ndarray | None
    direction: np.ndarray
    lr_eff: np.ndarray
    update: np.ndarray


class Stepper:
    """One optimizer with its state: ``Stepper(name, lr, **hyper)``.

    ``name`` is one of :data:`OPTIMIZERS`; ``hyper`` overrides the defaults in
    :data:`HYPERPARAMETERS` (torch's names: ``momentum``, ``dampening``, ``eps``,
    ``lr_decay``, ``alpha``; Adam's ``betas`` are ``beta1`` and ``beta2``).
    The explorer's parameters have one or two coordinates, so the rules loop over
    coordinates in plain Python floats (IEEE doubles, as NumPy's float64), which for such
    tiny vectors is many times faster than NumPy calls.

    >>> opt = Stepper("momentum", lr=0.1, momentum=0.9)
    >>> x, rec = opt.step(np.array([1.0]), np.array([2.0]))   # b = g = 2, x = 1 − 0.1·2
    >>> x, rec.velocity
    (array([0.8]), array([2.]))
    >>> x, rec = opt.step(x, np.array([1.6]))                 # b = 0.9·2 + 1.6 = 3.4
    >>> x.round(12), rec.velocity.round(12)
    (array([0.46]), array([3.4]))
    """

    def __init__(self, name: str, lr: float, **hyper: float):
        if name not in HYPERPARAMETERS:
            raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
        allowed = HYPERPARAMETERS[name]
        unknown = sorted(set(hyper) - set(allowed))
        if unknown:
            known = ", ".join(allowed) or "none"
            raise ValueError(
                f"{name} has no hyperparameter {', '.join(unknown)}; its hyperparameters: {known}"
            )
        if not (np.isfinite(lr) and lr >= 0):
            raise ValueError(f"lr must be a number ≥ 0; got {lr}")
        self.name = name
        self.lr = float(lr)
        self.hyper = {**allowed, **{k: float(v) for k, v in hyper.items()}}
        self._validate()
        self._rule = getattr(self, f"_{name}")
        self.state: dict = {}

    def _validate(self) -> None:
        for key, value in self.hyper.items():  # the ranges torch.optim accepts
            if key in ("beta1", "beta2") and not 0 <= value < 1:
                raise ValueError(f"{key} must be in [0, 1); got {value}")
            if not value >= 0:
                raise ValueError(f"{key} must be ≥ 0; got {value}")

    def __repr__(self) -> str:
        hyper = "".join(f", {k}={v:g}" for k, v in self.hyper.items())
        return f"Stepper({self.name!r}, lr={self.lr:g}{hyper})"

    def reset(self) -> None:
        """Forget the state (buffers, step count): the next step is a first step."""
        self.state = {}

    def step(self, params, grad) -> tuple[np.ndarray, StepRecord]:
        """One update from ``params: (D,)`` with gradient ``grad: (D,)``.

        Returns ``(new_params, record)``; the inputs are not modified.
        """
        x = np.asarray(params, dtype=np.float64)
        g = np.asarray(grad, dtype=np.float64)
        if x.shape != g.shape or x.ndim != 1:
            raise ValueError(
                f"params and grad must be vectors of the same shape (D,); got {x.shape}, {g.shape}"
            )
        new, velocity, second, direction, lr_eff = self._update(x.tolist(), g.tolist())
        new = np.array(new)
        record = StepRecord(
            g.copy(),
            np.array(velocity),
            None if second is None else np.array(second),
            np.array(direction),
            np.array(lr_eff),
            new - x,
        )
        return new, record

    def _update(self, x: list, g: list):
        """The rule on lists of floats: ``(new, velocity, second, direction, lr_eff)``."""
        t = self.state.get("step", 0) + 1
        self.state["step"] = t
        return self._rule(x, g, t)

    # --- the rules (each mirrors torch.optim's single-tensor implementation) ---

    def _gd(self, x, g, t):
        lr = self.lr
        new = [xi - lr * gi for xi, gi in zip(x, g, strict=True)]
        return new, [0.0] * len(x), None, g, [lr] * len(x)

    def _momentum(self, x, g, t, nesterov: bool = False):
        lr, mu = self.lr, self.hyper["momentum"]
        keep = 1 - self.hyper.get("dampening", 0.0)
        if t == 1:
            b = list(g)  # torch starts the buffer at the first gradient, undampened
        else:
            b = [mu * bi + keep * gi for bi, gi in zip(self.state["b"], g, strict=True)]
        self.state["b"] = b
        direction = [gi + mu * bi for gi, bi in zip(g, b, strict=True)] if nesterov else b
        new = [xi - lr * di for xi, di in zip(x, direction, strict=True)]
        return new, b, None, direction, [lr] * len(x)

    def _nesterov(self, x, g, t):
        return self._momentum(x, g, t, nesterov=True)

    def _adagrad(self, x, g, t):
        h = self.hyper
        clr = self.lr / (1 + (t - 1) * h["lr_decay"])
        start = [h["initial_accumulator_value"]] * len(x)
        G = [si + gi * gi for si, gi in zip(self.state.get("sum", start), g, strict=True)]
        self.state["sum"] = G
        std = [math.sqrt(si) + h["eps"] for si in G]  # eps after the square root, as torch
        new = [xi - clr * (gi / di) for xi, gi, di in zip(x, g, std, strict=True)]
        return new, [0.0] * len(x), G, g, [clr / di for di in std]

    def _rmsprop(self, x, g, t):
        h = self.hyper
        alpha, mu = h["alpha"], h["momentum"]
        v = [
            alpha * vi + (1 - alpha) * gi * gi
            for vi, gi in zip(self.state.get("v", [0.0] * len(x)), g, strict=True)
        ]
        self.state["v"] = v
        avg = [math.sqrt(vi) + h["eps"] for vi in v]  # eps outside the square root, as torch
        if mu > 0:
            b = [
                mu * bi + gi / ai
                for bi, gi, ai in zip(self.state.get("b", [0.0] * len(x)), g, avg, strict=True)
            ]
            self.state["b"] = b
            new = [xi - self.lr * bi for xi, bi in zip(x, b, strict=True)]
            return new, b, v, b, [self.lr] * len(x)
        new = [xi - self.lr * (gi / ai) for xi, gi, ai in zip(x, g, avg, strict=True)]
        return new, [0.0] * len(x), v, g, [self.lr / ai for ai in avg]

    def _adam(self, x, g, t):
        h = self.hyper
        beta1, beta2, eps = h["beta1"], h["beta2"], h["eps"]
        zeros = [0.0] * len(x)
        m = [
            mi + (1 - beta1) * (gi - mi)
            for mi, gi in zip(self.state.get("m", zeros), g, strict=True)
        ]
        v = [
            beta2 * vi + (1 - beta2) * gi * gi
            for vi, gi in zip(self.state.get("v", zeros), g, strict=True)
        ]
        self.state["m"], self.state["v"] = m, v  # m: torch's lerp form of β₁m + (1 − β₁)g
        step_size = self.lr / (1 - beta1**t)
        correction = (1 - beta2**t) ** 0.5
        denom = [math.sqrt(vi) / correction + eps for vi in v]
        new = [xi - step_size * (mi / di) for xi, mi, di in zip(x, m, denom, strict=True)]
        return new, m, v, m, [step_size / di for di in denom]


class Trajectory:
    """The result of :func:`run`: ``k + 1`` iterates and the ``k`` steps between them.

    Attributes:
        points: ``(k + 1, D)`` iterates ``x_0 … x_k``; ``k = steps`` unless it diverged.
        losses: ``(k + 1,)`` values ``f(x_t)``.
        grads, velocities, directions, lr_effs: ``(k, D)``, row ``t`` for the step from
            ``x_t`` to ``x_{t+1}`` (see :class:`StepRecord`); ``seconds`` likewise or None.
        diverged: True when an iterate left ``|x| ≤ max_abs`` or its value was not finite.
        diverged_at: the step ``t`` whose iterate ``x_t`` diverged, else None.
    """

    def __init__(
        self,
        points,
        losses,
        grads,
        velocities,
        seconds,
        directions,
        lr_effs,
        diverged: bool = False,
        diverged_at: int | None = None,
    ):
        self.points = np.asarray(points, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        d = self.points.shape[1]
        self.grads, self.velocities, self.directions, self.lr_effs = (
            np.asarray(a, dtype=np.float64).reshape(-1, d)
            for a in (grads, velocities, directions, lr_effs)
        )
        self.seconds = None if seconds is None else np.asarray(seconds).reshape(-1, d)
        self.diverged = diverged
        self.diverged_at = diverged_at

    def __len__(self) -> int:
        return len(self.points)

    def record(self, t: int) -> StepRecord:
        """The step from ``x_t`` to ``x_{t+1}``."""
        if not 0 <= t < len(self.grads):
            raise IndexError(f"step {t} out of range: this run has {len(self.grads)} steps")
        return StepRecord(
            self.grads[t],
            self.velocities[t],
            None if self.seconds is None else self.seconds[t],
            self.directions[t],
            self.lr_effs[t],
            self.points[t + 1] - self.points[t],
        )

    @property
    def records(self) -> list[StepRecord]:
        """All steps as :class:`StepRecord` objects."""
        return [self.record(t) for t in range(len(self.grads))]


def _value(surface, x: list) -> float:
    try:
        return float(surface.f(*x))
    except OverflowError:
        return math.inf


def run(
    surface,
    optimizer: Stepper,
    start=None,
    steps: int = 100,
    *,
    batch_size: int | None = None,
    noise: float = 0.0,
    seed: int = 0,
    max_abs: float = 1e6,
) -> Trajectory:
    """Minimize ``surface`` with ``optimizer`` (reset first) for ``steps`` steps from ``start``.

    ``batch_size`` draws mini-batch gradients on a data surface; ``noise`` adds Gaussian noise
    of that standard deviation to every gradient coordinate (stochastic gradients on any
    surface). Both use ``numpy.random.default_rng(seed)``, so a run is reproducible and
    optimizers raced with the same seed see the same noise. The run stops early, with
    ``diverged=True``, when an iterate or its value is not finite or ``|x_i| > max_abs``.
    """
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0; got {steps}")
    if noise < 0:
        raise ValueError(f"noise must be ≥ 0; got {noise}")
    x = np.array(surface.start if start is None else start, dtype=np.float64).reshape(-1)
    if x.shape != (surface.dim,):
        raise ValueError(
            f"start must have {surface.dim} coordinate(s) for {surface.name!r}; got {x.shape[0]}"
        )
    rng = np.random.default_rng(seed)
    minibatch = surface.sample_grad is not None and batch_size is not None
    optimizer.reset()
    x = x.tolist()
    points, losses = [x], [_value(surface, x)]
    grads, velocities, seconds, directions, lr_effs = [], [], [], [], []
    diverged_at = None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            if minibatch:
                g = surface.grad(np.array(x), batch_size=batch_size, rng=rng).tolist()
            else:
                g = [float(v) for v in surface.df(*x)]
            if noise > 0:
                g = [
                    gi + noise * zi
                    for gi, zi in zip(g, rng.standard_normal(len(x)).tolist(), strict=True)
                ]
            x, velocity, second, direction, lr_eff = optimizer._update(x, g)
            for row, item in zip(
                (grads, velocities, seconds, directions, lr_effs),
                (g, velocity, second, direction, lr_eff),
                strict=True,
            ):
                row.append(item)
            loss = _value(surface, x)
            points.append(x)
            losses.append(loss)
            if not (math.isfinite(loss) and all(abs(v) <= max_abs for v in x)):
                diverged_at = t
                break
    has_second = bool(seconds) and seconds[0] is not None
    return Trajectory(
        points,
        losses,
        grads,
        velocities,
        seconds if has_second else None,
        directions,
        lr_effs,
        diverged_at is not None,
        diverged_at,
    )


def stable_lr(name: str, L: float, momentum: float = 0.0) -> float | None:
    """The largest learning rate for which ``name`` converges on a quadratic of curvature ``L``.

    On ``f(x) = (L/2) x²`` with ``h = lr·L``: GD's iteration ``x ← (1 − h) x`` converges for
    ``h < 2``; heavy-ball momentum (torch's form) for ``h < 2(1 + μ)``; torch's Nesterov for
    ``h < 2(1 + μ)/(1 + 2μ)``. Adaptive rules rescale the step and have no such threshold
    (None). In several dimensions ``L`` is the largest Hessian eigenvalue.

    >>> stable_lr("gd", L=2.0)        # f = x²: converges for lr < 1
    1.0
    >>> stable_lr("momentum", L=2.0, momentum=0.5)
    1.5
    """
    if not L > 0:
        raise ValueError(f"the curvature L must be positive; got {L}")
    if name == "gd":
        return 2.0 / L
    if name == "momentum":
        return 2.0 * (1 + momentum) / L
    if name == "nesterov":
        return 2.0 * (1 + momentum) / ((1 + 2 * momentum) * L)
    if name in HYPERPARAMETERS:
        return None
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")

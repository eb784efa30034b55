"""The gradient-descent explorer's numbers: runs, loss scales and the texts shown beside them.

No widgets and no drawing here: :class:`Settings` is what the controls hold, :class:`RunCache`
turns it into one :class:`course.optim.Trajectory` per ticked optimizer (computed by
:func:`course.optim.run`, kept for when the student comes back to a setting), and the
functions below give the values the picture and the HTML readouts show: the contour values,
the loss against the step and its axis limits, each update rule with the current numbers
filled in, the learning-rate regimes of a quadratic and the "diverged" badges.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from course import optim

__all__ = [
    "COLORS",
    "MINUS",
    "MAX_STEPS",
    "TITLES",
    "Settings",
    "RunCache",
    "hyperparameters",
    "optimizer_labels",
    "contour_values",
    "loss_values",
    "loss_limits",
    "format_number",
    "format_vector",
    "update_rule",
    "regimes_html",
    "badge_html",
    "readout_html",
]

# Okabe–Ito colours (readable for colour-blind students), one per optimizer.
COLORS = {
    "gd": "#0072B2",
    "momentum": "#D55E00",
    "nesterov": "#CC79A7",
    "adagrad": "#009E73",
    "rmsprop": "#E69F00",
    "adam": "#000000",
}
MINUS = "\u2212"
MAX_STEPS = 300
# the function dropdown's labels
TITLES = {
    "quadratic_1d": "x²  (1-D)",
    "quartic_1d": "x⁴  (1-D, flat minimum)",
    "double_well_1d": "double well  (1-D)",
    "abs_1d": "|x|  (1-D, not smooth)",
    "quadratic": "round bowl  (2-D)",
    "ill_conditioned": "ill-conditioned bowl κ = 20",
    "rosenbrock": "Rosenbrock valley",
    "saddle": "saddle x² − y²",
    "himmelblau": "Himmelblau (4 minima)",
    "plateau": "plateau with a basin",
    "several_minima": "several local minima",
    "least_squares": "least squares (mini-batches)",
}


@dataclass(frozen=True)
class Settings:
    """What the controls hold: the surface, the hyperparameters and the run's length."""

    surface: object  # a course.surfaces.Surface
    lr: float
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    alpha: float = 0.99
    eps: float = 1e-8
    start: tuple = (0.0,)
    steps: int = 50
    noise: float = 0.0
    batch_size: int | None = None  # used on a stochastic surface only
    seed: int = 0

    @property
    def stochastic(self) -> bool:
        """Mini-batches smaller than the data, or gradient noise."""
        if self.surface.stochastic:
            return self.batch_size is not None and self.batch_size < self.surface.n_samples
        return self.noise > 0


def hyperparameters(name: str, settings: Settings) -> dict:
    """The hyperparameters of optimizer ``name`` the controls set (the others keep torch's
    defaults: RMSprop without momentum, SGD without dampening).

    >>> from course import surfaces
    >>> hyperparameters("adam", Settings(surfaces.get("quadratic"), lr=0.1))
    {'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-08}
    """
    s = settings
    table = {
        "gd": {},
        "momentum": {"momentum": s.momentum},
        "nesterov": {"momentum": s.momentum},
        "adagrad": {"eps": s.eps},
        "rmsprop": {"alpha": s.alpha, "eps": s.eps},
        "adam": {"beta1": s.beta1, "beta2": s.beta2, "eps": s.eps},
    }
    if name not in table:
        raise ValueError(f"unknown optimizer {name!r}; choose from {', '.join(table)}")
    return table[name]


def optimizer_labels(stochastic: bool) -> dict:
    """Optimizer name -> label; plain gradient descent is "SGD" when gradients are noisy."""
    labels = dict(optim.LABELS)
    if stochastic:
        labels["gd"] = "SGD"
    return labels


class RunCache:
    """Runs of the optimizers, computed once per setting (the most recent ``size`` kept)."""

    def __init__(self, size: int = 64):
        self.size = size
        self._runs: OrderedDict = OrderedDict()

    def run(self, name: str, settings: Settings):
        """The :class:`course.optim.Trajectory` of optimizer ``name`` under ``settings``."""
        s, surface = settings, settings.surface
        # the browser's slider may send 2.5999999999999996 for 2.6 (min + k·step in floats)
        start = tuple(round(float(v), 9) for v in s.start[: surface.dim])
        hyper = hyperparameters(name, s)
        batch = s.batch_size if surface.stochastic else None
        noise = 0.0 if surface.stochastic else s.noise
        key = (surface.name, name, s.lr, tuple(sorted(hyper.items())), start, s.steps, batch,
               noise, s.seed)  # fmt: skip
        if key in self._runs:
            self._runs.move_to_end(key)
            return self._runs[key]
        run = optim.run(
            surface,
            optim.Stepper(name, s.lr, **hyper),
            start=start,
            steps=s.steps,
            batch_size=batch,
            noise=noise,
            seed=s.seed,
        )
        self._runs[key] = run
        if len(self._runs) > self.size:
            self._runs.popitem(last=False)
        return run

    def __len__(self) -> int:
        return len(self._runs)


# --- what the picture shows ----------------------------------------------------------------


def contour_values(surface, Z: np.ndarray) -> np.ndarray:
    """What the contour plot shows of ``Z = f`` on a grid: ``log10(f − min f + δ)`` when the
    minimum is known, so that the levels (evenly spaced) crowd neither the valley nor the
    walls; else ``f`` itself."""
    if surface.min_value is None:
        return Z
    shifted = Z - surface.min_value
    delta = max(np.percentile(shifted, 2.0), 1e-6 * shifted.max(), 1e-12)
    return np.log10(shifted + delta)


def loss_values(surface, run) -> np.ndarray:
    """The loss panel's values ``(k + 1,)``: ``f − min f`` (at least 1e-16, for a log axis)
    when the minimum is known, else ``f``."""
    if surface.min_value is None:
        return run.losses
    return np.maximum(run.losses - surface.min_value, 1e-16)


def loss_limits(surface, runs: dict) -> tuple[float, float]:
    """y limits of the loss panel, rounded out to whole decades so that they (and the cached
    y axis) stay the same while a control moves a little."""
    parts = [loss_values(surface, run) for run in runs.values()]
    values = np.concatenate(parts) if parts else np.array([1.0])
    values = values[np.isfinite(values)]
    if values.size == 0:
        values = np.array([1.0])

    def decade_above(v):
        return 10.0 ** np.ceil(np.log10(max(abs(v), 1e-2)))

    if surface.min_value is None:  # symlog axis: f may be negative
        low = -decade_above(values.min()) if values.min() < 0 else 0.0
        high = decade_above(values.max()) if values.max() > 0 else 1.0
        return low, high
    low = 10.0 ** np.floor(np.log10(values.min()))
    return low, max(10.0 ** np.ceil(np.log10(values.max())), 10 * low)


# --- the readouts ---------------------------------------------------------------------------


def format_number(v: float) -> str:
    """A number as the readout shows it: 4 significant digits, a real minus sign.

    >>> format_number(-0.123456)
    '−0.1235'
    """
    return f"{v:.4g}".replace("-", MINUS)


def format_vector(v) -> str:
    """A vector as the readout shows it: ``(a, b)``, or a bare number in 1-D.

    >>> format_vector([1.5, -2.0]), format_vector(3.0)
    ('(1.5, −2)', '3')
    """
    v = np.atleast_1d(v)
    if v.size == 1:
        return format_number(float(v[0]))
    return "(" + ", ".join(format_number(float(x)) for x in v) + ")"


_num, _vec = format_number, format_vector


def _sub(name: str, t) -> str:
    return f"{name}<sub>{str(t).replace('-', MINUS)}</sub>"


def update_rule(name: str, run, k: int, hyper: dict, lr: float, dim: int) -> str:
    """The update rule of step ``k`` of ``run`` with the numbers filled in (HTML)."""
    r = run.record(k)
    x, x_new = run.points[k], run.points[k + 1]
    prev = run.record(k - 1) if k > 0 else None
    g = _vec(r.grad)
    xk, xk1, gk = _sub("x", k), _sub("x", k + 1), _sub("g", k)
    head = f"{gk} = ∇f({xk}) = {g}" if dim > 1 else f"{gk} = f′({xk}) = {g}"
    end = f"= {_vec(x)} − "
    if name == "gd":
        body = f"{xk1} = {xk} − η·{gk} {end}{_num(lr)}·{g} = {_vec(x_new)}"
    elif name in ("momentum", "nesterov"):
        beta = hyper["momentum"]
        v_old = _vec(prev.velocity if prev else np.zeros(dim))
        vk = _sub("v", k)
        body = (
            f"{vk} = β·{_sub('v', k - 1)} + {gk} = {_num(beta)}·{v_old} + {g} = {_vec(r.velocity)}"
        )
        if name == "momentum":
            body += f"; {xk1} = {xk} − η·{vk} {end}{_num(lr)}·{_vec(r.velocity)}"
        else:
            body += f"; {xk1} = {xk} − η·({gk} + β·{vk}) {end}{_num(lr)}·{_vec(r.direction)}"
        body += f" = {_vec(x_new)}"
    else:
        sq = _sub("s", k)
        s_old = _vec(prev.second if prev else np.zeros(dim))
        if name == "adagrad":
            acc = f"{sq} = {_sub('s', k - 1)} + {gk}² = {s_old} + {g}² = {_vec(r.second)}"
            eff = f"η/(√{sq} + ε)"
        elif name == "rmsprop":
            a = _num(hyper["alpha"])
            acc = (
                f"{sq} = α·{_sub('s', k - 1)} + (1 − α)·{gk}² = {a}·{s_old} + "
                f"{_num(1 - hyper['alpha'])}·{g}² = {_vec(r.second)}"
            )
            eff = f"η/(√{sq} + ε)"
        else:  # adam
            b1 = hyper["beta1"]
            m_old = _vec(prev.velocity if prev else np.zeros(dim))
            mk = _sub("m", k)
            acc = (
                f"{mk} = β₁·{_sub('m', k - 1)} + (1 − β₁)·{gk} = {_num(b1)}·{m_old} + "
                f"{_num(1 - b1)}·{g} = {_vec(r.velocity)}; "
                f"{sq} = β₂·{_sub('s', k - 1)} + (1 − β₂)·{gk}² = {_vec(r.second)}"
            )
            eff = f"η/(1 − β₁<sup>{k + 1}</sup>) / (√({sq}/(1 − β₂<sup>{k + 1}</sup>)) + ε)"
        direction = _sub("m", k) if name == "adam" else gk
        body = (
            f"{acc}; {xk1} = {xk} − η<sub>eff</sub> ⊙ {direction}, η<sub>eff</sub> = {eff} = "
            f"<b>{_vec(r.lr_eff)}</b>; {xk1} {end}{_vec(r.lr_eff)} ⊙ {_vec(r.direction)} "
            f"= {_vec(x_new)}"
        )
    return f"{head}<br>{body}"


def regimes_html(surface, selected, lr: float, beta: float) -> str:
    """Learning-rate regimes on a quadratic, from its curvature (HTML), else ''."""
    if surface.curvature is None:
        return ""
    mu, L = surface.curvature
    what = "f″" if surface.dim == 1 else "the largest Hessian eigenvalue"
    lines = [f"Curvature L = {_num(L)} ({what})."]
    if "gd" in selected or not selected:
        limit = optim.stable_lr("gd", L)
        h = lr * L
        if abs(h - 2) < 1e-9:
            verdict, colour = "bounces between two points forever", "#b8860b"
        elif h > 2:
            verdict, colour = "diverges", "#d62728"
        elif abs(h - 1) < 1e-9 and surface.dim == 1:
            verdict, colour = "lands on the minimum in one step", "#2ca02c"
        elif h > 1:
            verdict, colour = "converges, oscillating around the minimum", "#2ca02c"
        else:
            verdict, colour = "converges monotonically", "#2ca02c"
        rel = ">" if h > 2 + 1e-9 else ("=" if abs(h - 2) < 1e-9 else "<")
        lines.append(
            f"GD: monotone for η &lt; 1/L = {_num(1 / L)}, oscillating for η &lt; 2/L = "
            f"{_num(limit)}, diverging above. η = {_num(lr)} {html.escape(rel)} 2/L: "
            f"<b style='color:{colour}'>{verdict}</b>."
        )
        if surface.dim == 2 and mu < L:
            lines.append(f"Fastest GD on this bowl: η = 2/(μ + L) = {_num(2 / (mu + L))}.")
    for name in ("momentum", "nesterov"):
        if name in selected:
            limit = optim.stable_lr(name, L, momentum=beta)
            ok = lr < limit
            colour, verdict = ("#2ca02c", "converges") if ok else ("#d62728", "diverges")
            formula = "2(1 + β)/L" if name == "momentum" else "2(1 + β)/((1 + 2β)L)"
            lines.append(
                f"{optim.LABELS[name]} (β = {_num(beta)}): stable for η &lt; {formula} = "
                f"{_num(limit)}: <b style='color:{colour}'>{verdict}</b>."
            )
    if surface.stochastic:
        lines.append("(Thresholds for the full-batch gradient.)")
    return "<br>".join(lines)


def badge_html(runs: dict, labels: dict) -> str:
    """A red pill per diverged run (HTML), or ''."""
    pills = [
        f"<span style='background:#d62728;color:white;border-radius:10px;padding:2px 10px;"
        f"font-weight:bold;margin-right:6px'>{html.escape(labels[name])} diverged at step "
        f"{run.diverged_at}</span>"
        for name, run in runs.items()
        if run.diverged
    ]
    return "".join(pills)


def readout_html(runs: dict, t: int, labels: dict, settings: Settings) -> str:
    """Per run at step ``t``: the loss and the update rule with its numbers (HTML)."""
    if not runs:
        return "<i>Tick at least one optimizer.</i>"
    rows = []
    dim = settings.surface.dim
    for name, run in runs.items():
        k = min(t, len(run) - 1)
        label = f"<b style='color:{COLORS[name]}'>{html.escape(labels[name])}</b>"
        status = f"f({_sub('x', k)}) = {_num(run.losses[k])}"
        if k < len(run) - 1:
            hyper = hyperparameters(name, settings)
            text = update_rule(name, run, k, hyper, settings.lr, dim)
        elif run.diverged:
            text = f"diverged: {_sub('x', k)} = {_vec(run.points[k])}"
        else:
            text = f"finished: {_sub('x', k)} = {_vec(run.points[k])}"
        cell = "<td style='vertical-align:top;padding-right:10px;white-space:nowrap'>"
        rows.append(f"<tr>{cell}{label}</td>{cell}{status}</td><td>{text}</td></tr>")
    return (
        "<table style='font-size:13px;line-height:1.45;border-collapse:collapse'>"
        + "".join(rows)
        + "</table>"
    )

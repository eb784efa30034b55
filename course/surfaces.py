"""Test functions for optimization: value, gradient, plot range, start point, known minima.

Every surface evaluates elementwise, so ``surface.f(X, Y)`` draws a contour plot from a grid,
and it accepts NumPy arrays *or* torch tensors (only arithmetic, ``exp``, ``cos`` and ``abs``
are used), so the same function can be minimized with ``torch.optim`` in a lab.
The gradient is written out by hand (NumPy only) and checked against autograd in the tests.

>>> s = get("rosenbrock")
>>> s.dim, s.minima, float(s.f(1.0, 1.0))
(2, ((1.0, 1.0),), 0.0)
>>> s.grad(np.array([0.0, 0.0]))
array([-2.,  0.])
>>> NAMES[:2]
('quadratic_1d', 'quartic_1d')
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = [
    "Surface",
    "NAMES",
    "get",
    "quadratic",
    "least_squares",
]


@dataclass(frozen=True, eq=False)
class Surface:
    """A function to minimize, with what a plot and a test need to know about it.

    Attributes:
        name: registry name, e.g. ``"rosenbrock"``.
        title: a short formula in matplotlib mathtext, e.g. ``"$x^2 - y^2$"``.
        f: elementwise value ``f(x)`` (1-D) or ``f(x, y)`` (2-D) on arrays or tensors.
        df: elementwise partial derivatives, a tuple ``(df/dx,)`` or ``(df/dx, df/dy)``.
        xlim, ylim: plot range (``ylim`` is None for 1-D surfaces).
        start: default start point, length ``dim``.
        minima: known local minima (the global ones first), each a tuple of length ``dim``.
        min_value: the global minimum value, or None when ``f`` is unbounded below.
        saddles: known saddle points.
        curvature: ``(mu, L)``, the smallest and largest Hessian eigenvalue, for quadratics
            (the Hessian is then constant); None otherwise.
        lr: a learning rate with which plain gradient descent makes visible progress.
        sample_grad: for a sum over data, ``sample_grad(theta, batch_size, rng)`` returns the
            gradient on a random mini-batch; None for deterministic surfaces.
        n_samples: the number of data points behind ``sample_grad``.
        data: the data ``(x, y)``, each ``(n_samples,)``, of a data surface; else None.
    """

    name: str
    title: str
    f: Callable
    df: Callable
    xlim: tuple[float, float]
    ylim: tuple[float, float] | None
    start: tuple[float, ...]
    minima: tuple[tuple[float, ...], ...] = ()
    min_value: float | None = None
    saddles: tuple[tuple[float, ...], ...] = ()
    curvature: tuple[float, float] | None = None
    lr: float = 0.1
    sample_grad: Callable | None = None
    n_samples: int | None = None
    data: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def dim(self) -> int:
        """1 for a curve ``f(x)``, 2 for a surface ``f(x, y)``."""
        return 1 if self.ylim is None else 2

    @property
    def stochastic(self) -> bool:
        """True when a mini-batch gradient is available (a sum over data points)."""
        return self.sample_grad is not None

    def _coords(self, point):
        if point.shape[-1:] != (self.dim,):
            raise ValueError(
                f"a point of {self.name!r} must have shape (..., {self.dim}); "
                f"got shape {tuple(point.shape)}"
            )
        return [point[..., i] for i in range(self.dim)]

    def value(self, point):
        """``f`` at ``point: (..., dim)`` (array or tensor); returns shape ``(...)``."""
        if not hasattr(point, "shape"):
            point = np.asarray(point, dtype=np.float64)
        return self.f(*self._coords(point))

    def grad(self, point, batch_size: int | None = None, rng=None) -> np.ndarray:
        """Gradient at ``point: (..., dim)``; returns an array of the same shape.

        For a data surface (``stochastic``) with ``batch_size`` smaller than the number of
        data points, the gradient of the loss on ``batch_size`` points drawn without
        replacement by ``rng`` (a ``numpy.random.Generator``); ``point`` must then be one
        point ``(dim,)``. Deterministic surfaces ignore ``batch_size``.
        """
        point = np.asarray(point, dtype=np.float64)
        coords = self._coords(point)
        if self.sample_grad is not None and batch_size is not None:
            if not 1 <= batch_size:
                raise ValueError(f"batch_size must be at least 1; got {batch_size}")
            if batch_size < self.n_samples:
                if point.shape != (self.dim,):
                    raise ValueError(
                        f"a mini-batch gradient is for one point of shape ({self.dim},); "
                        f"got shape {point.shape}"
                    )
                rng = np.random.default_rng() if rng is None else rng
                return self.sample_grad(point, batch_size, rng)
        parts = self.df(*coords)
        return np.stack(np.broadcast_arrays(*parts), axis=-1).astype(np.float64)

    def grid(self, n: int = 200):
        """Values on a regular grid over the plot range, for drawing.

        Returns ``(x, fx)`` with shapes ``(n,)`` for a curve, ``(X, Y, Z)`` with shapes
        ``(n, n)`` for a surface.
        """
        x = np.linspace(*self.xlim, n)
        if self.dim == 1:
            return x, self.f(x)
        X, Y = np.meshgrid(x, np.linspace(*self.ylim, n))
        return X, Y, self.f(X, Y)


def _namespace(a):
    """``numpy`` for arrays and numbers, ``torch`` for tensors (without importing torch)."""
    if type(a).__module__.startswith("torch"):
        import torch

        return torch
    return np


def _polish(df: Callable, point, steps: int = 30) -> tuple[float, ...]:
    """Newton's method on ``df = 0`` from a nearby ``point`` (Hessian by central differences
    of the analytic gradient); returns the critical point to machine precision."""
    p = np.array(point, dtype=np.float64)
    h = 1e-6
    for _ in range(steps):
        g = np.array(df(*p), dtype=np.float64)
        H = np.empty((p.size, p.size))
        for i in range(p.size):
            e = np.zeros_like(p)
            e[i] = h
            H[:, i] = (np.array(df(*(p + e))) - np.array(df(*(p - e)))) / (2 * h)
        p = p - np.linalg.solve(H, g)
    return tuple(float(v) for v in p)


# --- 1-D ----------------------------------------------------------------------------------


def _quadratic_1d() -> Surface:
    return Surface(
        name="quadratic_1d",
        title="$x^2$",
        f=lambda x: x**2,
        df=lambda x: (2 * x,),
        xlim=(-3.0, 3.0),
        ylim=None,
        start=(2.0,),
        minima=((0.0,),),
        min_value=0.0,
        curvature=(2.0, 2.0),
        lr=0.1,
    )


def _quartic_1d() -> Surface:
    return Surface(
        name="quartic_1d",
        title="$x^4$",
        f=lambda x: x**4,
        df=lambda x: (4 * x**3,),
        xlim=(-2.0, 2.0),
        ylim=None,
        start=(1.5,),
        minima=((0.0,),),
        min_value=0.0,
        lr=0.05,
    )


_TILT = 0.3  # the double well (x² − 1)² + 0.3 x: global minimum on the left, local on the right


def _double_well_1d() -> Surface:
    roots = np.sort(np.roots([4.0, 0.0, -4.0, _TILT]).real)  # f'(x) = 4x³ − 4x + 0.3
    left, _, right = (_polish(lambda x: (4 * x**3 - 4 * x + _TILT,), (r,)) for r in roots)
    return Surface(
        name="double_well_1d",
        title="$(x^2 - 1)^2 + 0.3x$",
        f=lambda x: (x**2 - 1) ** 2 + _TILT * x,
        df=lambda x: (4 * x**3 - 4 * x + _TILT,),
        xlim=(-2.0, 2.0),
        ylim=None,
        start=(1.8,),
        minima=(left, right),
        min_value=float((left[0] ** 2 - 1) ** 2 + _TILT * left[0]),
        lr=0.02,
    )


def _abs_1d() -> Surface:
    return Surface(
        name="abs_1d",
        title="$|x|$",
        f=lambda x: _namespace(x).abs(x),
        df=lambda x: (np.sign(x).astype(np.float64),),  # the subgradient 0 at x = 0
        xlim=(-1.5, 1.5),
        ylim=None,
        start=(1.05,),
        minima=((0.0,),),
        min_value=0.0,
        lr=0.1,
    )


# --- 2-D ----------------------------------------------------------------------------------


def quadratic(kappa: float = 1.0, name: str | None = None) -> Surface:
    """The quadratic bowl ``f(x, y) = ½(x² + κ y²)`` with condition number ``κ ≥ 1``.

    Its Hessian is ``diag(1, κ)``, so gradient descent is stable for ``lr < 2/κ``.

    >>> quadratic(10).curvature
    (1.0, 10.0)
    """
    if not kappa >= 1:
        raise ValueError(f"the condition number kappa must be at least 1; got {kappa}")
    kappa = float(kappa)
    return Surface(
        name=name or f"quadratic_kappa{kappa:g}",
        title=rf"$\frac{{1}}{{2}}(x^2 + {kappa:g}\,y^2)$",
        f=lambda x, y: 0.5 * (x**2 + kappa * y**2),
        df=lambda x, y: (x, kappa * y),
        xlim=(-3.0, 3.0),
        ylim=(-3.0, 3.0),
        start=(-2.8, 1.2) if kappa > 1 else (-2.4, 1.8),
        minima=((0.0, 0.0),),
        min_value=0.0,
        curvature=(1.0, kappa),
        lr=min(1.8 / kappa, 0.3),  # near 2/L: GD zigzags across the narrow direction
    )


def _rosenbrock() -> Surface:
    return Surface(
        name="rosenbrock",
        title="$(1 - x)^2 + 100(y - x^2)^2$",
        f=lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
        df=lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)),
        xlim=(-2.0, 2.0),
        ylim=(-1.0, 3.0),
        start=(-1.2, 1.0),
        minima=((1.0, 1.0),),
        min_value=0.0,
        lr=1e-3,
    )


def _saddle() -> Surface:
    return Surface(
        name="saddle",
        title="$x^2 - y^2$",
        f=lambda x, y: x**2 - y**2,
        df=lambda x, y: (2 * x, -2 * y),
        xlim=(-2.0, 2.0),
        ylim=(-2.0, 2.0),
        start=(1.8, 0.01),
        saddles=((0.0, 0.0),),
        lr=0.1,
    )


def _himmelblau_df(x, y):
    a, b = x**2 + y - 11, x + y**2 - 7
    return (4 * x * a + 2 * b, 2 * a + 4 * y * b)


def _himmelblau() -> Surface:
    rough = [(3.0, 2.0), (-2.805, 3.131), (-3.779, -3.283), (3.584, -1.848)]
    rough_saddles = [(0.087, 2.884), (-3.073, -0.081), (3.385, 0.074), (-0.128, -1.954)]
    return Surface(
        name="himmelblau",
        title="$(x^2 + y - 11)^2 + (x + y^2 - 7)^2$",
        f=lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
        df=_himmelblau_df,
        xlim=(-5.0, 5.0),
        ylim=(-5.0, 5.0),
        start=(0.0, 0.0),
        minima=tuple(_polish(_himmelblau_df, p) for p in rough),
        min_value=0.0,
        saddles=tuple(_polish(_himmelblau_df, p) for p in rough_saddles),
        lr=0.01,
    )


_BASIN = (1.0, 0.5)  # centre of the plateau's basin


def _plateau_f(x, y):
    r2 = (x - _BASIN[0]) ** 2 + (y - _BASIN[1]) ** 2
    return 1 - _namespace(x).exp(-r2 / 4)


def _plateau_df(x, y):
    e = np.exp(-((x - _BASIN[0]) ** 2 + (y - _BASIN[1]) ** 2) / 4)
    return ((x - _BASIN[0]) / 2 * e, (y - _BASIN[1]) / 2 * e)


def _plateau() -> Surface:
    return Surface(
        name="plateau",
        title=r"$1 - e^{-((x-1)^2 + (y-0.5)^2)/4}$",
        f=_plateau_f,
        df=_plateau_df,
        xlim=(-3.0, 3.0),
        ylim=(-3.0, 3.0),
        start=(-2.5, -2.0),
        minima=(_BASIN,),
        min_value=0.0,
        lr=0.5,
    )


def _bumpy_f(x, y):
    xp = _namespace(x)
    return (x**2 + y**2) / 10 - xp.cos(2 * x) * xp.cos(2 * y)


def _bumpy_df(x, y):
    return (
        x / 5 + 2 * np.sin(2 * x) * np.cos(2 * y),
        y / 5 + 2 * np.cos(2 * x) * np.sin(2 * y),
    )


def _several_minima() -> Surface:
    q = np.pi / 2  # cos(2x)cos(2y) = 1 at (0, 0) and (±π/2, ±π/2); the bowl pulls them in
    rough = [(0.0, 0.0), (q, q), (-q, q), (-q, -q), (q, -q)]
    h = np.pi / 4  # between the centre and the four corner minima
    saddles = [(h, h), (-h, h), (-h, -h), (h, -h)]
    return Surface(
        name="several_minima",
        title=r"$(x^2 + y^2)/10 - \cos 2x \, \cos 2y$",
        f=_bumpy_f,
        df=_bumpy_df,
        xlim=(-3.0, 3.0),
        ylim=(-3.0, 3.0),
        start=(2.6, 0.9),
        minima=tuple(_polish(_bumpy_df, p) for p in rough),
        min_value=-1.0,
        saddles=tuple(_polish(_bumpy_df, p) for p in saddles),
        lr=0.05,
    )


def least_squares(n: int = 200, noise: float = 0.5, seed: int = 0) -> Surface:
    """Mean squared error of a line ``y ≈ w x + b`` on ``n`` generated points, over ``(w, b)``.

    ``J(w, b) = (1/2n) Σ (w xᵢ + b − yᵢ)²``. The inputs have mean 1 (not centred), so ``w``
    and ``b`` are coupled and the bowl is tilted. ``grad(theta, batch_size, rng)`` gives the
    gradient on a mini-batch: the smaller the batch, the noisier the step.

    >>> s = least_squares()
    >>> s.stochastic, s.n_samples, s.grad(np.array(s.minima[0])).round(12) + 0.0
    (True, 200, array([0., 0.]))
    """
    from course.data import make_linear

    X, y = make_linear(n=n, d=1, w=[2.0], b=-1.0, noise=noise, seed=seed)
    x = X[:, 0] + 1.0  # not centred: w and b interact
    A = np.stack([x, np.ones(n)], axis=1)  # (n, 2) design matrix with a column of ones
    sxx, sx, sxy, sy, syy = (
        float(v) for v in (x @ x / n, x.mean(), x @ y / n, y.mean(), y @ y / n)
    )

    def f(w, b):
        return 0.5 * (w * w * sxx + 2 * w * b * sx + b * b - 2 * w * sxy - 2 * b * sy + syy)

    def df(w, b):
        return (w * sxx + b * sx - sxy, w * sx + b - sy)

    def sample_grad(theta, batch_size, rng):
        rows = rng.choice(n, size=batch_size, replace=False)
        A_batch = A[rows]  # (B, 2)
        return A_batch.T @ (A_batch @ theta - y[rows]) / batch_size

    hessian = A.T @ A / n  # (2, 2), constant
    w_star, b_star = np.linalg.solve(hessian, A.T @ y / n)
    mu, L = np.linalg.eigvalsh(hessian)
    w_mid, b_mid = round(float(w_star), 1), round(float(b_star), 1)  # a round plot range
    return Surface(
        name="least_squares",
        title=r"$\frac{1}{2n}\sum_i (w x_i + b - y_i)^2$",
        f=f,
        df=df,
        xlim=(w_mid - 3.0, w_mid + 3.0),
        ylim=(b_mid - 3.0, b_mid + 3.0),
        start=(w_mid - 2.5, b_mid + 2.5),
        minima=((float(w_star), float(b_star)),),
        min_value=float(f(w_star, b_star)),
        curvature=(float(mu), float(L)),
        lr=0.3,
        sample_grad=sample_grad,
        n_samples=n,
        data=(x, y),
    )


_BUILDERS = {
    "quadratic_1d": _quadratic_1d,
    "quartic_1d": _quartic_1d,
    "double_well_1d": _double_well_1d,
    "abs_1d": _abs_1d,
    "quadratic": lambda: quadratic(1.0, name="quadratic"),
    "ill_conditioned": lambda: quadratic(20.0, name="ill_conditioned"),
    "rosenbrock": _rosenbrock,
    "saddle": _saddle,
    "himmelblau": _himmelblau,
    "plateau": _plateau,
    "several_minima": _several_minima,
    "least_squares": least_squares,
}

NAMES = tuple(_BUILDERS)


@cache
def get(name: str) -> Surface:
    """The surface called ``name`` (one of :data:`NAMES`), built on first use."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown surface {name!r}; choose one of {', '.join(NAMES)}")
    return _BUILDERS[name]()

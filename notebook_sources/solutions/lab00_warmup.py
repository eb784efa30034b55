# %% [markdown]
# # Lab 00 — NumPy warm-up
#
# This short lab is a rehearsal for the graded labs to come. You will write three small
# NumPy functions that the rest of the course uses all the time: standardizing features,
# one-hot encoding labels, and computing distances between two sets of points — all
# **without Python loops**.
#
# How a lab works:
# 1. Run the setup cell below (it works on your laptop, on the JupyterHub and in Colab).
# 2. In each cell marked `# YOUR CODE HERE`, replace the `raise NotImplementedError(...)` line
#    with your code.
# 3. Run the test cell after each function. A failing test tells you what it expected, what
#    your code gave, and a hint. Passing the visible tests is a good sign, not a guarantee:
#    when you submit, hidden tests check more cases (other shapes, edge cases).
# 4. Do not change the locked cells, and keep the function names and signatures.
#
# Points: `standardize` 30, `one_hot` 30, `pairwise_distances` 40.

# %% setup

# %% nbgrader=locked id=imports
import numpy as np

from course.grading import check_close, check_shape, check_unchanged

rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. Standardize the columns of a data matrix
#
# A data matrix $X \in \mathbb{R}^{m \times n}$ holds one example per row and one feature per
# column. Standardizing rescales every column $j$ to mean 0 and standard deviation 1:
#
# $$\tilde X_{ij} = \frac{X_{ij} - \mu_j}{\sigma_j}, \qquad
#   \mu_j = \frac1m \sum_i X_{ij}, \qquad
#   \sigma_j = \sqrt{\frac1m \sum_i (X_{ij} - \mu_j)^2}.$$
#
# A column that is constant has $\sigma_j = 0$: leave it at 0 after centring instead of
# dividing by zero. Do not modify `X` in place — return a new array.

# %% nbgrader=solution id=standardize
def standardize(X):
    """Standardize each column of X: (m, n) to mean 0 and standard deviation 1.

    Constant columns become 0. Returns a new float array of shape (m, n).
    """
    ### BEGIN SOLUTION
    X = np.asarray(X, dtype=float)
    mu = X.mean(axis=0)
    sigma = X.std(axis=0)
    safe = np.where(sigma > 0, sigma, 1.0)
    return (X - mu) / safe
    ### END SOLUTION


# %% nbgrader=tests id=test_standardize points=30
X_small = np.array([[1.0, 10.0, 5.0], [3.0, 20.0, 5.0], [5.0, 60.0, 5.0]])
X_copy = X_small.copy()
got = standardize(X_small)
expected_first_column = np.array([-1.0, 0.0, 1.0]) * np.sqrt(3 / 2)
check_shape("standardize(X_small)", got, (3, 3))
check_close("column 0 of standardize(X_small)", got[:, 0], expected_first_column,
            hint="divide by the standard deviation of each column (axis=0), not of the rows")
check_close("column 2 (a constant column)", got[:, 2], np.zeros(3),
            hint="a constant column has standard deviation 0: leave it at 0")
check_unchanged("X_small", X_copy, X_small)
print("standardize: visible tests passed")
### BEGIN HIDDEN TESTS
for trial in range(5):
    m, n = rng.integers(1, 40), rng.integers(1, 6)
    X_rand = rng.normal(3.0, 5.0, (m, n))
    X_keep = X_rand.copy()
    mean = X_rand.mean(axis=0)
    std = X_rand.std(axis=0)
    reference = np.where(std > 0, (X_rand - mean) / np.where(std > 0, std, 1), 0.0)
    check_close(f"standardize on a ({m}, {n}) matrix", standardize(X_rand), reference, atol=1e-9)
    check_unchanged("X", X_keep, X_rand)
X_int = np.array([[1, 2], [3, 2]])
check_close("standardize of an integer matrix", standardize(X_int), [[-1.0, 0.0], [1.0, 0.0]])
### END HIDDEN TESTS

# %% [markdown]
# ## 2. One-hot encoding
#
# Class labels $y \in \{0, \dots, K-1\}^m$ become rows of the identity matrix: the one-hot
# matrix $Y \in \{0, 1\}^{m \times K}$ has $Y_{i, y_i} = 1$ and zeros elsewhere. Raise a
# `ValueError` when a label is outside $0, \dots, K-1$ (a silent wrong answer is worse).

# %% nbgrader=solution id=one_hot
def one_hot(y, num_classes):
    """One-hot encode integer labels y: (m,) into a float array of shape (m, num_classes).

    Raises ValueError if a label is negative or >= num_classes.
    """
    ### BEGIN SOLUTION
    y = np.asarray(y)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}; got {y.min()}..{y.max()}")
    Y = np.zeros((y.shape[0], num_classes))
    Y[np.arange(y.shape[0]), y] = 1.0
    return Y
    ### END SOLUTION


# %% nbgrader=tests id=test_one_hot points=30
got = one_hot(np.array([2, 0, 1]), 4)
check_close("one_hot([2, 0, 1], 4)", got,
            [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]],
            hint="row i has a single 1, in column y[i]")
try:
    one_hot(np.array([0, 5]), 3)
except ValueError:
    pass
else:
    raise AssertionError("one_hot([0, 5], 3) should raise ValueError: label 5 is not in 0..2")
print("one_hot: visible tests passed")
### BEGIN HIDDEN TESTS
for trial in range(5):
    k = int(rng.integers(1, 12))
    labels = rng.integers(0, k, int(rng.integers(1, 50)))
    check_close(f"one_hot with {k} classes", one_hot(labels, k), np.eye(k)[labels])
check_close("one_hot of a single label", one_hot(np.array([0]), 1), [[1.0]])
for bad in ([-1, 0], [3]):
    try:
        one_hot(np.array(bad), 3)
    except ValueError:
        pass
    else:
        raise AssertionError(f"one_hot({bad}, 3) should raise ValueError")
### END HIDDEN TESTS

# %% [markdown]
# ## 3. Pairwise distances without loops
#
# Given points $A \in \mathbb{R}^{p \times d}$ and $B \in \mathbb{R}^{q \times d}$, return the
# matrix $D \in \mathbb{R}^{p \times q}$ of Euclidean distances $D_{ij} = \lVert a_i - b_j \rVert$.
# Use broadcasting, or the identity
# $\lVert a - b \rVert^2 = \lVert a \rVert^2 - 2 a^\top b + \lVert b \rVert^2$ (then clip tiny
# negative values caused by rounding to 0 before the square root).

# %% nbgrader=solution id=pairwise_distances
def pairwise_distances(A, B):
    """Euclidean distances between the rows of A: (p, d) and B: (q, d); returns (p, q)."""
    ### BEGIN SOLUTION
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must be (p, d) and (q, d); got {A.shape} and {B.shape}")
    squared = (A**2).sum(1)[:, None] - 2 * A @ B.T + (B**2).sum(1)[None, :]
    return np.sqrt(np.maximum(squared, 0.0))
    ### END SOLUTION


# %% nbgrader=tests id=test_pairwise_distances points=40
A_small = np.array([[0.0, 0.0], [3.0, 4.0]])
B_small = np.array([[0.0, 0.0], [6.0, 8.0], [3.0, 0.0]])
got = pairwise_distances(A_small, B_small)
check_shape("pairwise_distances(A_small, B_small)", got, (2, 3),
            hint="one row per point of A, one column per point of B")
check_close("pairwise_distances(A_small, B_small)", got, [[0, 10, 3], [5, 5, 4]],
            hint="D[i, j] is the distance from A[i] to B[j] (square root of the summed squares)")
print("pairwise_distances: visible tests passed")
### BEGIN HIDDEN TESTS
for trial in range(5):
    p, q, d = (int(v) for v in rng.integers(1, 30, 3))
    A_rand, B_rand = rng.normal(size=(p, d)), rng.normal(size=(q, d))
    reference = np.sqrt(((A_rand[:, None, :] - B_rand[None, :, :]) ** 2).sum(-1))
    check_close(f"pairwise_distances of ({p}, {d}) and ({q}, {d}) points",
                pairwise_distances(A_rand, B_rand), reference, atol=1e-7)
same = rng.normal(size=(6, 3)) * 1e3
check_close("distances of points to themselves", np.diag(pairwise_distances(same, same)),
            np.zeros(6), atol=1e-4)
### END HIDDEN TESTS

# %% [markdown]
# ## Experiment: nearest-neighbour classification of digits
#
# With `standardize` and `pairwise_distances` you already have a classifier: label each test
# digit with the label of its nearest training digit. Run the cell — it uses your functions.

# %% nbgrader=locked id=experiment
from course import data

digits = data.load_digits(flatten=True)
D = pairwise_distances(digits.X_test, digits.X_train)  # (n_test, n_train)
nearest = D.argmin(axis=1)
accuracy = (digits.y_train[nearest] == digits.y_test).mean()
print(f"1-nearest-neighbour test accuracy on {len(digits.y_test)} digits: {accuracy:.3f}")

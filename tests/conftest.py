"""Shared fixtures and helpers for the test suite."""

from __future__ import annotations

import os

# Tests run on 2 cores: keep numeric libraries from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

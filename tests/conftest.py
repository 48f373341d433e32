"""Fixtures shared by the whole test suite.

Real datasets live outside the repository, in ``../shared/data`` beside the checkout, or
wherever ``SKEL_SHARED_DATA`` points. Tests that need them take the ``shared_data`` fixture:
without the data they are skipped on a developer machine, but in CI (``CI`` set) missing data
is a failure, so a broken data path can never turn the real-data tests into silent skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("SKEL_SHARED_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the real-data folder; fails in CI and skips elsewhere when it is missing."""
    root = _shared_data_dir()
    if not root.is_dir():
        message = (
            f"real data not found at {root}; set SKEL_SHARED_DATA to the folder holding "
            "nw_ucla/, penn_action/, pyskl_custom_hrnet/, ntu_raw/"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root


@pytest.fixture
def rng():
    """A fresh, seeded numpy Generator per test."""
    import numpy as np

    return np.random.default_rng(0)

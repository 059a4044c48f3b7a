"""Shared checks of the input contract every public theory function keeps (DESIGN: conventions).

Numeric arguments refuse ``True``, text and ``None`` with a ``TypeError`` and NaN/infinity with a
``ValueError``, each naming the argument; finite input never comes back as NaN or a silent inf.
"""

import re

import numpy as np
import pytest
from hypothesis import strategies as st

BAD_TYPES = (True, np.True_, "3", None, [1.0, "2"], 1 + 2j)
BAD_VALUES = (float("nan"), float("inf"), -float("inf"))


def _match(name):
    return rf"^{re.escape(name)}\b"


def assert_checks_arguments(fn, kwargs, numeric, *, none_ok=()):
    """Each argument in ``numeric`` of ``fn(**kwargs)`` refuses bad types and NaN/inf by name."""
    fn(**kwargs)  # the valid call itself works
    for name in numeric:
        for bad in BAD_TYPES:
            if bad is None and name in none_ok:
                continue
            with pytest.raises(TypeError, match=_match(name)):
                fn(**{**kwargs, name: bad})
        for bad in BAD_VALUES:
            with pytest.raises(ValueError, match=_match(name)):
                fn(**{**kwargs, name: bad})


def assert_checks_choice(fn, kwargs, name):
    """A string option refuses non-strings (``TypeError``) and unknown strings (``ValueError``)."""
    for bad in (True, None, 3):
        with pytest.raises(TypeError, match=_match(name)):
            fn(**{**kwargs, name: bad})
    with pytest.raises(ValueError, match=_match(name)):
        fn(**{**kwargs, name: "no-such-option"})


def assert_checks_flag(fn, kwargs, name):
    """A boolean option refuses anything but ``True``/``False`` with ``TypeError``."""
    for bad in ("yes", 1, None, 0.0):
        with pytest.raises(TypeError, match=_match(name)):
            fn(**{**kwargs, name: bad})


def log_uniform(lo_exp, hi_exp):
    """Floats spread over magnitudes 10**lo_exp .. 10**hi_exp (plus hypothesis' own picks there)."""
    return st.one_of(
        st.floats(lo_exp, hi_exp).map(lambda e: 10.0**e),
        st.floats(10.0**lo_exp, 10.0**hi_exp),
    )

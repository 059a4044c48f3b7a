import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernelcap.theory._validation import (
    as_array,
    as_choice,
    as_flag,
    as_int,
    finite_result,
    scalar_or_array,
)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_finite_floats_pass_through_as_float64(x):
    out = as_array(x, "x")
    assert out.dtype == np.float64 and out == x


@pytest.mark.parametrize("bad", [np.nan, [1.0, np.nan], np.inf, -np.inf])
def test_nan_and_inf_are_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match="n_neurons"):
        as_array(bad, "n_neurons")


def test_inf_allowed_on_request():
    assert np.isinf(as_array(np.inf, "x", allow_inf=True))


@pytest.mark.parametrize(
    "kw, value, needle",
    [
        ({"gt": 0}, 0, "> 0"),
        ({"ge": 1}, 0.5, ">= 1"),
        ({"lt": 1}, 1, "< 1"),
        ({"le": 2}, 3, "<= 2"),
        ({"integer": True}, 2.5, "integer"),
    ],
)
def test_bounds_and_integrality(kw, value, needle):
    with pytest.raises(ValueError, match=needle):
        as_array(value, "alpha", **kw)


@pytest.mark.parametrize(
    "bad",
    ["3", None, b"1", object(), True, np.False_, [1.0, True], ["3"], [None], 2j, [[1, 2], [3]]],
)
def test_non_numeric_is_a_type_error(bad):
    with pytest.raises(TypeError, match="alpha"):
        as_array(bad, "alpha")


def test_as_int():
    assert as_int(3.0, "n") == 3 and as_int(np.int64(4), "n", ge=1) == 4
    with pytest.raises(TypeError):
        as_int(True, "n")
    with pytest.raises(TypeError):
        as_int(2.5, "n")
    with pytest.raises(ValueError, match="n must be >= 1"):
        as_int(0, "n", ge=1)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="n must be a finite integer"):
            as_int(bad, "n")
    with pytest.raises(ValueError, match="n must be <= 10"):
        as_int(10**9, "n", le=10)


def test_huge_python_ints_are_a_value_error_not_an_overflow():
    with pytest.raises(ValueError, match="n_patterns must be finite"):
        as_array(10**400, "n_patterns")
    assert as_array([10**30], "n") == 1e30


def test_flags_choices_and_finite_results():
    assert as_flag(np.True_, "centered") is True
    with pytest.raises(TypeError, match="centered"):
        as_flag(1, "centered")
    assert as_choice("exact", "method", ("exact",)) == "exact"
    with pytest.raises(TypeError, match="method"):
        as_choice(None, "method", ("exact",))
    with pytest.raises(ValueError, match="method"):
        as_choice("nope", "method", ("exact",))
    with pytest.raises(OverflowError, match="risk"):
        finite_result(np.array([1.0, np.inf]), "risk")


def test_scalar_or_array_keeps_the_input_shape():
    assert isinstance(scalar_or_array(np.asarray(2.0), 1.0), float)
    assert scalar_or_array(np.ones(3), np.ones(3)).shape == (3,)

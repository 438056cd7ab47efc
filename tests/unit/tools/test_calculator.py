import math
import re

import pytest

from baton.tools.calculator import (
    MAX_EXPRESSION_LENGTH,
    CalculatorError,
    evaluate,
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17 * 23", 391),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * (3 + 4)", 21),
        ("2 ** 10", 1024),
        ("2 ** 3 ** 2", 512),
        ("2 ** -2", 0.25),
        ("(-2) ** 3", -8),
        ("10 / 4", 2.5),
        ("7 // 2", 3),
        ("-7 % 3", 2),
        ("7.5 % 2", 1.5),
        ("-5", -5),
        ("+5", 5),
        ("--5", 5),
        ("1.5e3 + 1", 1501.0),
        ("sqrt(16)", 4.0),
        ("abs(-3)", 3),
        ("round(2.567, 2)", 2.57),
        ("round(2.6)", 3),
        ("min(3, 1, 2)", 1),
        ("max(1, 2.5)", 2.5),
        ("floor(2.7) + ceil(2.1)", 5),
        ("log(8, 2)", 3.0),
        ("log10(1000)", 3.0),
        ("pi", math.pi),
        ("e", math.e),
        ("2 * pi", math.tau),
        ("  12  ", 12),
        ("2 ** 4095", 2**4095),
    ],
)
def test_correct_results(expression: str, expected: float) -> None:
    result = evaluate(expression)
    assert result == pytest.approx(expected)
    assert type(result) is type(expected)


def test_deep_but_legal_nesting() -> None:
    assert evaluate("(" * 100 + "1" + ")" * 100) == 1


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "division by zero"),
        ("1 // 0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("x + 1", "unknown name 'x'"),
        ("__import__", "unknown name"),
        ("foo(1)", "unknown function 'foo'"),
        ("__import__('os').system('id')", "unknown function"),
        ("math.sqrt(4)", "unknown function 'math.sqrt'"),
        ("().__class__", "unsupported syntax: Attribute"),
        ("sqrt.__call__(4)", "unknown function"),
        ("1 +", "invalid syntax"),
        ("1 2", "invalid syntax"),
        ("", "invalid syntax"),
        ("x = 1", "invalid syntax"),
        ("2 ^ 3", "use ** for powers"),
        ("1 << 2", "unsupported operator <<"),
        ("~1", "unsupported operator ~"),
        ("not 1", "unsupported operator not"),
        ("1 < 2", "unsupported syntax: Compare"),
        ("1 and 2", "unsupported syntax: BoolOp"),
        ("[1, 2]", "unsupported syntax: List"),
        ("lambda: 1", "unsupported syntax: Lambda"),
        ("'a' * 3", "only numbers"),
        ("1j", "only numbers"),
        ("True + 1", "only numbers"),
        ("9 ** 9 ** 9", "exponent 387420489 is larger than"),
        ("2 ** 100000", "is larger than"),
        ("10 ** 5000", "too large"),
        ("2 ** 4097", "too large"),
        ("(2 ** 4000) * (2 ** 4000)", "too large"),
        ("1e308 * 10", "too large"),
        ("2.0 ** 5000", "too large"),
        ("10 ** 1000 / 3", "too large"),
        ("exp(1000)", "too large"),
        ("(-8) ** (1 / 3)", "not a real number"),
        ("sqrt(-1)", "sqrt(): math domain error"),
        ("log(0)", "log(): math domain error"),
        ("round(1.5, 0.5)", "whole number of digits"),
        ("min()", "min() takes at least 1 arguments, not 0"),
        ("sqrt(1, 2)", "sqrt() takes 1 arguments, not 2"),
        ("round(x=1)", "plain positional arguments"),
        ("max(*[1, 2])", "plain positional arguments"),
        ("(" * 300 + "1" + ")" * 300, "longer than"),
        ("1" + " + 1" * MAX_EXPRESSION_LENGTH, "longer than"),
    ],
)
def test_refusals_say_why(expression: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=re.escape(message)):
        evaluate(expression)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        evaluate("1/0")

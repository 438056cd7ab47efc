"""The calculator tool: arithmetic over Python's ``ast``, never ``eval``, with abuse limits."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

__all__ = ["MAX_EXPONENT", "MAX_EXPRESSION_LENGTH", "MAX_INT_BITS", "CalculatorError", "evaluate"]

MAX_EXPRESSION_LENGTH = 500
MAX_EXPONENT = 10_000
MAX_INT_BITS = 4096  # about 1,233 decimal digits

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}

_CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _round(value: Number, ndigits: Number = 0) -> Number:
    if not isinstance(ndigits, int):
        raise CalculatorError("round() takes a whole number of digits")
    return round(value) if ndigits == 0 else round(value, ndigits)


def _log(value: Number, base: Number = math.e) -> float:
    return math.log(value, base)


def _extreme(pick: Callable[..., Number]) -> Callable[..., Number]:
    def call(*values: Number) -> Number:
        if not values:
            raise CalculatorError("min() and max() need at least one argument")
        return pick(values)

    return call


# name -> (function, fewest arguments, most arguments or None for any number)
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "sqrt": (math.sqrt, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "min": (_extreme(min), 1, None),
    "max": (_extreme(max), 1, None),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "log": (_log, 1, 2),
    "log10": (math.log10, 1, 1),
    "exp": (math.exp, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
}


class CalculatorError(ValueError):
    """The expression is invalid or refused; the message says why, for the model to read."""


def evaluate(expression: str) -> int | float:
    """Evaluate an arithmetic expression safely.

    Supports numbers, ``+ - * / // % **``, unary ``+``/``-``, parentheses, the functions
    sqrt, abs, round, min, max, floor, ceil, log, log10, exp, sin, cos, tan and the
    constants pi, e and tau.

    Args:
        expression: The expression, e.g. ``"17 * (3 + 4) ** 2"``.

    Returns:
        The value: an ``int`` when every step stayed whole, otherwise a ``float``.

    Raises:
        CalculatorError: On a syntax error, an unknown name, a division by zero, or an
            expression or result beyond the limits.
    """
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CalculatorError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise CalculatorError(f"invalid syntax: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError):
        raise CalculatorError("invalid syntax") from None
    try:
        return _checked(_eval(tree.body))
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("result is too large") from None
    except RecursionError:
        raise CalculatorError("expression is nested too deeply") from None


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CalculatorError(f"unsupported value {value!r}: only numbers are allowed")
        return _checked(value)
    if isinstance(node, ast.BinOp):
        op = _BINARY.get(type(node.op))
        if op is None:
            hint = "; use ** for powers" if isinstance(node.op, ast.BitXor) else ""
            raise CalculatorError(f"unsupported operator {_symbol(node.op)}{hint}")
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(op(left, right))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise CalculatorError(f"unsupported operator {_symbol(node.op)}")
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        raise CalculatorError(f"unknown name {node.id!r}; known constants: pi, e, tau")
    if isinstance(node, ast.Call):
        return _call(node)
    raise CalculatorError(f"unsupported syntax: {type(node).__name__}")


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        known = ", ".join(sorted(_FUNCTIONS))
        raise CalculatorError(f"unknown function {name!r}; known functions: {known}")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise CalculatorError(f"{node.func.id}() takes plain positional arguments only")
    function, fewest, most = _FUNCTIONS[node.func.id]
    if len(node.args) < fewest or (most is not None and len(node.args) > most):
        wanted = f"{fewest} to {most}" if most != fewest else str(fewest)
        wanted = f"at least {fewest}" if most is None else wanted
        raise CalculatorError(f"{node.func.id}() takes {wanted} arguments, not {len(node.args)}")
    args = [_eval(arg) for arg in node.args]
    try:
        return _checked(function(*args))
    except ValueError as exc:
        if isinstance(exc, CalculatorError):
            raise
        raise CalculatorError(f"{node.func.id}(): {exc}") from None


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculatorError(f"exponent {exponent} is larger than {MAX_EXPONENT}")
    whole = isinstance(base, int) and isinstance(exponent, int)
    if whole and abs(base) > 1 and math.log2(abs(base)) * exponent > MAX_INT_BITS:
        raise CalculatorError("result is too large")
    if base < 0 and isinstance(exponent, float) and not exponent.is_integer():
        raise CalculatorError("a negative number to a fractional power is not a real number")


def _checked(value: object) -> Number:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CalculatorError("result is not a real number")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("result is too large")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("result is too large or not a number")
    return value


def _symbol(op: ast.operator | ast.unaryop) -> str:
    symbols = {
        ast.BitXor: "^",
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.MatMult: "@",
        ast.Invert: "~",
        ast.Not: "not",
    }
    return symbols.get(type(op), type(op).__name__)

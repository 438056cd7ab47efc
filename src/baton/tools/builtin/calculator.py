"""The ``calculator`` tool: safe arithmetic on one expression."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baton.tools.calculator import CalculatorError, evaluate
from baton.tools.registry import ToolContext, ToolError, ToolKind, ToolLimits

PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "expression": {
            "type": "string",
            "minLength": 1,
            "maxLength": 1000,
            "description": "Arithmetic such as '2 * (3 + 4) ** 2' or 'sqrt(2) / 3'.",
        }
    },
    "required": ["expression"],
    "additionalProperties": False,
}


@dataclass(frozen=True, slots=True)
class CalculatorTool:
    """Evaluates an arithmetic expression without ``eval`` (see :mod:`baton.tools.calculator`)."""

    name: str = "calculator"
    description: str = "Evaluate an arithmetic expression and return its numeric value."
    parameters: dict[str, Any] = field(default_factory=lambda: PARAMETERS)
    kind: ToolKind = "builtin"
    limits: ToolLimits = field(default_factory=lambda: ToolLimits(timeout_s=5.0))

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> Any:
        """Return ``{"result": value}``."""
        try:
            return {"result": evaluate(arguments["expression"])}
        except CalculatorError as exc:
            raise ToolError(str(exc), code="invalid_expression") from None

"""The tools every τ²-bench domain shares (τ²'s ``ToolType.GENERIC``): a calculator, a handoff.

Retail and airline declare the same two tools with the same rules; one definition
keeps their behaviour (and the calculator's safe evaluator) from drifting apart.
"""

from __future__ import annotations

import ast
import operator

from sandgym.envs.tools.domain import ToolContext, ToolError
from sandgym.envs.tools.schema import tool

__all__ = ["calculate", "transfer_to_human_agents"]

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.USub: operator.neg, ast.UAdd: operator.pos}


def _evaluate(node: ast.AST) -> float:
    """Arithmetic only: τ² uses ``eval``; a parsed tree cannot reach anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand))
    raise ToolError("Invalid expression")


@tool(computes=True)
def calculate(ctx: ToolContext, expression: str) -> str:
    """Calculate the result of a mathematical expression.

    Args:
        expression: The expression, such as '2 + 2'; numbers, + - * /, parentheses and spaces.
    """
    if not expression or not all(c in "0123456789+-*/(). " for c in expression):
        raise ToolError("Invalid characters in expression")
    if len(expression) > 200 or "**" in expression:
        raise ToolError("Expression too long")
    try:
        return str(round(float(_evaluate(ast.parse(expression, mode="eval").body)), 2))
    except (SyntaxError, ZeroDivisionError, OverflowError, RecursionError) as e:
        raise ToolError(f"Invalid expression ({type(e).__name__})") from None


def transfer_to_human_agents(ctx: ToolContext, summary: str) -> str:
    """Transfer the user to a human agent, with a summary of the issue (only if the user asks for
    one, or policy and tools cannot solve it).

    Args:
        summary: A summary of the user's issue.
    """
    return "Transfer successful"

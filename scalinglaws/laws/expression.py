"""Safe arithmetic expressions over named values, for parameter ties (``"beta = alpha"``) and string laws.

Only numbers, names, ``+ - * / **``, unary minus and a few numpy functions are allowed, so an expression
read from a JSON file cannot run arbitrary code. Expressions evaluate on numpy arrays (vectorized).

>>> e = Expression("2*alpha + log(x)")
>>> sorted(e.names), float(e(alpha=1.0, x=1.0))
(['alpha', 'x'], 2.0)
"""

from __future__ import annotations

import ast

import numpy as np

from ..exceptions import LawError

__all__ = ["Expression", "FUNCTIONS"]

#: Functions an expression may call.
FUNCTIONS = {
    "exp": np.exp, "log": np.log, "log10": np.log10, "log2": np.log2, "sqrt": np.sqrt, "abs": np.abs,
    "log1p": np.log1p, "expm1": np.expm1, "tanh": np.tanh, "minimum": np.minimum, "maximum": np.maximum,
    "logaddexp": np.logaddexp,
}
_CONSTANTS = {"pi": np.pi, "e": np.e}
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


class Expression:
    """A compiled, validated arithmetic expression; call it with the values of its names."""

    def __init__(self, text: str):
        self.text = str(text).strip()
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as err:
            raise LawError(f"cannot parse expression {self.text!r}: {err.msg}") from None
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if node.id not in FUNCTIONS:
                    names.add(node.id)
            elif isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                    raise LawError(f"expression {self.text!r}: only calls to {', '.join(FUNCTIONS)} are allowed")
            elif isinstance(node, ast.Constant):
                if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                    raise LawError(f"expression {self.text!r}: only numeric constants are allowed")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
                raise LawError(f"expression {self.text!r}: '^' is not a power; write ** instead")
            elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load, *_OPERATORS)):
                raise LawError(f"expression {self.text!r}: {type(node).__name__} is not allowed")
        self.names = frozenset(names - set(_CONSTANTS))
        self._code = compile(tree, "<expression>", "eval")

    def __call__(self, **values):
        missing = self.names - set(values)
        if missing:
            raise LawError(f"expression {self.text!r} needs {', '.join(sorted(missing))}")
        return eval(self._code, {"__builtins__": {}, **FUNCTIONS, **_CONSTANTS}, values)  # noqa: S307

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __reduce__(self):
        return (Expression, (self.text,))

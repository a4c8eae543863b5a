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


#: Longest expression text accepted, and most parts (nodes of its syntax tree): bounded work to check and evaluate.
MAX_LENGTH = 5000
MAX_NODES = 1000


class _Floats(ast.NodeTransformer):
    """Integer constants as floats: ``9**9**9`` overflows at once instead of computing a 370-million-digit
    integer (Python's integers never overflow, so integer powers could run for hours)."""

    def visit_Constant(self, node):
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            try:
                return ast.copy_location(ast.Constant(float(node.value)), node)
            except OverflowError:
                return ast.copy_location(ast.Constant(float("inf")), node)
        return node


def _check_constants(tree, text: str) -> None:
    """Refuse a part made of constants only (``9**9**9``, ``1/0``) whose value is not a finite number."""
    for node in ast.walk(tree):
        if not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Constant)):
            continue
        if any(isinstance(n, ast.Name) and n.id not in FUNCTIONS and n.id not in _CONSTANTS for n in ast.walk(node)):
            continue
        try:
            with np.errstate(all="ignore"):
                value = eval(compile(ast.Expression(node), "<constant>", "eval"),  # noqa: S307
                             {"__builtins__": {}, **FUNCTIONS, **_CONSTANTS}, {})
            ok = bool(np.all(np.isfinite(value)))
        except (ArithmeticError, ValueError, TypeError):
            ok = False
        if not ok:
            part = ast.get_source_segment(text, node) or ast.unparse(node)
            raise LawError(f"expression {text!r}: the constant part {part!r} is not a finite number "
                           "(it overflows or divides by zero); write a number that fits in a float")


class Expression:
    """A compiled, validated arithmetic expression; call it with the values of its names."""

    def __init__(self, text: str):
        self.text = str(text).strip()
        if len(self.text) > MAX_LENGTH:
            raise LawError(f"expression of {len(self.text)} characters is too long (at most {MAX_LENGTH}); "
                           "write the law in Python (see docs: extending)")
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as err:
            raise LawError(f"cannot parse expression {self.text!r}: {err.msg}; write it in Python syntax, e.g. "
                           "'E + A/N**alpha'") from None
        except (RecursionError, MemoryError):
            raise LawError(f"expression {self.text[:40]!r}... is nested too deeply; write it more simply") from None
        names: set[str] = set()
        nodes = list(ast.walk(tree))
        if len(nodes) > MAX_NODES:
            raise LawError(f"expression {self.text[:40]!r}... has {len(nodes)} parts, more than {MAX_NODES}; "
                           "write it more simply")
        for node in nodes:
            if isinstance(node, ast.Name):
                if node.id not in FUNCTIONS:
                    names.add(node.id)
            elif isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS or node.keywords:
                    raise LawError(f"expression {self.text!r}: only calls to {', '.join(FUNCTIONS)} are allowed; "
                                   "write the law in Python for anything else")
            elif isinstance(node, ast.Constant):
                if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                    raise LawError(f"expression {self.text!r}: only numeric constants are allowed; write numbers "
                                   "like 6 or 2.5e-3")
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
                raise LawError(f"expression {self.text!r}: '^' is not a power; write ** instead")
            elif not isinstance(node, (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Load, *_OPERATORS)):
                raise LawError(f"expression {self.text!r}: {type(node).__name__} is not allowed; use numbers, "
                               "names, + - * / ** and the functions " + ", ".join(FUNCTIONS))
        self.names = frozenset(names - set(_CONSTANTS))
        tree = ast.fix_missing_locations(_Floats().visit(tree))
        _check_constants(tree, self.text)
        self._code = compile(tree, "<expression>", "eval")

    def __call__(self, **values):
        missing = self.names - set(values)
        if missing:
            raise LawError(f"expression {self.text!r} needs {', '.join(sorted(missing))}")
        # numpy scalars: an overflow or a division by zero gives inf or nan (as for arrays), never an exception
        values = {k: np.float64(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
                  for k, v in values.items()}
        return eval(self._code, {"__builtins__": {}, **FUNCTIONS, **_CONSTANTS}, values)  # noqa: S307

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __reduce__(self):
        return (Expression, (self.text,))

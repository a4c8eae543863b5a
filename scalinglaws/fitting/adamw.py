"""AdamW with early stopping: a first-order, deliberately *unconverged* polish for the fitter.

Some published laws were fitted this way, and their coefficients (and forecasts) are those of where the
optimizer stopped, not of the minimum of the objective. The Multi-Power law (Luo et al. 2025) is the case in
point: its authors run at most 200 AdamW steps (torch's AdamW, weight decay 0.01) from a reduced-model start
with per-parameter learning rates, stop after 20 steps without improvement and keep the iterate that follows
the best one. The weight decay and the early stop act as a regulariser: on the paper's loss curves the
converged fit lowers the training objective several-fold but forecasts the held-out schedules worse
(docs/benchmarks.md).

The steps are taken on the parameters' natural values (not their log), on the unscaled objective
Σ ρ(log L_obs − log L_pred), exactly as the authors' code does, so that their fits are reproduced; values are
projected back into the parameter bounds after every step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Mapping

import numpy as np

from ..exceptions import FitError
from .objective import Objective
from .space import ParameterSpace

__all__ = ["AdamW"]


@dataclass(frozen=True)
class AdamW:
    """Settings of the AdamW polish (``Fitter(polish="adamw", adamw=AdamW(...))``).

    Parameters
    ----------
    lr : float or mapping name → float
        Step size, one for all parameters or per parameter name (parameters not named get ``default_lr``).
    default_lr : float
        Step size of parameters not named in ``lr``.
    steps : int
        Largest number of steps.
    patience : int
        Stop after this many steps without a lower objective (checked once more than ``patience`` steps ran).
    weight_decay : float
        Decoupled weight decay (torch's AdamW default, 0.01): every step multiplies each value by
        ``1 − lr·weight_decay`` before the Adam update.
    betas, eps : Adam's moment decay rates and denominator guard (torch's defaults).
    grad_tol : float
        Stop when the gradient's Euclidean norm falls below this.
    keep : {"best", "after-best"}
        The iterate returned: the one with the lowest objective, or the one the step from it led to (what
        code that records the parameters after ``optimizer.step()`` keeps, as the Multi-Power-law authors'
        does; needed to reproduce their coefficients). Runs stopped by the patience or gradient rule do not
        record the step they stop at.
    """

    lr: float | Mapping[str, float] = 1e-2
    default_lr: float = 1e-2
    steps: int = 200
    patience: int = 20
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_tol: float = 1e-5
    keep: str = "best"

    def __post_init__(self):
        rates = self.lr.values() if isinstance(self.lr, Mapping) else [self.lr]
        if not all(float(r) > 0 for r in [*rates, self.default_lr]):
            raise FitError("AdamW learning rates must be positive")
        if self.steps < 1 or self.patience < 1:
            raise FitError(f"AdamW needs steps >= 1 and patience >= 1, got {self.steps} and {self.patience}")
        if self.weight_decay < 0 or not all(0 <= b < 1 for b in self.betas):
            raise FitError("AdamW needs weight_decay >= 0 and betas in [0, 1)")
        if self.keep not in ("best", "after-best"):
            raise FitError(f"AdamW keep must be 'best' or 'after-best', got {self.keep!r}")
        if isinstance(self.lr, Mapping):
            object.__setattr__(self, "lr", {str(k): float(v) for k, v in self.lr.items()})
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))

    @classmethod
    def from_value(cls, value) -> "AdamW":
        """An AdamW from itself, a mapping of its fields (as stored in a result's settings) or None."""
        if value is None or isinstance(value, AdamW):
            return value or cls()
        return cls(**dict(value))

    def to_dict(self) -> dict:
        out = asdict(self)
        out["betas"] = list(self.betas)
        return out

    def rates(self, names) -> np.ndarray:
        """The step size of each named parameter."""
        if not isinstance(self.lr, Mapping):
            return np.full(len(names), float(self.lr))
        unknown = set(self.lr) - set(names)
        if unknown:
            raise FitError("AdamW learning rate given for parameter(s) that are not fitted: "
                           f"{', '.join(sorted(unknown))}")
        return np.array([self.lr.get(n, self.default_lr) for n in names])

    def run(self, objective: Objective, space: ParameterSpace, theta0: np.ndarray) -> OptimizeResult:
        """AdamW from ``theta0`` (fitted coordinates); returns the best iterate, in fitted coordinates.

        ``success`` is true when the stopping rule (patience or gradient norm) ended the run, false when it
        ran out of steps; either way the result is not the minimum of the objective.
        """
        law, free = objective.law, list(space.free)
        if any(p.tie for p in law.params):
            raise FitError("the AdamW polish does not support tied parameters; fix or free them")
        names = [law.param_names[i] for i in free]
        rates = self.rates(names)
        tiny = np.finfo(float).tiny  # log-scale parameters stay positive
        lower = np.array([max(law.params[i].bounds[0], tiny) if law.params[i].log else law.params[i].bounds[0]
                          for i in free])
        upper = np.array([law.params[i].bounds[1] for i in free])
        full = [float(v[0, 0]) for v in space.natural(theta0[None, :])]

        def theta_of(x: np.ndarray) -> np.ndarray:  # the free parameters' natural values -> fitted coordinates
            values = list(full)
            for i, xi in zip(free, x):
                values[i] = xi
            return space.to_theta(values)

        x = np.array([full[i] for i in free])
        m, v = np.zeros_like(x), np.zeros_like(x)
        b1, b2 = self.betas
        best_x, best_f, lowest, stale = x.copy(), np.inf, np.inf, 0
        message, success, step = f"ran all {self.steps} AdamW steps", False, 0
        for step in range(1, self.steps + 1):
            theta = theta_of(x)
            f, g = objective.value_and_grad(theta)  # scaled; infinite where the law is not finite
            if not np.isfinite(f):
                message = f"AdamW left the region where the law is finite at step {step}"
                break
            f /= objective.scale
            g = g / (objective.scale * space.diagonal(theta))  # gradient with respect to the natural values
            new = x * (1 - rates * self.weight_decay)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            new = np.clip(new - rates * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + self.eps), lower, upper)
            improved = f < best_f
            if improved and self.keep == "best":
                best_f, best_x = f, x.copy()
            stale = 0 if f < lowest else stale + 1
            lowest = min(lowest, f)
            if step > self.patience + 1 and stale >= self.patience:
                message = f"AdamW stopped early by design after {step} steps ({self.patience} without improvement)"
                success = True
                break
            if np.linalg.norm(g) < self.grad_tol:
                message = f"AdamW stopped after {step} steps (gradient norm below {self.grad_tol:g})"
                success = True
                break
            if improved and self.keep == "after-best":
                best_f, best_x = f, new.copy()
            x = new
        theta = space.clip(theta_of(best_x)[None, :])[0]
        from scipy.optimize import OptimizeResult
        return OptimizeResult(x=theta, fun=float(objective.values(theta[None, :])[0]) * objective.scale,
                              success=success, nit=step, message=message)

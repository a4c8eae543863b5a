"""A batched Levenberg-Marquardt polish: many (start, replicate) fits of one law in one vectorized solver.

The fitter's per-start scipy calls cost ~130 µs of overhead each against ~5 µs of arithmetic for an
objective and gradient on a few hundred points; polishing 8 starts, or 3 starts of each of 1,000 bootstrap
replicates, is dominated by that overhead. :func:`polish` instead advances every problem of a batch by one
step per numpy pass: the law is evaluated once for all of them (``log_evaluate_and_gradient`` with parameter
arrays of shape ``(S, 1)``, the vectorization contract of :mod:`scalinglaws.laws.base`), and the small
``F × F`` systems are solved together with ``np.linalg.solve`` on stacked matrices.

**Objective.** The fitter's: f_s(θ) = Σ_i w_si·ρ(r_si), r = log L_obs − log L_pred(θ), ρ Huber with threshold
δ on the log scale (or ρ = r²/2 for ``l2``), with per-problem point weights ``w`` (a bootstrap replicate that
resamples runs is the full data with each point counted as often as it was drawn) and optionally per-problem
observations (a residual bootstrap), in the coordinates of a :class:`~.space.ParameterSpace` (log-scale
parameters as logs; fixed and tied parameters handled there).

**Step.** With J = ∂ log L_pred/∂θ (n × F), g = −Jᵀ(w·ψ(r)) the gradient, the curvature splits as
A = Jᵀ diag(w·1[|r| ≤ δ]) J (the exact Gauss-Newton Hessian of the Huber objective: only points inside ±δ
have curvature) and B = Jᵀ diag(w·δ/|r|·1[|r| > δ]) J (the curvature the outliers add in the iteratively
reweighted least-squares majorizer of the Huber loss). In the coordinates scaled by d = sqrt(diag(A + B))
(so the solve is invariant to the units of each parameter) the step solves

    (Â + λ·(B̂ + I))·z = −ĝ,   Δθ = z / d

so λ → 0 gives the Newton step of the exact Huber model (quadratic convergence once the set of points inside
±δ settles, as scipy's ``least_squares(loss="huber")``), while a larger λ blends in the outliers' majorizer
curvature (robust IRLS-like steps far from the optimum) and Marquardt damping. λ is updated per problem by
the gain ratio ρ = (actual decrease)/(decrease predicted by the undamped model) (Nielsen's rule: λ·max(1/3,
1 − (2ρ − 1)³) on success, λ·ν with ν doubling on failure). A step whose objective or gradient is not finite
is rejected like a bad one.

**Bounds** (projected Newton with an active set): a parameter on a bound whose gradient pushes it outwards is
held (its row and column of the system replaced by the identity); the step of the others is projected back
into the box, and the gain ratio is that of the projected step.

**Convergence** (per problem, the semantics of scipy's trust-region least squares, on the unscaled
objective): the gradient test ‖ĝ_projected‖∞ ≤ gtol·sqrt(2f) (a cosine between the weighted residuals and
the scaled Jacobian columns, as MINPACK's); the objective test: an accepted step with gain ratio > 1/4 that
lowered f by at most ftol·f; the step test ‖Δθ‖ ≤ xtol·(xtol + ‖θ‖). A problem that reaches none of them
within ``max_iter`` steps is not converged. The step test also applies to rejected steps, as in scipy: a
problem whose damping has grown until its steps no longer move it is done.

**Cost.** Each step evaluates the law and its gradient once for every unfinished problem, in chunks of at
most 100,000 (problem × point × parameter) numbers (scaled down by a law's ``cost_per_point``), which keeps
memory bounded for big laws and the arithmetic in cache; the problems of a batch are independent (the same
numbers alone or in any batch), so a bootstrap gives the same replicates on any number of workers.

**Limits.** As any Gauss-Newton method, a step can carry a parameter that has almost no influence at a poor
start far away (a term that is negligible everywhere, whose coefficient then drifts to a bound or to
infinity: "parameter evaporation"); the fitter polishes the best screened starts, where this is rare.
Laws whose evaluation is dominated by arithmetic rather than call overhead gain nothing from batching and
may opt out (``Law.batched_polish``; the Multi-Power law does).

Example::

    objective = Objective(law, space, X, y)               # the fitter's objective
    result = polish(objective, starts[:8])                # 8 starts at once
    result.theta[np.argmin(result.objective)]             # the best end point
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .objective import LOSSES, Objective

__all__ = ["BatchResult", "polish", "polish_runs", "refit_replicates", "MESSAGES"]

#: Most (problem × point × parameter) numbers held at once while evaluating a batch.
_CHUNK = 100_000

#: Plain-words stopping reasons by status code (the codes of scipy's ``least_squares``; −1: not finite).
MESSAGES = {
    -1: "the law is not finite at the start",
    0: "iteration limit reached",
    1: "the gradient vanished",
    2: "the objective stopped improving",
    3: "the parameters stopped moving",
    4: "the objective and the parameters stopped changing",
}
_RUNNING = -2


@dataclass(frozen=True, eq=False)
class BatchResult:
    """End points of a batch of polished problems (one row per problem).

    Attributes
    ----------
    theta : ndarray (S, F)
        End points, in the coordinates of the objective's parameter space.
    objective : ndarray (S,)
        Unscaled objective Σ w·ρ(r) at the end points (+inf where the law was never finite).
    converged : ndarray of bool (S,)
        Whether a stopping test (gradient, objective or step) ended the problem.
    iterations : ndarray of int (S,)
        Steps tried (each costs one evaluation of the law and its gradient).
    status : ndarray of int (S,)
        Stopping reason, a key of :data:`MESSAGES`.
    """

    theta: np.ndarray
    objective: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    status: np.ndarray

    @property
    def message(self) -> tuple[str, ...]:
        """The stopping reason of every problem, in plain words."""
        return tuple(MESSAGES[int(s)] for s in self.status)


class _Batch:
    """The objective's law, data and loss with per-problem weights and observations."""

    def __init__(self, objective: Objective, weights, log_y, loss, delta, groups, S: int):
        self.law, self.space, self.X = objective.law, objective.space, objective.X
        self.loss = objective.loss if loss is None else loss
        self.delta = objective.delta if delta is None else float(delta)
        self.n = n = objective.n
        if groups is None:
            self.groups, G = None, S
        else:
            self.groups = np.asarray(groups, dtype=np.int64).reshape(-1)
            if self.groups.shape != (S,) or (S and self.groups.min() < 0):
                raise ValueError(f"groups must give a non-negative row of weights/log_y for each of the {S} problems")
            G = int(self.groups.max()) + 1 if S else 0
        self.weights = None if weights is None else _table(weights, G, n, "weights", groups is not None)
        self.log_y = objective.log_y[None, :] if log_y is None else _table(log_y, G, n, "log_y", groups is not None)
        P = len(self.space.params)
        cost = getattr(self.law, "cost_per_point", 1)
        self.chunk = max(1, _CHUNK // max(n * max(P, self.space.n_free) * cost, 1))
        self._log = np.flatnonzero(self.space._log) if self.space.simple else None

    def evaluate(self, theta: np.ndarray, idx: np.ndarray):
        """Objective and its scaled derivatives at ``theta`` (k, F) of the problems ``idx`` (k,).

        Returns f (k,), the scale d (k, F) = sqrt(diag(A + B)), the scaled gradient g/d (k, F), the scaled
        curvatures A/(d dᵀ) and B/(d dᵀ) stacked (k, 2, F, F), and a flag (k,) of finite results.
        """
        k = theta.shape[0]
        if k <= self.chunk:
            return self._evaluate(theta, self._of(self.weights, idx), self._of(self.log_y, idx))
        parts = [self._evaluate(theta[i : i + self.chunk], self._of(self.weights, idx[i : i + self.chunk]),
                                self._of(self.log_y, idx[i : i + self.chunk])) for i in range(0, k, self.chunk)]
        return tuple(np.concatenate(p) for p in zip(*parts))

    def _of(self, table, idx):
        """The rows of a weights/log_y table that the problems ``idx`` use."""
        if table is None or table.shape[0] == 1:
            return table
        return table[idx if self.groups is None else self.groups[idx]]

    def _evaluate(self, theta, w, log_y):
        space, delta = self.space, self.delta
        k, F = theta.shape
        n = self.n
        with np.errstate(all="ignore"):
            log_pred, grads = self.law.log_evaluate_and_gradient(self.X, *space.natural(theta))
            r = log_y - log_pred
            if r.shape != (k, n):
                r = np.broadcast_to(r, (k, n))
            if space.simple:
                Jt = np.empty((k, F, n))  # d log L_pred / d theta, transposed: (problem, parameter, point)
                for j, gj in enumerate(grads):
                    Jt[:, j, :] = gj
                if self._log.size:  # log-scale parameters: d/d log(value) = value · d/d value
                    Jt[:, self._log, :] *= np.exp(theta[:, self._log])[:, :, None]
            else:
                G = np.empty((k, n, len(grads)))
                for j, gj in enumerate(grads):
                    G[:, :, j] = gj
                Jt = (G @ space.jacobian(theta)).transpose(0, 2, 1)  # (k, n, P) @ (k, P, F)
            if self.loss == "l2":
                psi = r
                rho = 0.5 * r * r
                curv = np.zeros((k, 2, n))
                curv[:, 0] = 1.0
            else:
                psi = np.minimum(np.maximum(r, -delta), delta)
                rho = psi * (r - 0.5 * psi)
                inlier = psi == r
                curv = np.empty((k, 2, n))
                curv[:, 0] = inlier
                curv[:, 1] = np.where(inlier, 0.0, psi / r)  # delta/|r| outside ±delta
            if w is not None:
                rho = rho * w
                psi = psi * w
                curv *= w[:, None, :]
            f = rho.sum(axis=1)
            g = -(Jt @ psi[:, :, None])[:, :, 0]
            AB = (Jt[:, None, :, :] * curv[:, :, None, :]) @ Jt.transpose(0, 2, 1)[:, None, :, :]  # (k, 2, F, F)
            diag = np.diagonal(AB[:, 0] + AB[:, 1], axis1=1, axis2=2)
            d = np.sqrt(diag)
            d = np.maximum(d, np.maximum(1e-12 * d.max(axis=1, keepdims=True), 1e-300))
            g = g / d
            AB /= (d[:, :, None] * d[:, None, :])[:, None]
            finite = np.isfinite(f + g.sum(axis=1) + AB.sum(axis=(1, 2, 3)) + d.sum(axis=1))
        return f, d, g, AB, finite


def _table(values, rows: int, n: int, name: str, grouped: bool = False) -> np.ndarray:
    """``values`` as a C-contiguous (rows, n) or (1, n) float array (at least ``rows`` rows when grouped)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n or not (arr.shape[0] in (1, rows) or grouped and arr.shape[0] > rows):
        raise ValueError(f"{name} must have shape ({rows}, {n}) or ({n},), got {np.shape(values)}")
    return np.ascontiguousarray(arr)


def _bounds(space, F: int, bounds) -> tuple[np.ndarray, np.ndarray]:
    pairs = space.bounds() if bounds is None else list(bounds)
    if len(pairs) != F:
        raise ValueError(f"bounds for {len(pairs)} parameters given, the problems have {F}")
    lo = np.array([-np.inf if b is None else float(b) for b, _ in pairs])
    hi = np.array([np.inf if b is None else float(b) for _, b in pairs])
    if np.any(lo > hi):
        raise ValueError("a lower bound lies above its upper bound")
    return lo, hi


_allocator_warm = False


def _warm_allocator() -> None:
    """Raise glibc's dynamic mmap threshold, once per process, so that chunk temporaries are reused.

    glibc hands freed blocks above its mmap threshold back to the system and trims the heap once more than
    twice that threshold is free; a fresh worker process (joblib/loky), which has never freed a large block,
    then page-faults on every temporary of a chunk (measured: 400,000 page faults and 3x the CPU time for a
    task of 125 bootstrap replicates). Freeing one block just under glibc's 32 MB cap raises both thresholds,
    as any large numpy computation (the start screening) does in the parent process. Harmless elsewhere: the
    block is never touched.
    """
    global _allocator_warm
    if not _allocator_warm:
        np.empty((31 << 20) // 8)
        _allocator_warm = True


def polish(objective: Objective, theta0: np.ndarray, *, weights=None, log_y=None, groups=None,
           loss: str | None = None, delta: float | None = None, bounds=None, max_iter: int = 500,
           ftol: float = 1e-12, xtol: float = 1e-12, gtol: float = 1e-10, lam0: float = 1e-2) -> BatchResult:
    """Minimize the objective from every row of ``theta0`` (S, F) at once (see the module docstring).

    Parameters
    ----------
    objective : Objective
        The law, parameter space, inputs, observations, loss and δ (as the fitter builds it).
    theta0 : ndarray (S, F)
        One start per problem, in the space's coordinates; moved inside the bounds.
    weights : ndarray (S, n) or (n,), optional
        Weight of every point in every problem (bootstrap counts); all ones by default.
    log_y : ndarray (S, n) or (n,), optional
        Log observed loss per problem (a residual bootstrap); the objective's by default.
    groups : ndarray of int (S,), optional
        Problem s uses row ``groups[s]`` of ``weights`` and ``log_y`` (which then have one row per group),
        e.g. the replicate of each (replicate, start) problem of a bootstrap, so the tables are not repeated.
    loss, delta : optional
        Override the objective's loss (``"huber"`` or ``"l2"``) and Huber threshold.
    bounds : sequence of (lo, hi), optional
        Bounds of theta (None for none); the parameter space's by default.
    max_iter : int
        Most steps per problem (each one evaluation of the law and its gradient).
    ftol, xtol, gtol : float
        Stopping tolerances on the relative decrease of the objective, the relative step size and the scaled
        gradient (module docstring).
    lam0 : float
        Initial damping.

    Problems are independent: a problem's result does not depend on the others in the batch (so results do
    not depend on how a bootstrap is split among workers).
    """
    theta0 = np.atleast_2d(np.asarray(theta0, dtype=float))
    S, F = theta0.shape
    if F != objective.space.n_free:
        raise ValueError(f"theta0 has {F} columns, the law has {objective.space.n_free} free parameters")
    if loss is not None and loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; use one of {', '.join(LOSSES)}")
    batch = _Batch(objective, weights, log_y, loss, delta, groups, S)
    _warm_allocator()
    lo, hi = _bounds(objective.space, F, bounds)
    theta = np.clip(theta0, lo, hi)
    status = np.full(S, _RUNNING)
    iterations = np.zeros(S, dtype=np.int64)
    if S == 0:
        return BatchResult(theta, np.empty(0), np.zeros(0, bool), iterations, np.zeros(0, np.int64))

    # a parameter within `edge` of a bound counts as on it
    bounded = bool(np.isfinite(lo).any() or np.isfinite(hi).any())
    margin = 1e-12 * np.maximum(1.0, np.abs(np.where(np.isfinite(lo), lo, 0.0)))
    edge_lo = np.where(np.isfinite(lo), lo + margin, -np.inf)
    margin = 1e-12 * np.maximum(1.0, np.abs(np.where(np.isfinite(hi), hi, 0.0)))
    edge_hi = np.where(np.isfinite(hi), hi - margin, np.inf)

    def held_of(t, gs):
        """Parameters on a bound that the (scaled) gradient pushes outwards: held fixed for the step."""
        return ((t <= edge_lo) & (gs > 0)) | ((t >= edge_hi) & (gs < 0))

    def small_gradient(t, gs, fx):
        if bounded:
            gs = np.where(held_of(t, gs), 0.0, gs)
        return np.abs(gs).max(axis=1) <= gtol * np.sqrt(2.0 * np.maximum(fx, 0.0))

    every = np.arange(S)
    f, d, g, AB, finite = batch.evaluate(theta, every)
    f = np.where(finite, f, np.inf)
    status[~finite] = -1
    status[finite & small_gradient(theta, g, f)] = 1
    lam = np.full(S, float(lam0))
    nu = np.full(S, 2.0)
    eye = np.eye(F)

    for _ in range(max_iter):
        idx = np.flatnonzero(status == _RUNNING)
        if not idx.size:
            break
        t, fx, dx, gx, ABx, lx = theta[idx], f[idx], d[idx], g[idx], AB[idx], lam[idx]
        A = ABx[:, 0]
        H = A + lx[:, None, None] * (ABx[:, 1] + eye)
        rhs = -gx
        if bounded:
            held = held_of(t, gx)
            if held.any():
                keep = ~held
                H = H * (keep[:, :, None] & keep[:, None, :]) + held[:, :, None] * eye
                rhs = np.where(held, 0.0, rhs)
        z = _solve(H, rhs)
        trial = t + z / dx
        if bounded:
            trial = np.minimum(np.maximum(trial, lo), hi)
        taken = trial - t
        zs = taken * dx  # the step actually taken, in scaled coordinates
        predicted = -((gx * zs).sum(axis=1) + 0.5 * (zs * (A @ zs[:, :, None])[:, :, 0]).sum(axis=1))
        ft, dt, gt, ABt, ok = batch.evaluate(trial, idx)
        actual = fx - ft
        with np.errstate(all="ignore"):
            ratio = np.where(predicted > 0, actual / predicted, -np.inf)
        accept = ok & (ratio > 1e-4) & (actual >= 0)
        iterations[idx] += 1

        # damping (Nielsen): lower it after a good step, raise it ever faster after failed ones
        shrink = np.maximum(1.0 / 3.0, 1.0 - (2.0 * np.minimum(np.maximum(ratio, 0.0), 1.0) - 1.0) ** 3)
        lam[idx] = np.minimum(np.maximum(np.where(accept, lx * shrink, lx * nu[idx]), 1e-15), 1e20)
        nu[idx] = np.where(accept, 2.0, 2.0 * nu[idx])

        if accept.any():
            moved = idx[accept]
            theta[moved], f[moved], d[moved], g[moved], AB[moved] = (trial[accept], ft[accept], dt[accept],
                                                                      gt[accept], ABt[accept])
        # stopping tests (scipy's least_squares semantics)
        x_done = np.sqrt((taken * taken).sum(axis=1)) <= xtol * (xtol + np.sqrt((t * t).sum(axis=1)))
        f_done = accept & (ratio > 0.25) & (actual <= ftol * fx)
        g_done = accept & small_gradient(trial, gt, ft)
        status[idx] = np.where(g_done, 1, np.where(f_done & x_done, 4, np.where(f_done, 2,
                                                                                np.where(x_done, 3, _RUNNING))))
    status[status == _RUNNING] = 0
    return BatchResult(theta=theta, objective=f, converged=status > 0, iterations=iterations, status=status)


def _solve(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the stacked systems H z = rhs. A system singular in floating point gives a NaN step, which is
    rejected like a non-finite one (so the damping grows until the system is regular)."""
    try:
        return np.linalg.solve(H, rhs[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        out = np.full_like(rhs, np.nan)
        for i in range(H.shape[0]):
            try:
                out[i] = np.linalg.solve(H[i], rhs[i])
            except np.linalg.LinAlgError:
                pass
        return out


def polish_runs(objective: Objective, theta0: np.ndarray, *, max_iter: int = 500, **options) -> list:
    """:func:`polish` from every row of ``theta0``, as one ``scipy.optimize.OptimizeResult`` per start (``x``,
    ``fun`` on the fitter's scaled objective, ``success``, ``nit``, ``message``), the form the fitter keeps."""
    from scipy.optimize import OptimizeResult

    result = polish(objective, theta0, max_iter=max_iter, **options)
    return [OptimizeResult(x=result.theta[i].copy(), fun=float(result.objective[i]) * objective.scale,
                           success=bool(result.converged[i]), nit=int(result.iterations[i]),
                           message=MESSAGES[int(result.status[i])], status=int(result.status[i]))
            for i in range(len(theta0))]


def refit_replicates(fitter, law, X, y, plans) -> list[tuple[np.ndarray, bool]]:
    """Bootstrap replicates refitted together: the chosen starts of every replicate polished in one call of
    :func:`polish`.

    ``plans`` holds one ``(rows, starts, screened, y)`` per replicate, as the bootstrap builds them: the
    resampled rows (a replicate is then the full data with each point weighted by how often it was drawn,
    the same objective as a fit on the rows), its starts with their screened objectives (or every start and
    None, to be screened here on the replicate's own observations ``y``, for a residual bootstrap).
    ``fitter.top_k`` best finite starts are polished per replicate and the best end point kept as the fitter
    keeps it. Returns (parameter values in law order, converged) per replicate; NaN values and False for a
    replicate without a finite start.
    """
    from .optimize import _best  # the fitter's choice among polished starts
    from .space import ParameterSpace

    if not plans:
        return []
    space = ParameterSpace(law)
    objective = Objective(law, space, X, y, loss=fitter.loss, delta=fitter.delta)
    n = objective.n
    own_y = any(plan[3] is not None for plan in plans)
    resampled = any(len(plan[0]) != n or np.any(np.asarray(plan[0]) != np.arange(n)) for plan in plans)
    theta0, groups, weights, log_y = [], [], [], []
    for r, (rows, starts, screened, y_r) in enumerate(plans):
        observed = y if y_r is None else np.asarray(y_r, dtype=float)
        if screened is None:
            screened = Objective(law, space, X, observed, loss=fitter.loss, delta=fitter.delta).values(starts)
        order = np.argsort(screened, kind="stable")[: fitter.top_k]
        chosen = order[np.isfinite(screened[order])]
        theta0.append(starts[chosen])
        groups.append(np.full(chosen.size, r))
        if resampled:
            weights.append(np.bincount(np.asarray(rows, dtype=np.int64), minlength=n).astype(float))
        if own_y:
            log_y.append(np.log(observed))
    result = polish(objective, np.concatenate(theta0).reshape(-1, space.n_free),
                    weights=np.array(weights) if resampled else None,
                    log_y=np.array(log_y) if own_y else None, groups=np.concatenate(groups),
                    max_iter=fitter.maxiter)
    out, at = [], 0
    for starts in theta0:
        k = starts.shape[0]
        if not k:
            out.append((np.full(len(law.params), np.nan), False))
            continue
        runs = [_Run(result.objective[i] * objective.scale, bool(result.converged[i])) for i in range(at, at + k)]
        best = at + _best(runs)
        out.append((np.array([float(v[0, 0]) for v in space.natural(result.theta[best])]),
                    bool(result.converged[best])))
        at += k
    return out


@dataclass(frozen=True)
class _Run:
    fun: float
    success: bool

"""The loss-drop sum of the Multi-Power law, in time and memory linear in the observations and the schedule.

For one schedule η_0 … η_{T−1} with forward area S_t = Σ_{τ≤t} η_τ, the drop at step t is

    D(t) = Σ_{1≤k≤t} c_k·G(C·η_k^−γ·(S_t − S_{k−1})),   c_k = η_k − η_{k−1},   G(x) = 1 − (1 + x)^−β.

Summed naively this costs one term per change point and observation, O(n·T) for a dense curve. Here:

* **Sources.** The change points of each sign form a binary tree of aligned blocks of 1, 2, 4, … steps. Every
  block carries a 2-point Gauss rule for its changes: nodes placed in step by the change-weighted moments
  (mean, variance, skewness) of the block, weights summing to its total change, each node's log η and S_{k−1}
  read from the schedule there and shifted so the rule reproduces the block's change-weighted means of log η
  and S_{k−1} exactly.
* **Targets.** The observed steps form the same tree.
* **Well-separated pairs.** From the coarsest level down, a (target block, source block) pair whose changes
  all precede its observations is used as it is when, with d = S_{t_first} − S_{k_last−1} the forward area
  between them, the source block is narrow, 4·log(η_max/η_min) + log(1 + w_s/d) ≤ ``theta_s`` = 0.93 (w_s
  its width in forward area: a block up to 1.5 times as wide as its distance), and so is the target block,
  log(1 + w_t/d) ≤ ``theta_t`` = 0.7. Other pairs split the block at
  fault (the source block, the target block, or both when they overlap in time), down to single steps, which
  are summed exactly: near an observation, where G varies fastest, the sum is exact. A target block of at
  most ``p`` observations that needs splitting becomes its single observations, each with its own distance.
* **Evaluation.** The Gauss nodes of a separated source block act on each observation of the target block
  when it holds at most ``p`` of them, else on ``p`` Chebyshev points spanning its forward-area range; the
  latter are interpolated down the target tree to the observations (a one-sided fast multipole method). The
  kernel is analytic in S_t, its nearest singularity a distance >= d before the block, so the interpolation
  converges geometrically.

The plan (which pairs, their forward-area gaps) does not depend on the parameters: it is built once per set
of observations, and an evaluation is a few numpy passes over O(n + T) terms (about 14 per observation for a
curve logged every step, O(log T) per observation for sparse ones). The gradient is that of the approximation
itself, exactly. ``exact_sums`` is the plain sum, in bounded memory, for tests.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MIN_LR", "ChangeTree", "DropPlan", "exact_sums", "kernel_sums"]

#: The smallest learning rate used in η^−γ (as the authors' code).
MIN_LR = 1e-10

#: Chebyshev points per interpolated target block, Gauss nodes per source block, separation thresholds, and
#: the weight of a source block's spread in log η against its spread in distance.
P_CHEB, Q_GAUSS, THETA_SOURCE, THETA_TARGET, ETA_WEIGHT = 8, 2, 0.93, 0.7, 4.0

#: Elements per numpy pass (terms × parameter sets): keeps temporaries in cache and memory bounded.
_BLOCK = 1 << 16

#: How the plans store the terms' change, log η and forward-area gap (the arithmetic is float64): single
#: precision halves the plans' memory and moves the loss by about 1e-8 relative.
_STORE = np.float32


def kernel_sums(W, a, u, C, beta, gamma, gradient: bool, axis: int) -> list:
    """Sums over ``axis`` of the terms W·(1 − p) and, for the gradient, W·p·log(1 + x), W·p·v/(1 + x) and
    W·p·v·a/(1 + x), where v = e^{−γa}·u, x = C·v and p = (1 + x)^−β (a list of 1 or 4 arrays). Inputs
    broadcast; reducing over a non-last axis keeps numpy's inner loops long."""
    v = np.exp(a * -gamma)
    v = v * u
    x = v * C
    lb = np.log1p(x)
    g = np.multiply(lb, -beta)
    np.expm1(g, out=g)
    g *= W  # −W·G(x): G = 1 − p
    out = [-g.sum(axis=axis)]
    if not gradient:
        return out
    g += W  # W·p
    lb *= g
    out.append(lb.sum(axis=axis))
    x += 1.0
    v /= x
    v *= g
    out.append(v.sum(axis=axis))
    v *= a
    out.append(v.sum(axis=axis))
    return out


def _chebyshev(p: int) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev points of the first kind on [−1, 1] and their barycentric weights."""
    j = np.arange(p)
    angle = np.pi * (2 * j + 1) / (2 * p)
    return np.cos(angle), (-1.0) ** j * np.sin(angle)


def _interpolation(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, p: int) -> np.ndarray:
    """Weights (m, p) giving the interpolant at x (m,) of values at the Chebyshev points of [lo, hi] (m,)."""
    z, w = _chebyshev(p)
    half = (hi - lo) / 2
    half = np.where(half > 0, half, 1.0)
    d = (x - (lo + hi) / 2)[:, None] / half[:, None] - z[None, :]
    hit = d == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        r = w / d
        V = r / r.sum(axis=1, keepdims=True)
    rows = hit.any(axis=1)
    V[rows] = hit[rows]
    return V


def _points(lo: np.ndarray, hi: np.ndarray, p: int) -> np.ndarray:
    z, _ = _chebyshev(p)
    return (lo + hi)[:, None] / 2 + (hi - lo)[:, None] / 2 * z[None, :]


def _buckets(counts: np.ndarray, least: int = 512, slack: float = 1.25) -> list[tuple[int, np.ndarray]]:
    """Groups of rows by number of terms: (width, rows) with every row's count <= width. Counts shared by
    fewer than ``least`` rows join larger ones (padded with zero-weight terms to at most ``slack`` times, or 4
    more than, their count), so that numpy makes a few long passes rather than many short ones."""
    out, rows, low = [], [], None
    values, inverse = np.unique(counts, return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    for c, m in zip(values, members):
        if rows and (c > max(slack * low, low + 4) or sum(r.size for r in rows) >= least):
            out.append((width, np.concatenate(rows)))
            rows = []
        if not rows:
            low = c
        rows.append(m)
        width = int(c)
    if rows:
        out.append((width, np.concatenate(rows)))
    return out


class _Schedule:
    """The per-step arrays of a schedule up to its last needed step, padded to a power of two."""

    def __init__(self, lr: np.ndarray, last: int):
        T = last + 1
        self.L = max(1, int(np.ceil(np.log2(T)))) if T > 1 else 1
        N = 1 << self.L
        lr = np.asarray(lr, dtype=float)[:T]
        S = np.cumsum(lr)
        self.S = S
        # S_{k−1} at step k (0 at k = 0), padded; one extra entry for interpolation at the last step
        self.Sprev = np.concatenate([[0.0], S, np.full(N - T, S[-1])])
        eta = np.empty(N + 1)
        eta[:T] = np.maximum(lr, MIN_LR)
        eta[T:] = eta[T - 1]
        self.a = np.log(eta)
        self.change = np.zeros(N)
        self.change[1:T] = lr[1:] - lr[:-1]
        # log-η range of every aligned block (step 0 is never a change point: it takes step 1's value)
        a = self.a[:N].copy()
        if N > 1:
            a[0] = a[1]
        self.amin, self.amax = [a], [a]
        for _ in range(self.L):
            self.amin.append(np.minimum(self.amin[-1][0::2], self.amin[-1][1::2]))
            self.amax.append(np.maximum(self.amax[-1][0::2], self.amax[-1][1::2]))


class _Sources:
    """The change points of one sign as a binary tree of aligned blocks, each with a 2-point Gauss rule.

    Level 0 is the change points themselves; level l >= 1 arrays hold, per block, the rule's weights ``W``
    (signed), log η ``a`` and S_{k−1} ``s`` at its nodes (shape (blocks, 2)), the first and last change
    ``klo``/``khi`` and the total ``tot`` (0 for empty blocks).
    """

    def __init__(self, sched: _Schedule, sign: float):
        self.sign = sign
        w = np.where(np.sign(sched.change) == sign, np.abs(sched.change), 0.0)
        nz = np.flatnonzero(w)
        self.empty = nz.size == 0
        if self.empty:
            return
        span = int(nz[-1]) + 1
        size = 1 << max(1, int(np.ceil(np.log2(span))))
        w = w[:size]
        k = np.arange(size, dtype=float)
        self.w, self.n0 = w, size
        self.sched = sched
        # level-0 moments: weight, mean step, central 2nd/3rd moment sums, weighted sums of a and S_{k−1}
        W, mean, M2, M3 = w, k, np.zeros(size), np.zeros(size)
        sa, ss = w * sched.a[:size], w * sched.Sprev[:size]
        big = np.iinfo(np.int64).max
        klo = np.where(w > 0, np.arange(size), big)
        khi = np.where(w > 0, np.arange(size), -1)
        self.levels = [None]
        for _ in range(sched.L):
            if W.size % 2:
                W, mean, M2, M3, sa, ss = (np.append(v, 0.0) for v in (W, mean, M2, M3, sa, ss))
                klo, khi = np.append(klo, big), np.append(khi, -1)
            wa, wb = W[0::2], W[1::2]
            tot = wa + wb
            safe = np.where(tot > 0, tot, 1.0)
            delta = mean[1::2] - mean[0::2]
            mean = np.where(tot > 0, mean[0::2] + delta * wb / safe, 0.5 * (mean[0::2] + mean[1::2]))
            M2a, M2b = M2[0::2], M2[1::2]
            M2n = M2a + M2b + delta**2 * wa * wb / safe
            M3 = (M3[0::2] + M3[1::2] + delta**3 * wa * wb * (wa - wb) / safe**2
                  + 3 * delta * (wa * M2b - wb * M2a) / safe)
            M2 = M2n
            W, sa, ss = tot, sa[0::2] + sa[1::2], ss[0::2] + ss[1::2]
            klo, khi = np.minimum(klo[0::2], klo[1::2]), np.maximum(khi[0::2], khi[1::2])
            self.levels.append(self._rule(W, mean, M2, M3, sa, ss, klo, khi))

    def _rule(self, W, mean, M2, M3, sa, ss, klo, khi) -> dict:
        """The 2-point Gauss rule of every block from its moments."""
        sched = self.sched
        ok = W > 0
        safe = np.where(ok, W, 1.0)
        var = np.where(ok, M2 / safe, 0.0)
        skew = np.where(ok, M3 / safe, 0.0)
        # nodes are the roots of the second orthogonal polynomial: d² − (μ3/v)·d − v = 0 (d from the mean)
        degenerate = var <= 1e-18 * np.maximum(mean, 1.0) ** 2
        ratio = np.where(degenerate, 0.0, skew / np.where(degenerate, 1.0, var))
        root = np.sqrt(ratio**2 + 4 * var)
        d1, d2 = (ratio - root) / 2, (ratio + root) / 2
        spread = np.where(degenerate, 1.0, d2 - d1)
        w1 = np.where(degenerate, 1.0, d2 / spread)
        pos = np.stack([mean + np.where(degenerate, 0.0, d1), mean + np.where(degenerate, 0.0, d2)], axis=1)
        weights = np.stack([w1, 1.0 - w1], axis=1) * W[:, None]
        lo = np.where(ok, klo, 0).astype(float)[:, None]
        hi = np.where(ok, khi, 0).astype(float)[:, None]
        pos = np.clip(pos, lo, hi)
        k0 = np.floor(pos).astype(np.int64)
        frac = pos - k0
        a = sched.a[k0] + frac * (sched.a[k0 + 1] - sched.a[k0])
        s = sched.Sprev[k0] + frac * (sched.Sprev[k0 + 1] - sched.Sprev[k0])
        # shift the nodes so that the rule reproduces the block's mean log η and S_{k−1} exactly
        a += ((sa - (weights * a).sum(axis=1)) / safe)[:, None]
        s += ((ss - (weights * s).sum(axis=1)) / safe)[:, None]
        return {"tot": W, "klo": np.where(ok, klo, 0), "khi": np.where(ok, khi, 0), "W": self.sign * weights,
                "a": a, "s": s}

    def level(self, l: int, blocks: np.ndarray) -> dict:
        """Data of the given blocks of level l (0 outside the tree)."""
        if l == 0:
            inside = blocks < self.n0
            k = np.where(inside, blocks, 0)
            tot = np.where(inside, self.w[k], 0.0)
            sched = self.sched
            return {"tot": tot, "klo": k, "khi": k, "W": (self.sign * tot)[:, None], "a": sched.a[k][:, None],
                    "s": sched.Sprev[k][:, None]}
        lev = self.levels[l]
        inside = blocks < lev["tot"].size
        b = np.where(inside, blocks, 0)
        out = {key: value[b] for key, value in lev.items()}
        out["tot"] = np.where(inside, out["tot"], 0.0)
        return out


class ChangeTree:
    """The change points of a schedule up to step ``last``: its per-step arrays and the trees of its rises and
    falls (O(last) memory), shared by the plans of several pieces of observations."""

    def __init__(self, lr, last: int):
        self.last = int(last)
        self.sched = _Schedule(lr, self.last)
        self.sources = [src for src in (_Sources(self.sched, 1.0), _Sources(self.sched, -1.0)) if not src.empty]

    @property
    def nbytes(self) -> int:
        sched = self.sched
        arrays = [sched.S, sched.Sprev, sched.a, sched.change, *sched.amin, *sched.amax]
        for src in self.sources:
            arrays.append(src.w)
            arrays += [v for level in src.levels[1:] for v in level.values()]
        return int(sum(a.nbytes for a in arrays))


class DropPlan:
    """Parameter-independent plan of the drop sum at sorted distinct ``targets`` (steps) of one schedule.

    ``sums(C, beta, gamma, gradient)`` returns Σ W·(1 − p) per target and, for the gradient, the sums of
    W·p·log(1 + x), W·p·v/(1 + x) and W·p·v·a/(1 + x) (see :func:`kernel_sums`). ``tree`` is the schedule's
    :class:`ChangeTree` up to at least the last target, built when not given.
    """

    def __init__(self, lr, targets, *, tree: ChangeTree | None = None, p: int = P_CHEB,
                 theta_s: float = THETA_SOURCE, theta_t: float = THETA_TARGET):
        targets = np.asarray(targets, dtype=np.int64)
        self.n, self.p = targets.size, p
        if tree is None or tree.last < targets[-1]:
            tree = ChangeTree(lr, int(targets[-1]))
        sched = tree.sched
        St = sched.S[targets]
        direct, far = [], []
        for sources in tree.sources:
            self._traverse(sched, sources, targets, St, theta_s, theta_t, direct, far)
        self._build_direct(direct)
        self._build_far(far, targets, St, sched.L)
        self.terms = self.n_direct + self.n_far

    # -- building --------------------------------------------------------------------------------------
    def _traverse(self, sched, sources, targets, St, theta_s, theta_t, direct, far):
        """Well-separated pairs of target and source blocks, from the coarsest blocks down.

        A pair that is not separated splits the block at fault: the source block when it is too wide or too
        inhomogeneous for its distance, the target block when it is too wide, both when they overlap in time.
        Target blocks with more than p targets are aligned blocks (level ``tl``, index ``tj``); smaller ones are
        evaluated directly, so once they need splitting they become single targets (``tl`` = −1), each with
        its own distance.
        """
        p = self.p
        L = sched.L
        tl, tj = np.array([L]), np.zeros(1, dtype=np.int64)
        tlo, thi = np.zeros(1, dtype=np.int64), np.full(1, targets.size, dtype=np.int64)
        sl, sj = np.array([L]), np.zeros(1, dtype=np.int64)
        while tj.size:
            grouped = tl >= 0
            tlo[grouped] = np.searchsorted(targets, tj[grouped] << tl[grouped])
            thi[grouped] = np.searchsorted(targets, (tj[grouped] + 1) << tl[grouped])
            src = self._gather(sources, sl, sj)
            keep = (thi > tlo) & (src["tot"] > 0)
            keep[keep] = src["klo"][keep] <= targets[thi[keep] - 1]
            tl, tj, tlo, thi, sl, sj = tl[keep], tj[keep], tlo[keep], thi[keep], sl[keep], sj[keep]
            src = {key: value[keep] for key, value in src.items()}
            if tj.size == 0:
                break
            count = thi - tlo
            big = count > p
            klo, khi = src["klo"], src["khi"]
            atom = klo == khi
            ordered = khi <= targets[tlo]
            d = St[tlo] - sched.Sprev[khi]
            with np.errstate(divide="ignore", invalid="ignore"):
                spread_s = ETA_WEIGHT * src["arange"] + np.log1p((sched.Sprev[khi] - sched.Sprev[klo]) / d)
                spread_t = np.log1p((St[thi - 1] - St[tlo]) / d)
            source_ok = ordered & (d > 0) & (atom | (spread_s <= theta_s))
            target_ok = ~big | (ordered & (d > 0) & (spread_t <= theta_t))
            separated = (source_ok & target_ok) | (atom & (count == 1) & ordered)  # one change, one target: exact
            sel = separated & big
            if sel.any():
                far.append((tl[sel], tj[sel], src["W"][sel], src["a"][sel], src["s"][sel]))
            sel = separated & ~big
            if sel.any():
                c = count[sel]
                rows = np.repeat(tlo[sel], c) + (np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c))
                pick = np.repeat(np.flatnonzero(sel), c)
                W, a, s = src["W"][pick], src["a"][pick], src["s"][pick]
                u = np.maximum(St[rows][:, None] - s, 0.0)
                nz = W != 0
                direct.append((np.broadcast_to(rows[:, None], W.shape)[nz], W[nz], a[nz], u[nz]))
            rest = ~separated
            split_s = rest & ~atom & (~source_ok | ~ordered)
            split_t = rest & (~target_ok | ~ordered | atom)
            split_t |= rest & ~split_s  # nothing else to split
            pieces = []
            # big targets split into their two aligned halves, small ones into single targets
            for ts in (False, True):
                for ss in (False, True):
                    sel = rest & (split_t == ts) & (split_s == ss)
                    if not sel.any():
                        continue
                    pieces.append(self._children(sel, ts, ss, big, tl, tj, tlo, thi, sl, sj))
            if not pieces:
                break
            tl, tj, tlo, thi, sl, sj = (np.concatenate(parts) for parts in zip(*pieces))

    @staticmethod
    def _children(sel, split_t, split_s, big, tl, tj, tlo, thi, sl, sj):
        """Child pairs of the selected pairs, splitting the target block, the source block or both."""
        tl, tj, tlo, thi, sl, sj, big = tl[sel], tj[sel], tlo[sel], thi[sel], sl[sel], sj[sel], big[sel]
        if split_s:
            sl, sj = np.repeat(sl - 1, 2), (2 * sj[:, None] + np.array([0, 1])).ravel()
            tl, tj, tlo, thi, big = (np.repeat(v, 2) for v in (tl, tj, tlo, thi, big))
        if not split_t:
            return tl, tj, tlo, thi, sl, sj
        halves = big & (tl > 0)
        out = [(np.repeat(tl[halves] - 1, 2), (2 * tj[halves][:, None] + np.array([0, 1])).ravel(),
                np.zeros(2 * halves.sum(), dtype=np.int64), np.zeros(2 * halves.sum(), dtype=np.int64),
                np.repeat(sl[halves], 2), np.repeat(sj[halves], 2))]
        few = ~halves
        c = thi[few] - tlo[few]
        single = np.repeat(tlo[few], c) + (np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c))
        out.append((np.full(single.size, -1), np.zeros(single.size, dtype=np.int64), single, single + 1,
                    np.repeat(sl[few], c), np.repeat(sj[few], c)))
        return tuple(np.concatenate(parts) for parts in zip(*out))

    @staticmethod
    def _gather(sources, sl, sj) -> dict:
        """Source block data for pairs at mixed levels, nodes padded to two (zero weights)."""
        m = sj.size
        out = {"tot": np.zeros(m), "klo": np.zeros(m, dtype=np.int64), "khi": np.zeros(m, dtype=np.int64),
               "arange": np.zeros(m), "W": np.zeros((m, 2)), "a": np.zeros((m, 2)), "s": np.zeros((m, 2))}
        sched = sources.sched
        for l in np.unique(sl):
            rows = np.flatnonzero(sl == l)
            data = sources.level(int(l), sj[rows])
            for key in ("tot", "klo", "khi"):
                out[key][rows] = data[key]
            q = data["W"].shape[1]
            for key in ("W", "a", "s"):
                out[key][rows, :q] = data[key]
            inside = sj[rows] < sched.amax[l].size
            b = np.where(inside, sj[rows], 0)
            out["arange"][rows] = np.where(inside, sched.amax[l][b] - sched.amin[l][b], 0.0)
        return out

    def _build_direct(self, direct):
        """Direct terms grouped by how many each target has: (rows, W, a, u) with W, a, u of shape (count, rows)."""
        if direct:
            rows, W, a, u = (np.concatenate(parts) for parts in zip(*direct))
        else:
            rows, W, a, u = np.empty(0, np.int64), np.empty(0), np.empty(0), np.empty(0)
        order = np.argsort(rows, kind="stable")
        rows, W, a, u = rows[order], W[order], a[order], u[order]
        targets, starts, counts = np.unique(rows, return_index=True, return_counts=True)
        self.direct, order, offset = [], [], 0
        for width, sel in _buckets(counts):
            slot = np.arange(width)[:, None]
            index = starts[sel][None, :] + np.minimum(slot, counts[sel][None, :] - 1)  # (width, rows)
            pad = slot >= counts[sel][None, :]  # padding terms have zero weight
            self.direct.append((offset, *(v.astype(_STORE) for v in (np.where(pad, 0.0, W[index]), a[index],
                                                                     u[index]))))
            order.append(targets[sel])
            offset += int(sel.size)
        # the buckets' targets, in bucket order: as a gather when they are all the targets, else a scatter
        self.direct_rows = np.concatenate(order) if order else np.empty(0, np.int64)
        self.direct_gather = None
        if self.direct_rows.size == self.n:
            self.direct_gather = np.argsort(self.direct_rows)
        self.n_direct = rows.size

    def _build_far(self, far, targets, St, L):
        """Big target blocks (more than p observations), their Chebyshev points, the far terms on them, and the
        interpolation down the target tree."""
        p = self.p
        ids, lo_all, hi_all, first_all, count_all, level_all, block_all = {}, [], [], [], [], [], []
        offset = 0
        lowest = int(np.ceil(np.log2(p + 1)))  # no block of a lower level holds more than p targets
        for l in range(L, lowest - 1, -1):
            blocks, first, count = np.unique(targets >> l, return_index=True, return_counts=True)
            big = count > p
            if not big.any():
                break  # no lower level has a big block either
            blocks, first, count = blocks[big], first[big], count[big]
            ids[l] = (blocks, offset)
            offset += blocks.size
            lo_all.append(St[first])
            hi_all.append(St[first + count - 1])
            first_all.append(first)
            count_all.append(count)
            level_all.append(np.full(blocks.size, l))
            block_all.append(blocks)
        self.nbig = offset
        self.far, self.n_far = [], 0
        if offset == 0 or not far:
            self.nbig = 0
            return
        lo, hi = np.concatenate(lo_all), np.concatenate(hi_all)
        first, count = np.concatenate(first_all), np.concatenate(count_all)
        level, block = np.concatenate(level_all), np.concatenate(block_all)
        # far terms, sorted by their target block
        levels = np.concatenate([f[0] for f in far])
        tjs = np.concatenate([f[1] for f in far])
        bid = np.empty(tjs.size, dtype=np.int64)
        for l in np.unique(levels):
            sel = levels == l
            bid[sel] = ids[int(l)][1] + np.searchsorted(ids[int(l)][0], tjs[sel])
        W = np.concatenate([f[2] for f in far])
        a = np.concatenate([f[3] for f in far])
        s = np.concatenate([f[4] for f in far])
        # one term per Gauss node; blocks grouped by their number of terms, arrays (count, blocks, ·)
        q = W.shape[1]
        bid, W, a, s = np.repeat(bid, q), W.ravel(), a.ravel(), s.ravel()
        keep = W != 0
        bid, W, a, s = bid[keep], W[keep], a[keep], s[keep]
        order = np.argsort(bid, kind="stable")
        bid, W, a, s = bid[order], W[order], a[order], s[order]
        points = _points(lo, hi, p)
        blocks, starts, counts = np.unique(bid, return_index=True, return_counts=True)
        self.far = []
        for width, sel in _buckets(counts):
            slot = np.arange(width)[:, None]
            index = starts[sel][None, :] + np.minimum(slot, counts[sel][None, :] - 1)
            Wb = np.where(slot >= counts[sel][None, :], 0.0, W[index])
            u = np.maximum(points[blocks[sel]][None, :, :] - s[index][:, :, None], 0.0)
            self.far.append((blocks[sel], *(v.astype(_STORE) for v in (Wb[:, :, None], a[index][:, :, None],
                                                                         u))))
        self.n_far = int(W.size) * p
        # downward pass: each big block below the top takes its parent's expansion at its own points
        parent = np.full(offset, -1)
        for l in ids:
            if l + 1 in ids:
                blocks, start = ids[l]
                pblocks, pstart = ids[l + 1]
                parent[start : start + blocks.size] = pstart + np.searchsorted(pblocks, blocks >> 1)
        child = np.flatnonzero(parent >= 0)
        self.down = []  # per level (top to bottom): child ids, parent ids, matrices (m, p, p)
        for l in sorted(ids, reverse=True):
            blocks, start = ids[l]
            sel = child[(child >= start) & (child < start + blocks.size)]
            if sel.size:  # all blocks of the level below the top one: consecutive ids
                pts = _points(lo[sel], hi[sel], p).ravel()
                M = _interpolation(pts, np.repeat(lo[parent[sel]], p), np.repeat(hi[parent[sel]], p), p)
                self.down.append((slice(int(sel[0]), int(sel[-1]) + 1), parent[sel], M.reshape(sel.size, p, p)))
        # leaves: every target below a big block whose own block one level down is small (or that is at the
        # lowest big level) is interpolated from that big block
        leaf = np.full(self.n, -1)
        for l in sorted(ids):  # bottom up: the lowest big ancestor wins
            blocks, start = ids[l]
            below = leaf < 0
            anc = targets >> l
            pos = np.searchsorted(blocks, anc)
            found = below & (pos < blocks.size) & (blocks[np.minimum(pos, blocks.size - 1)] == anc)
            leaf[found] = start + pos[found]
        # targets sharing a leaf block are contiguous: interpolate them together, (blocks, slots, p) @ (blocks,
        # p, ·), in groups of blocks by number of targets (a full group needs no mask)
        has = np.flatnonzero(leaf >= 0)
        blocks, first, count = np.unique(leaf[has], return_index=True, return_counts=True)
        self.leaf = []
        for width, sel in _buckets(count, least=1, slack=1.0):
            b, f, c = blocks[sel], first[sel], count[sel]
            slot = np.arange(width)[None, :]
            rows = has[np.minimum(f[:, None] + slot, has.size - 1)]
            valid = slot < c[:, None]
            V = _interpolation(St[rows].ravel(), np.repeat(lo[b], width), np.repeat(hi[b], width), p)
            V = V.reshape(b.size, width, p) * valid[:, :, None]
            rows = rows[valid]
            if rows.size and rows[-1] - rows[0] + 1 == rows.size and np.all(np.diff(rows) == 1):
                rows = slice(int(rows[0]), int(rows[-1]) + 1)  # consecutive targets (dense ones)
            self.leaf.append((b, rows, None if valid.all() else valid, V))

    @property
    def nbytes(self) -> int:
        arrays = [m for d in self.direct for m in d[1:]] + [self.direct_rows] + [m for d in self.far for m in d]
        if self.nbig:
            arrays += [v for group in self.leaf for v in group if isinstance(v, np.ndarray)]
            arrays += [m for d in self.down for m in d[1:]]
        return int(sum(a.nbytes for a in arrays))

    # -- evaluation -----------------------------------------------------------------------------------
    def sums(self, C, beta, gamma, gradient: bool) -> np.ndarray:
        """(channels, S, n): the drop (channel 0) and the gradient sums, for S parameter sets (arrays (S,))."""
        C, beta, gamma = (np.asarray(v, dtype=float).reshape(-1, 1) for v in (C, beta, gamma))
        S = C.shape[0]
        ch = 4 if gradient else 1
        Cd, bd, gd = C[:, :, None], beta[:, :, None], gamma[:, :, None]  # (S, 1, 1) against (count, rows)
        found = np.empty((ch, S, self.direct_rows.size))
        for offset, W, a, u in self.direct:
            step = max(64, _BLOCK // (S * W.shape[0]))
            for i in range(0, W.shape[1], step):
                sums = kernel_sums(W[:, i : i + step], a[:, i : i + step], u[:, i : i + step], Cd, bd, gd,
                                   gradient, axis=1)
                for c, total in enumerate(sums):
                    found[c, :, offset + i : offset + i + total.shape[1]] = total
        if self.direct_gather is not None:
            out = np.take(found, self.direct_gather, axis=2)
        else:
            out = np.zeros((ch, S, self.n))
            out[:, :, self.direct_rows] = found
        if self.nbig:
            p = self.p
            E = np.zeros((ch, S, self.nbig, p))
            Cf, bf, gf = Cd[..., None], bd[..., None], gd[..., None]  # (S, 1, 1, 1) against (count, blocks, p)
            for blocks, W, a, u in self.far:
                step = max(16, _BLOCK // (S * W.shape[0] * p))
                for i in range(0, blocks.size, step):
                    sums = kernel_sums(W[:, i : i + step], a[:, i : i + step], u[:, i : i + step], Cf, bf, gf,
                                       gradient, axis=1)  # each (S, blocks, p)
                    b = blocks[i : i + step]
                    for c, total in enumerate(sums):
                        E[c][:, b] = total  # every block is in one bucket
            E = np.ascontiguousarray(E.reshape(ch * S, self.nbig, p).transpose(1, 2, 0))  # (blocks, p, ch·S)
            for child, parent, M in self.down:
                E[child] += M @ E[parent]
            flat = out.reshape(ch * S, self.n)
            for blocks, rows, valid, V in self.leaf:
                values = V @ E[blocks]  # (blocks, slots, ch·S)
                values = values.reshape(-1, ch * S) if valid is None else values[valid]
                flat[:, rows] += values.T
        return out


def exact_sums(lr, targets, C, beta, gamma, gradient: bool) -> np.ndarray:
    """The plain sum over every change point, in chunks of targets (bounded memory): (channels, S, n)."""
    targets = np.asarray(targets, dtype=np.int64)
    C, beta, gamma = (np.asarray(v, dtype=float).reshape(-1, 1) for v in (C, beta, gamma))
    S = C.shape[0]
    lr = np.asarray(lr, dtype=float)[: int(targets[-1]) + 1]
    Sum = np.cumsum(lr)
    change = np.zeros_like(lr)
    change[1:] = lr[1:] - lr[:-1]
    k = np.flatnonzero(change)
    W, a, s = change[k], np.log(np.maximum(lr[k], MIN_LR)), Sum[k - 1]
    out = np.zeros((4 if gradient else 1, S, targets.size))
    if k.size == 0:
        return out
    rows_per = max(1, _BLOCK // (S * k.size))
    for i in range(0, targets.size, rows_per):
        t = targets[i : i + rows_per]
        before = k[:, None] <= t[None, :]  # (changes, targets)
        u = np.where(before, Sum[t][None, :] - s[:, None], 0.0)
        sums = kernel_sums(np.where(before, W[:, None], 0.0), a[:, None], u, C[:, :, None], beta[:, :, None],
                           gamma[:, :, None], gradient, axis=1)
        for c, total in enumerate(sums):
            out[c, :, i : i + rows_per] = total
    return out

"""Which of several logs of one run supersede the others: Hugging Face trainer states of one output folder.

A ``trainer_state.json`` is written at every checkpoint (``checkpoint-<step>/``, the Hub's ``last-checkpoint/``)
and at the end of training (the output folder itself); each holds the whole ``log_history`` so far. A state
whose history is a **prefix** of another's (entry by entry, the same values) is an earlier snapshot of that run:
it is superseded, and listed in ``skipped``. Any other pair is two runs: both are kept, each named after its own
folder (``out/checkpoint-50``, ``out/checkpoint-200``), and the summary says so; two histories that begin alike
and then differ are flagged (a run resumed from a checkpoint of the other?).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .logs import ParseContext, frame_of

__all__ = ["supersede_states", "is_prefix"]

SUPERSEDED = "superseded trainer states"


def is_prefix(a: tuple, b: tuple) -> bool:
    """Whether history ``a`` is the beginning of history ``b`` (or the same)."""
    return len(a) <= len(b) and b[: len(a)] == a


def _common(a: tuple, b: tuple) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def supersede_states(parts: list, blocks: list, ctx: ParseContext) -> tuple[list, list]:
    """Drop the parts whose lineage is a prefix of another part's of the same run; rename the runs of parts
    that are not (see the module docstring). ``parts`` are ``(table, frame, chosen, item)``; ``blocks`` each
    part's ``(starts, names)``."""
    groups: dict[str, list[int]] = {}
    for k, (table, _, _, _) in enumerate(parts):
        if table.lineage is not None and len(blocks[k][1]) == 1:
            groups.setdefault(blocks[k][1][0], []).append(k)
    drop: set[int] = set()
    for run, ks in groups.items():
        if len(ks) < 2:
            continue
        # the output folder's own state first, then the checkpoints by path: of identical states the first stays
        ks = sorted(ks, key=lambda k: (Path(parts[k][0].path).parent.name.startswith(("checkpoint-", "last-")),
                                       parts[k][0].path))
        for i, k in enumerate(ks):
            mine = parts[k][0].lineage
            for j in ks:
                if j == k or j in drop:
                    continue
                theirs = parts[j][0].lineage
                if is_prefix(mine, theirs) and (len(mine) < len(theirs) or ks.index(j) < i):
                    drop.add(k)
                    ctx.skip(parts[k][0].path, SUPERSEDED,
                             f"{parts[k][0].path}: its log_history ({len(mine)} entries) is the beginning of "
                             f"{parts[j][0].path}'s ({len(theirs)})")
                    break
        kept = [k for k in ks if k not in drop]
        if len(kept) > 1:
            names = {}
            for k in kept:
                folder = Path(parts[k][0].path).parent
                names[k] = run if folder == Path(parts[kept[0]][0].path).parent and not \
                    folder.name.startswith(("checkpoint-", "last-")) else f"{run}/{folder.name}"
            if len(set(names.values())) < len(kept):
                names = {k: f"{run}/{Path(parts[k][0].path).parent.name}" for k in kept}
            ctx.notes.append(f"{run}: {len(kept)} trainer states are different runs (no history is the beginning "
                             f"of another's), named {', '.join(names[k] for k in kept)}")
            for k in kept:
                _rename(parts, blocks, k, run, names[k])
            for a in kept:
                for b in kept:
                    if a < b:
                        same = _common(parts[a][0].lineage, parts[b][0].lineage)
                        if same:
                            text = (f"its first {same} log entries are those of the other state "
                                    "(resumed from a checkpoint of it?)")
                            ctx.flag(names[a], f"{text}: {names[b]}")
                            ctx.flag(names[b], f"{text}: {names[a]}")
    keep = [k for k in range(len(parts)) if k not in drop]
    return [parts[k] for k in keep], [blocks[k] for k in keep]


def _rename(parts: list, blocks: list, k: int, old: str, new: str) -> None:
    if new == old:
        return
    table, frame, chosen, item = parts[k]
    frame = frame_of(frame).assign(run=new)
    if old in table.meta:
        table.meta[new] = table.meta.pop(old)
    parts[k] = (table, frame, chosen, item)
    blocks[k] = (np.asarray(blocks[k][0]), [new])

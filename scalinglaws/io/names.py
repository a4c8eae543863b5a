"""Which logged metric is the training loss, the evaluation loss, the learning rate, the token count.

Training tools name the same quantity many ways (``loss``, ``train/loss``, ``train_loss_step``, ``lm loss``,
``lr-AdamW``, ``num_input_tokens_seen`` ...). :func:`choose_keys` picks, for each role of the curves table, the
best-matching metric name by the rules below; a user's explicit choice (``keys={"loss": "my/metric"}``) wins.

========== ====================================================================================================
role       matched names (after lower-casing and turning ``/ . - space`` into ``_``)
========== ====================================================================================================
step       ``step``, ``global_step``, ``trainer_global_step``, ``train_global_step``, ``iteration``, ``iter``,
           ``_step``
loss       ``loss``, ``train_loss``, ``training_loss``, ``lm_loss``, ``train_lm_loss``, ``train_loss_step``,
           ``loss_train``, then any other name with ``loss``, ``nll`` or ``ce`` and a training word
eval_loss  names with ``loss``/``nll``/``ce`` and ``val``, ``valid``, ``validation``, ``eval``, ``evaluation``,
           ``dev``, ``heldout`` or ``test`` (``val_loss``, ``eval/loss``, ``validation/lm_loss`` ...)
lr         ``lr``, ``learning_rate``, ``train_lr``, ``lr_adamw`` (Lightning's ``lr-AdamW``), ``lr_<optimizer>``,
           ``optim_lr``
tokens     ``tokens``, ``num_tokens``, ``n_tokens``, ``tokens_seen``, ``consumed_tokens``, ``train_tokens``,
           ``num_input_tokens_seen``, ``total_tokens``
========== ====================================================================================================

Never a loss: names with ``scale`` (``loss_scale``), ``aux``, ``z_loss``, ``router``, ``ppl``, ``perplexity``,
``acc``, ``_epoch`` aggregates when a per-step name exists, and the ``__MIN``/``__MAX`` envelopes of W&B exports.
Names that say **bits** (``bpb``, ``bpc``, ``bits``) are accepted but flagged: their unit is not nats/token.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from ..schema import COLUMNS, METRIC_ROLES, normalize

__all__ = ["ROLES", "normalize", "choose_keys", "is_bits", "step_key", "rivals"]

#: Roles of a curves table that a logged metric can fill, besides the step (the vocabulary's).
ROLES = METRIC_ROLES

# exact spellings come from the one vocabulary (scalinglaws.schema.COLUMNS); the rules below add what only logs need
_STEP = COLUMNS["step"].aliases
_LOSS_EXACT = COLUMNS["train_loss"].aliases
_LR_EXACT = COLUMNS["lr"].aliases
_TOKENS_EXACT = COLUMNS["tokens"].aliases
_EVAL_WORDS = ("val", "valid", "validation", "eval", "evaluation", "dev", "heldout", "test")
_TRAIN_WORDS = ("train", "training", "lm", "trn")
_LOSS_WORDS = ("loss", "nll", "ce", "xent", "cross_entropy")
_NEVER = ("scale", "aux", "z_loss", "router", "ppl", "perplexity", "acc", "grad", "norm", "__min", "__max",
          "runtime", "per_second", "time", "count", "num_zeros", "weight")
_BITS = ("bpb", "bpc", "bits", "bits_per_byte", "bits_per_char")


def _words(norm: str) -> set[str]:
    return {w for w in norm.split("_") if w}


def is_bits(name) -> bool:
    """True when a metric's name says it is in bits (bits per byte/char/token), not nats."""
    norm = normalize(name)
    return any(b in _words(norm) or norm.endswith(b) for b in _BITS)


def _score(role: str, name) -> int:
    """How well ``name`` fits ``role``: 0 = not at all; higher is better."""
    norm = normalize(name)
    words = _words(norm)
    lossy = bool(words & set(_LOSS_WORDS)) or any(norm.endswith(w) for w in ("loss", "nll")) or is_bits(name)
    if role == "step":
        return 10 - _STEP.index(norm) if norm in _STEP else 0
    if role == "lr":
        if norm in _LR_EXACT:
            return 20 - _LR_EXACT.index(norm)
        return 5 if re.fullmatch(r"(lr|learning_rate)(_\w+)?", norm) and "scale" not in norm else 0
    if role == "tokens":
        if norm in _TOKENS_EXACT:
            return 20 - _TOKENS_EXACT.index(norm)
        return 3 if "tokens" in words and not words & {"per", "second", "sec", "throughput", "tps"} else 0
    if any(bad in norm for bad in _NEVER) or not lossy:
        return 0
    evaluation = bool(words & set(_EVAL_WORDS))
    if role == "eval_loss":
        if not evaluation:
            return 0
        return 10 - (3 if norm.endswith("_epoch") else 0) - (1 if words & {"test"} else 0)
    if evaluation:
        return 0
    if norm in _LOSS_EXACT:
        return 30 - _LOSS_EXACT.index(norm)
    epoch = norm.endswith("_epoch")
    return (8 if words & set(_TRAIN_WORDS) else 5) - (4 if epoch else 0)


def choose_keys(names: Iterable, given: Mapping[str, str] | None = None,
                roles: Iterable[str] = ROLES) -> dict[str, str]:
    """Pick the metric name for each role from ``names`` (best score wins; ties go to the first name).

    ``given`` maps roles to names chosen by the user or by a format's own knowledge; they are taken as they are.
    A name fills at most one role.

    >>> choose_keys(["epoch", "step", "train_loss_step", "train_loss_epoch", "val_loss", "lr-AdamW"])
    {'loss': 'train_loss_step', 'eval_loss': 'val_loss', 'lr': 'lr-AdamW'}
    >>> choose_keys(["train/loss", "eval/loss", "train/learning_rate", "train/num_input_tokens_seen"])
    {'loss': 'train/loss', 'eval_loss': 'eval/loss', 'lr': 'train/learning_rate', 'tokens': 'train/num_input_tokens_seen'}
    """
    names = list(dict.fromkeys(names))
    chosen = {role: name for role, name in (given or {}).items() if name is not None}
    taken = set(chosen.values())
    for role in roles:
        if role in chosen:
            continue
        best, best_score = None, 0
        for name in names:
            if name in taken:
                continue
            score = _score(role, name)
            if score > best_score:
                best, best_score = name, score
        if best is not None:
            chosen[role] = best
            taken.add(best)
    return {role: chosen[role] for role in (*ROLES, "step") if role in chosen}


def rivals(role: str, chosen: str, names: Iterable) -> list[str]:
    """Other names that fit ``role`` exactly as well as the ``chosen`` one (several eval sets: the choice was a
    guess, and is said)."""
    score = _score(role, chosen)
    return [n for n in dict.fromkeys(names) if n != chosen and score > 0 and _score(role, n) == score]


def step_key(names: Iterable) -> str | None:
    """The column that holds the optimizer step, if any (``global_step`` before W&B's own ``_step``)."""
    best, best_score = None, 0
    for name in names:
        score = _score("step", name)
        if score > best_score:
            best, best_score = name, score
    return best

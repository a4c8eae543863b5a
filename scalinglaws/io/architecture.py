"""Parameter counts of transformer language models from their Hugging Face ``config.json``.

:func:`count_parameters` returns three numbers (all exact for the supported architectures; the tests check
them against the models instantiated in torch):

* ``embedding``: the token embedding, learned position embeddings, and the output projection (``lm_head`` /
  ``embed_out``), the last counted once when it is tied to the input embedding;
* ``non_embedding``: everything else (attention, MLP, norms, biases) — Kaplan et al.'s *N*, and the default
  ``N`` that ingesting a run with a ``config.json`` fills in;
* ``total``: the sum, what Hoffmann et al. (Chinchilla) count as *N*.

Supported ``model_type`` values: ``gpt2``; the Llama family ``llama``, ``mistral``, ``qwen2``, ``qwen3`` (gated
MLP, RMSNorm, grouped-query attention, optional biases and per-head q/k norms); ``gpt_neox`` (Pythia).
Mixture-of-experts models are not counted (their active and total counts differ): give N yourself.
"""

from __future__ import annotations

from typing import Mapping

from ..exceptions import InputError

__all__ = ["count_parameters", "SUPPORTED_ARCHITECTURES"]

SUPPORTED_ARCHITECTURES = ("gpt2", "llama", "mistral", "qwen2", "qwen3", "gpt_neox")


def _gpt2(c: Mapping) -> tuple[int, int]:
    d, layers, vocab = int(c["n_embd"]), int(c["n_layer"]), int(c["vocab_size"])
    ff = int(c.get("n_inner") or 4 * d)
    block = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * ff + ff) + (ff * d + d)
    body = layers * block + 2 * d  # final layer norm
    embedding = vocab * d + int(c["n_positions"]) * d
    if c.get("tie_word_embeddings") is False:
        embedding += vocab * d
    return body, embedding


def _llama_like(c: Mapping) -> tuple[int, int]:
    kind = c["model_type"]
    d, layers, vocab = int(c["hidden_size"]), int(c["num_hidden_layers"]), int(c["vocab_size"])
    ff = int(c["intermediate_size"])
    heads = int(c["num_attention_heads"])
    kv = int(c.get("num_key_value_heads") or heads)
    head_dim = int(c.get("head_dim") or d // heads)
    q, k = heads * head_dim, kv * head_dim
    attention = d * q + 2 * d * k + q * d
    if kind == "qwen2":
        attention += q + 2 * k  # q, k, v carry biases; o does not
    elif c.get("attention_bias"):
        attention += q + 2 * k + d
    if kind == "qwen3":
        attention += 2 * head_dim  # RMSNorm on each head's queries and keys
    mlp = 3 * d * ff + ((2 * ff + d) if c.get("mlp_bias") else 0)
    body = layers * (attention + mlp + 2 * d) + d
    embedding = vocab * d * (1 if c.get("tie_word_embeddings") else 2)  # untied unless the config says so
    return body, embedding


def _gpt_neox(c: Mapping) -> tuple[int, int]:
    d, layers, vocab = int(c["hidden_size"]), int(c["num_hidden_layers"]), int(c["vocab_size"])
    ff = int(c.get("intermediate_size") or 4 * d)
    bias = bool(c.get("attention_bias", True))
    attention = d * 3 * d + d * d + ((3 * d + d) if bias else 0)
    block = 4 * d + attention + (d * ff + ff) + (ff * d + d)
    body = layers * block + 2 * d
    embedding = vocab * d * (1 if c.get("tie_word_embeddings") else 2)
    return body, embedding


_COUNTERS = {"gpt2": _gpt2, "llama": _llama_like, "mistral": _llama_like, "qwen2": _llama_like,
             "qwen3": _llama_like, "gpt_neox": _gpt_neox}


def count_parameters(config: Mapping, path=None) -> dict[str, int]:
    """``{"non_embedding": ..., "embedding": ..., "total": ...}`` of the model a ``config.json`` describes.

    Raises :class:`~scalinglaws.exceptions.InputError` (naming ``path``) for an architecture it cannot count
    or a config missing a size field.

    >>> count_parameters({"model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_embd": 768,
    ...                   "n_layer": 12, "n_head": 12})
    {'non_embedding': 85056000, 'embedding': 39383808, 'total': 124439808}
    """
    kind = config.get("model_type")
    counter = _COUNTERS.get(kind)
    if counter is None:
        raise InputError(f"cannot count the parameters of a {kind!r} model", path=path,
                         hint=f"counted architectures: {', '.join(SUPPORTED_ARCHITECTURES)}; give N in runs.csv")
    try:
        body, embedding = counter(config)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"the {kind} config lacks a usable size field ({err})", path=path,
                         hint="give N in runs.csv") from None
    return {"non_embedding": int(body), "embedding": int(embedding), "total": int(body + embedding)}

"""A small Transformer report decoder: image tokens in, report tokens out.

:class:`ReportDecoder` is the language-model half of an image-to-report model at toy scale. It reads a
sequence of *image tokens* (any visual encoder or connector output, shape ``(B, M, memory_dim)``) through
cross-attention and writes the report one word at a time:

- **teacher forcing** (:meth:`ReportDecoder.loss`): the report ``[BOS] w_1 … w_T [EOS]`` is fed shifted by one,
  a causal mask stops position ``t`` from seeing ``t+1…``, and the loss is the cross-entropy of each next word;
- **greedy decoding** (:meth:`ReportDecoder.greedy`): start from ``[BOS]``, append the arg-max word, stop at
  ``[EOS]`` or ``max_len``.

It stands in for the billion-parameter language models of report-generation papers (Libra's Meditron-7B,
R2Gen's memory-driven decoder) in smoke runs: trained from scratch, a few hundred thousand parameters.
Token ids follow :class:`medrepro.nn.text.WordTokenizer` (``0`` is padding); :func:`add_bos_eos` wraps encoded
reports with begin and end ids.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def causal_mask(n: int, device: torch.device | str | None = None) -> torch.Tensor:
    """``(n, n)`` boolean mask, ``True`` above the diagonal: position ``t`` may not attend to ``t+1…``."""
    return torch.triu(torch.ones(n, n, dtype=torch.bool, device=device), diagonal=1)


def add_bos_eos(ids: torch.Tensor, bos: int, eos: int, pad: int = 0) -> torch.Tensor:
    """``(B, L)`` padded ids → ``(B, L + 2)``: ``[BOS] ids… [EOS]`` then padding."""
    B, L = ids.shape
    lengths = (ids != pad).sum(1)
    out = torch.full((B, L + 2), pad, dtype=ids.dtype, device=ids.device)
    out[:, 0] = bos
    out[:, 1:L + 1] = ids
    out[torch.arange(B, device=ids.device), lengths + 1] = eos
    return out


class ReportDecoder(nn.Module):
    """A pre-norm Transformer decoder (self-attention, cross-attention to image tokens, MLP) with a word head.

    Args:
        vocab_size: number of token ids (including padding, ``[BOS]`` and ``[EOS]``).
        memory_dim: width of the image tokens; projected to ``dim`` when different.
        dim, heads, layers: width, attention heads and blocks of the decoder.
        max_len: the longest sequence (with ``[BOS]``/``[EOS]``) the learned positions cover.
        dropout: dropout in the blocks (0 for the deterministic smoke runs).
        pad: the padding id, ignored by the loss.
    """

    def __init__(self, vocab_size: int, memory_dim: int, *, dim: int = 64, heads: int = 4, layers: int = 2,
                 max_len: int = 64, dropout: float = 0.0, pad: int = 0) -> None:
        super().__init__()
        self.pad, self.max_len = pad, max_len
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=pad)
        self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        self.memory_proj = nn.Sequential(nn.Identity() if memory_dim == dim else nn.Linear(memory_dim, dim),
                                         nn.LayerNorm(dim))   # image tokens of any scale enter at unit scale
        block = nn.TransformerDecoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerDecoder(block, layers)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size)

    def forward(self, ids: torch.Tensor, memory: torch.Tensor,
                memory_padding: torch.Tensor | None = None) -> torch.Tensor:
        """Next-word logits ``(B, L, vocab)`` for input ids ``(B, L)`` given image tokens ``(B, M, memory_dim)``.

        Position ``t``'s logits depend on ``ids[:, :t+1]`` and the memory only (causal mask).
        ``memory_padding`` ``(B, M)`` is ``True`` where an image token is padding.
        """
        L = ids.shape[1]
        if L > self.max_len:
            raise ValueError(f"sequence of {L} tokens is longer than max_len={self.max_len}")
        x = self.embed(ids) + self.pos[:L]
        h = self.blocks(x, self.memory_proj(memory), tgt_mask=causal_mask(L, ids.device),
                        tgt_key_padding_mask=ids == self.pad, memory_key_padding_mask=memory_padding,
                        )
        return self.head(self.norm(h))

    def loss(self, targets: torch.Tensor, memory: torch.Tensor,
             memory_padding: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced cross-entropy of ``targets`` ``(B, L)`` = ``[BOS] w… [EOS] pad…`` (mean over words)."""
        logits = self(targets[:, :-1], memory, memory_padding)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[:, 1:].reshape(-1),
                               ignore_index=self.pad)

    @torch.no_grad()
    def greedy(self, memory: torch.Tensor, bos: int, eos: int, max_len: int | None = None,
               memory_padding: torch.Tensor | None = None) -> torch.Tensor:
        """Greedy decoding: ``(B, T)`` ids after ``[BOS]``, up to and without ``[EOS]``, padded with ``pad``."""
        max_len = min(max_len or self.max_len, self.max_len)
        B = memory.shape[0]
        seq = torch.full((B, 1), bos, dtype=torch.long, device=memory.device)
        done = torch.zeros(B, dtype=torch.bool, device=memory.device)
        for _ in range(max_len - 1):
            nxt = self(seq, memory, memory_padding)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, self.pad), nxt)
            seq = torch.cat([seq, nxt[:, None]], 1)
            done |= nxt == eos
            if bool(done.all()):
                break
        out = seq[:, 1:]
        return torch.where(out == eos, torch.full_like(out, self.pad), out)

"""A word tokenizer and two tiny text encoders trained from scratch (no downloads).

``WordTokenizer.fit(texts)`` builds a vocabulary from a corpus; ``encode(texts)`` gives padded id and mask
tensors. ``BagOfWordsEncoder`` averages word embeddings (fast, ignores order and negation scope);
``ConvTextEncoder`` convolves over neighbouring words (n-grams: "no st elevation" differs from "st elevation")
at little more cost; ``TinyTextTransformer`` adds positions and self-attention.
Both map (ids, mask) → (B, dim). They stand in for pretrained clinical language models in smoke runs.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import nn

_TOKEN = re.compile(r"[a-z0-9äöüß]+(?:['’-][a-z0-9äöüß]+)*|[^\sa-z0-9]", re.IGNORECASE)
PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"


class WordTokenizer:
    """Lower-case word tokenizer with a corpus vocabulary; rare words map to ``[UNK]``.

    Punctuation marks are tokens of their own; ids 0, 1, 2 are ``[PAD]``, ``[UNK]``, ``[CLS]``.
    """

    def __init__(self, vocab: Sequence[str] | None = None, keep_punctuation: bool = False) -> None:
        self.keep_punctuation = keep_punctuation
        self.itos: list[str] = [PAD, UNK, CLS] + [w for w in (vocab or []) if w not in (PAD, UNK, CLS)]
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def split(self, text: str) -> list[str]:
        """Lower-case tokens of ``text``."""
        toks = _TOKEN.findall(text.lower())
        return toks if self.keep_punctuation else [t for t in toks if t[0].isalnum()]

    @classmethod
    def fit(cls, texts: Iterable[str], min_freq: int = 2, max_size: int | None = None,
            keep_punctuation: bool = False) -> "WordTokenizer":
        """Build the vocabulary of ``texts``: words seen at least ``min_freq`` times, most frequent first."""
        tok = cls(keep_punctuation=keep_punctuation)
        counts = Counter(w for t in texts for w in tok.split(t))
        words = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_freq]
        return cls(words[:max_size] if max_size else words, keep_punctuation=keep_punctuation)

    def encode(self, texts: Sequence[str], max_len: int = 48, cls_token: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, max_len) and a boolean mask of real tokens; long texts are truncated."""
        unk = self.stoi[UNK]
        rows = []
        for t in texts:
            ids = [self.stoi.get(w, unk) for w in self.split(t)]
            if cls_token:
                ids = [self.stoi[CLS]] + ids
            rows.append(ids[:max_len] or [unk])
        out = torch.zeros(len(rows), max_len, dtype=torch.long)
        for i, ids in enumerate(rows):
            out[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out, out != 0

    def coverage(self, texts: Sequence[str]) -> float:
        """Share of the words of ``texts`` that are in the vocabulary."""
        words = [w for t in texts for w in self.split(t)]
        return sum(w in self.stoi for w in words) / max(1, len(words))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"vocab": self.itos[3:], "keep_punctuation": self.keep_punctuation}))

    @classmethod
    def load(cls, path: str | Path) -> "WordTokenizer":
        raw = json.loads(Path(path).read_text())
        return cls(raw["vocab"], keep_punctuation=raw.get("keep_punctuation", False))


class BagOfWordsEncoder(nn.Module):
    """Mean of word embeddings over the real tokens, then a small MLP: (ids, mask) → (B, out_dim)."""

    def __init__(self, vocab_size: int, dim: int = 64, out_dim: int | None = None) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, out_dim or dim))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(-1).float()
        pooled = (self.embed(ids) * m).sum(1) / m.sum(1).clamp_min(1.0)
        return self.mlp(pooled)


class ConvTextEncoder(nn.Module):
    """Word embeddings, two 1-D convolutions over neighbouring words (n-grams such as "no st elevation"),
    then masked mean and max pooling: (ids, mask) → (B, out_dim). Almost as cheap as a bag of words."""

    def __init__(self, vocab_size: int, dim: int = 64, out_dim: int | None = None, kernel: int = 3) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.conv1 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.conv2 = nn.Conv1d(dim, dim, kernel, padding=kernel // 2)
        self.act = nn.GELU()
        self.head = nn.Linear(2 * dim, out_dim or dim)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(1).float()  # (B, 1, L)
        x = self.embed(ids).transpose(1, 2) * m  # (B, dim, L)
        x = x + self.act(self.conv1(x)) * m
        x = x + self.act(self.conv2(x)) * m
        mean = x.sum(-1) / m.sum(-1).clamp_min(1.0)
        mx = x.masked_fill(m == 0, -1e4).amax(-1)
        return self.head(torch.cat([mean, mx], dim=-1))


class TinyTextTransformer(nn.Module):
    """Word embeddings + learned positions + a few transformer encoder layers, mean-pooled over real tokens."""

    def __init__(self, vocab_size: int, dim: int = 64, heads: int = 4, layers: int = 1, max_len: int = 64,
                 out_dim: int | None = None, dropout: float = 0.1) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, max_len, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=dropout, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, out_dim or dim)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        x = self.encoder(x, src_key_padding_mask=~mask)
        m = mask.unsqueeze(-1).float()
        pooled = (self.norm(x) * m).sum(1) / m.sum(1).clamp_min(1.0)
        return self.head(pooled)

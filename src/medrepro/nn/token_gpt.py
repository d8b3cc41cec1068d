"""A small decoder-only transformer (GPT) over one sequence of mixed tokens, with cached greedy decoding.

Unified vision-language generators (ViewXGen/UniXGen, LLM-CXR, DALL-E) put report words, special tokens and
VQ image tokens into *one* vocabulary and *one* sequence, and train a causal transformer to predict each next
token: :math:`\\mathcal{L} = -\\sum_t m_t \\log p_\\theta(s_t \\mid s_{<t})`, where the mask :math:`m_t` selects
the positions that are scored (e.g. only the target image's tokens). :class:`TokenGPT` is that transformer at
toy scale (pre-norm blocks, learned positions, a causal mask, as :func:`medrepro.nn.report_decoder.causal_mask` draws it).

:meth:`TokenGPT.greedy` appends the arg-max token ``n_new`` times, restricted to an allowed id range (image
tokens only), caching each layer's keys and values so a step costs one position, not the whole prefix;
:meth:`TokenGPT.greedy_naive` recomputes the full prefix at each step (the reference the cache is checked against);
:meth:`TokenGPT.sample` draws from the nucleus of each step's distribution instead (the same cached loop).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F



class _Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp: int) -> None:
        super().__init__()
        self.heads = heads
        self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor, cache: list | None = None, causal: bool = False) -> torch.Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(self.n1(x)).view(B, L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        if cache is not None:                      # incremental decoding: keys/values of earlier positions
            if cache:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[:] = [k, v]
        # causal: position t attends to positions <= t (the mask of causal_mask, applied by the fused kernel)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        x = x + self.proj(att.transpose(1, 2).reshape(B, L, D))
        return x + self.mlp(self.n2(x))


class TokenGPT(nn.Module):
    """Causal transformer over token ids ``(B, L)`` → next-token logits ``(B, L, vocab)``.

    Positions are learned; by default position ``t`` uses embedding ``t``. ``pos`` ``(L,)`` may map positions to
    embeddings instead (e.g. the same row/column embedding for the tokens of two images, the axial positions of
    UniXGen), and ``seg`` ``(L,)`` adds a learned segment embedding (which image or text part a token is in).

    Args:
        vocab_size: number of ids (text words, special tokens and image codes together).
        dim, heads, layers: width, attention heads and blocks.
        max_len: number of position embeddings (the longest sequence when ``pos`` is not given).
        segments: number of segment embeddings (0: none).
        embed_std: if given, the token and segment embeddings start at N(0, embed_std²) — GPT-2 uses 0.02, the
            scale of the position embeddings here. ``None`` keeps PyTorch's N(0, 1), under which a token's identity
            is ~50 times stronger than its position (viewxgen needed the positions to find the other film's token
            at the same place). Drawn after every other weight, so the rest of the model is the same either way.
    """

    def __init__(self, vocab_size: int, *, dim: int = 64, heads: int = 4, layers: int = 2, max_len: int = 160,
                 segments: int = 0, embed_std: float | None = None) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim ({dim}) must be a multiple of heads ({heads})")
        self.max_len = max_len
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        self.seg = nn.Embedding(segments, dim) if segments else None
        self.blocks = nn.ModuleList([_Block(dim, heads, 2 * dim) for _ in range(layers)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab_size)
        if embed_std is not None:
            nn.init.normal_(self.embed.weight, std=embed_std)
            if self.seg is not None:
                nn.init.normal_(self.seg.weight, std=embed_std)

    def _embed(self, ids: torch.Tensor, start: int, pos: torch.Tensor | None, seg: torch.Tensor | None) -> torch.Tensor:
        L = ids.shape[1]
        if pos is None and start + L > self.max_len:
            raise ValueError(f"sequence of {start + L} tokens is longer than max_len={self.max_len}")
        p = self.pos[start:start + L] if pos is None else self.pos[pos[start:start + L]]
        x = self.embed(ids) + p
        if self.seg is not None:
            if seg is None:
                raise ValueError("this model has segment embeddings: pass seg")
            x = x + self.seg(seg[start:start + L])
        return x

    def forward(self, ids: torch.Tensor, pos: torch.Tensor | None = None, seg: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, L, vocab)``; position ``t`` sees ``ids[:, :t+1]`` only."""
        L = ids.shape[1]
        x = self._embed(ids, 0, pos, seg)
        for b in self.blocks:
            x = b(x, causal=True)
        return self.head(self.norm(x))

    def loss(self, ids: torch.Tensor, score: torch.Tensor, pos: torch.Tensor | None = None,
             seg: torch.Tensor | None = None) -> torch.Tensor:
        """Mean next-token cross-entropy over the positions ``score`` ``(B, L)`` marks (``score[:, 0]`` is unused:
        the first token has no prediction)."""
        logits = self(ids[:, :-1], pos, seg)
        ce = F.cross_entropy(logits.transpose(1, 2), ids[:, 1:], reduction="none")
        m = score[:, 1:].float()
        return (ce * m).sum() / m.sum().clamp_min(1)

    @property
    def vocab_size(self) -> int:
        return self.embed.num_embeddings

    @torch.no_grad()
    def extend_vocab(self, n_new: int) -> "TokenGPT":
        """Append ``n_new`` ids after the current vocabulary, in place, keeping every trained weight; returns self.

        This is how LLM-CXR gives a text-pretrained language model its image tokens (Hugging Face's
        ``resize_token_embeddings``): the embedding table and the output layer grow by ``n_new`` rows, drawn as a
        freshly built layer draws them (embedding rows N(0, 1), output rows and biases uniform in
        ±1/sqrt(dim), PyTorch's defaults, from the global RNG); the old rows are copied unchanged, so for inputs of
        old ids the logits of the old ids are exactly those of the model before the extension.
        """
        if n_new < 1:
            raise ValueError(f"n_new must be at least 1, got {n_new}")
        old_e, old_h = self.embed, self.head
        V, D = old_e.weight.shape
        e = nn.Embedding(V + n_new, D).to(old_e.weight)
        h = nn.Linear(D, V + n_new).to(old_h.weight)
        e.weight[:V] = old_e.weight
        h.weight[:V] = old_h.weight
        h.bias[:V] = old_h.bias
        self.embed, self.head = e, h
        return self

    def _restrict(self, logits: torch.Tensor, allowed: tuple[int, int] | None) -> torch.Tensor:
        if allowed is None:
            return logits
        lo, hi = allowed
        out = torch.full_like(logits, float("-inf"))
        out[..., lo:hi] = logits[..., lo:hi]
        return out

    @torch.no_grad()
    def greedy(self, prefix: torch.Tensor, n_new: int, allowed: tuple[int, int] | None = None,
               pos: torch.Tensor | None = None, seg: torch.Tensor | None = None) -> torch.Tensor:
        """Append ``n_new`` arg-max tokens to ``prefix`` ``(B, P)``; ids limited to ``[lo, hi)`` when ``allowed``.

        ``pos``/``seg`` cover the whole final sequence (``P + n_new`` entries). Returns the new tokens
        ``(B, n_new)``. Keys and values are cached per layer (one position per step).
        """
        return self._decode(prefix, n_new, allowed, pos, seg, lambda logits: logits.argmax(-1))

    @torch.no_grad()
    def sample(self, prefix: torch.Tensor, n_new: int, allowed: tuple[int, int] | None = None,
               pos: torch.Tensor | None = None, seg: torch.Tensor | None = None, *, top_p: float = 1.0,
               temperature: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
        """:meth:`greedy` with nucleus sampling instead of the arg-max (Holtzman et al. 2020).

        At each step the allowed ids' probabilities :math:`\\mathrm{softmax}(z / T)` are sorted, the smallest set
        whose mass reaches ``top_p`` is kept (always at least the most likely id), renormalised, and one id is
        drawn with ``generator`` (CPU generators only on a CPU model). ``top_p=1`` samples the full distribution.
        """
        if not 0 < top_p <= 1 or temperature <= 0:
            raise ValueError(f"need 0 < top_p <= 1 and temperature > 0, got {top_p} and {temperature}")

        def pick(logits: torch.Tensor) -> torch.Tensor:
            prob = torch.softmax(logits / temperature, -1)
            p_sorted, order = prob.sort(-1, descending=True)
            keep = (p_sorted.cumsum(-1) - p_sorted) < top_p            # mass before this id is below top_p
            p_sorted = p_sorted * keep
            choice = torch.multinomial(p_sorted / p_sorted.sum(-1, keepdim=True), 1, generator=generator)
            return order.gather(-1, choice)[:, 0]

        return self._decode(prefix, n_new, allowed, pos, seg, pick)

    def _decode(self, prefix, n_new, allowed, pos, seg, pick) -> torch.Tensor:
        """The cached decoding loop behind :meth:`greedy` and :meth:`sample`; ``pick`` maps logits to ids."""
        caches: list[list] = [[] for _ in self.blocks]
        x = self._embed(prefix, 0, pos, seg)
        for b, c in zip(self.blocks, caches):
            x = b(x, cache=c, causal=True)
        out = []
        t_pos = prefix.shape[1]
        for t in range(n_new):
            nxt = pick(self._restrict(self.head(self.norm(x[:, -1])), allowed))
            out.append(nxt)
            if t == n_new - 1:
                break
            x = self._embed(nxt[:, None], t_pos, pos, seg)
            for b, c in zip(self.blocks, caches):
                x = b(x, cache=c)                  # one new query attends to all cached keys: no mask needed
            t_pos += 1
        return torch.stack(out, 1)

    @torch.no_grad()
    def greedy_naive(self, prefix: torch.Tensor, n_new: int, allowed: tuple[int, int] | None = None,
                     pos: torch.Tensor | None = None, seg: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`greedy` without a cache: the whole sequence is recomputed at every step (reference)."""
        seq = prefix
        for _ in range(n_new):
            L = seq.shape[1]
            nxt = self._restrict(self(seq, None if pos is None else pos[:L], None if seg is None else seg[:L])[:, -1],
                                 allowed).argmax(-1)
            seq = torch.cat([seq, nxt[:, None]], 1)
        return seq[:, prefix.shape[1]:]

"""Word tokenizer, tiny text encoders and the 1-D ResNet: shapes, masking, round trips."""
from __future__ import annotations

import torch

from medrepro.nn.resnet1d import AttentionPool1d, ResNet1d, resnet1d18
from medrepro.nn.text import BagOfWordsEncoder, ConvTextEncoder, TinyTextTransformer, WordTokenizer

CORPUS = ["sinus rhythm; normal ecg", "atrial fibrillation. no st elevation", "sinus rhythm, st elevation",
          "sinus bradycardia; rate 52", "normal ecg"]


def test_tokenizer_vocabulary_and_encoding(tmp_path):
    tok = WordTokenizer.fit(CORPUS, min_freq=2)
    assert tok.itos[:3] == ["[PAD]", "[UNK]", "[CLS]"]
    assert {"sinus", "rhythm", "normal", "ecg", "st", "elevation"} <= set(tok.stoi)
    assert "fibrillation" not in tok.stoi  # seen once
    ids, mask = tok.encode(["Sinus rhythm; atrial fibrillation!", ""], max_len=6)
    assert ids.shape == (2, 6) and mask.dtype == torch.bool
    assert ids[0, 0] == tok.stoi["sinus"] and ids[0, 2] == tok.stoi["[UNK]"] and mask[0].sum() == 4
    assert mask[1].sum() == 1  # an empty text becomes one [UNK]
    assert 0.5 < tok.coverage(CORPUS) < 1.0
    tok.save(tmp_path / "vocab.json")
    assert WordTokenizer.load(tmp_path / "vocab.json").itos == tok.itos


def test_text_encoders_ignore_padding():
    tok = WordTokenizer.fit(CORPUS, min_freq=1)
    ids, mask = tok.encode(["sinus rhythm", "normal ecg"], max_len=8)
    ids_long, mask_long = tok.encode(["sinus rhythm", "normal ecg"], max_len=16)
    torch.manual_seed(0)
    for enc in (BagOfWordsEncoder(len(tok), 16, out_dim=8), ConvTextEncoder(len(tok), 16, out_dim=8),
                TinyTextTransformer(len(tok), 16, heads=2, layers=1, max_len=16, out_dim=8, dropout=0.0)):
        enc.eval()
        out = enc(ids, mask)
        assert out.shape == (2, 8)
        assert torch.allclose(out, enc(ids_long, mask_long), atol=1e-5), type(enc).__name__


def test_resnet1d_and_attention_pool_shapes():
    x = torch.randn(3, 12, 250)
    net = ResNet1d(12, widths=(8, 16), blocks=(1, 1), stem_stride=2)
    fmap = net.forward_features(x)
    assert fmap.shape[:2] == (3, 16) and net(x).shape == (3, 16) and net.out_channels == 16
    assert AttentionPool1d(16, heads=4, out_dim=5, max_len=32)(fmap).shape == (3, 5)
    assert resnet1d18().out_channels == 512

"""Tests for the SAM-shaped promptable segmenter and the prompt simulators (medrepro.nn.promptable)."""
import numpy as np
import pytest
import torch
from torch import nn

from medrepro.nn import promptable as P


@pytest.fixture(scope="module")
def model():
    return P.build_tiny_sam(img_size=16, patch=4, dim=16, depth=2, heads=2, prompt_dim=16, seed=0).eval()


def _square(b=2, size=16, lo=4, hi=9):
    m = torch.zeros(b, size, size, dtype=torch.bool)
    m[:, lo:hi, lo + 1:hi + 1] = True
    return m


def test_shapes_for_each_prompt_type(model):
    x = torch.randn(2, 1, 16, 16)
    emb = model.encode(x)
    assert emb.shape == (2, 16, 4, 4)
    pts = (torch.tensor([[[3.0, 5.0], [10.0, 2.0]]] * 2), torch.tensor([[1, 0]] * 2))
    box = torch.tensor([[2.0, 2.0, 9.0, 9.0]] * 2)
    mask_in = torch.randn(2, 1, 16, 16)
    for kw in (dict(points=pts), dict(boxes=box), dict(mask_input=mask_in), dict(points=pts, boxes=box, mask_input=mask_in), {}):
        logits, iou = model.decode(emb, **kw)
        assert logits.shape == (2, 1, 16, 16) and iou.shape == (2, 1)
    masks, ious = model.mask_decoder(emb, model.prompt_encoder.dense_pe(), *model.prompt_encoder(pts, None, None), True)
    assert masks.shape == (2, 3, 16, 16) and ious.shape == (2, 3)
    masks, ious = model.mask_decoder(emb, model.prompt_encoder.dense_pe(), *model.prompt_encoder(pts, None, None), False)
    assert masks.shape == (2, 1, 16, 16)


def test_multimask_keeps_the_candidate_with_highest_predicted_iou(model):
    emb = model.encode(torch.randn(3, 1, 16, 16))
    pts = P.sample_points(_square(3), 1, generator=torch.Generator().manual_seed(0))
    sparse, dense = model.prompt_encoder(pts, None, None)
    masks, ious = model.mask_decoder(emb, model.prompt_encoder.dense_pe(), sparse, dense, True)
    logits, iou = model.decode(emb, points=pts)
    best = ious.argmax(1)
    assert torch.allclose(logits[:, 0], masks[torch.arange(3), best]) and torch.allclose(iou[:, 0], ious.max(1).values)


def test_prompt_tokens_padding_and_boxes(model):
    pe = model.prompt_encoder
    pts = (torch.zeros(1, 2, 2), torch.tensor([[1, -1]]))
    sparse, dense = pe(pts, None, None)
    assert sparse.shape == (1, 3, 16)                     # two points + one padding point (no box)
    assert torch.allclose(sparse[0, 1], pe.not_a_point.weight[0]) and torch.allclose(sparse[0, 2], pe.not_a_point.weight[0])
    assert torch.allclose(dense[0, :, 0, 0], pe.no_mask.weight[0])
    sparse, _ = pe(pts, torch.tensor([[1.0, 1.0, 5.0, 5.0]]), None)
    assert sparse.shape == (1, 4, 16)                     # two points + two box corners, no padding
    pos = pe((torch.zeros(1, 1, 2), torch.tensor([[1]])), None, None)[0][0, 0]
    neg = pe((torch.zeros(1, 1, 2), torch.tensor([[0]])), None, None)[0][0, 0]
    assert torch.allclose(pos - neg, pe.point_embeddings[1].weight[0] - pe.point_embeddings[0].weight[0])


def test_side_hook_runs_in_parallel_with_the_mlp():
    blk = P.Block(8, 2)
    x = torch.randn(2, 4, 4, 8)
    base = blk(x)

    class Const(nn.Module):
        def forward(self, t):
            assert t.shape == (2, 4, 4, 8)
            return torch.ones_like(t)

    blk.side = Const()
    assert torch.allclose(blk(x), base + 1)


def test_gradients_reach_every_part_and_seed_is_deterministic():
    a = P.build_tiny_sam(img_size=16, patch=4, dim=16, depth=1, heads=2, prompt_dim=16, seed=3)
    b = P.build_tiny_sam(img_size=16, patch=4, dim=16, depth=1, heads=2, prompt_dim=16, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))
    gt = _square(2)
    logits, iou = a(torch.randn(2, 1, 16, 16), boxes=P.boxes_from_masks(gt), mask_input=torch.zeros(2, 1, 16, 16))
    (nn.functional.binary_cross_entropy_with_logits(logits[:, 0], gt.float()) + iou.sum()).backward()
    for part in (a.image_encoder, a.prompt_encoder.mask_downscaling, a.mask_decoder):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


def test_wrong_image_size_and_patch_raise():
    with pytest.raises(ValueError, match="multiple of the patch"):
        P.ImageEncoder(img_size=18, patch=4)
    enc = P.ImageEncoder(img_size=16, patch=4, dim=8, depth=1, heads=2, out_dim=8)
    with pytest.raises(ValueError, match="16×16"):
        enc(torch.randn(1, 1, 20, 20))


def test_boxes_from_masks():
    m = _square(2)                                        # rows 4..8, columns 5..9
    assert P.boxes_from_masks(m).tolist() == [[5.0, 4.0, 9.0, 8.0]] * 2
    empty = torch.zeros(1, 16, 12, dtype=torch.bool)
    assert P.boxes_from_masks(empty).tolist() == [[0.0, 0.0, 11.0, 15.0]]
    j = P.boxes_from_masks(m, jitter=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(j[:, 2] - j[:, 0], torch.tensor([4.0, 4.0])) and (j - P.boxes_from_masks(m)).abs().max() <= 2


def test_sample_points_fall_in_the_right_region():
    m = _square(4)
    g = torch.Generator().manual_seed(1)
    xy, lab = P.sample_points(m, 2, 3, generator=g)
    assert xy.shape == (4, 5, 2) and lab.tolist() == [[1, 1, 0, 0, 0]] * 4
    inside = m[torch.arange(4)[:, None], xy[..., 1].long(), xy[..., 0].long()]
    assert inside[:, :2].all() and not inside[:, 2:].any()
    xy, lab = P.sample_points(torch.zeros(1, 8, 8, dtype=torch.bool), 1, 1, generator=g)
    assert lab.tolist() == [[-1, 0]]                     # no foreground: that click is padding


def test_random_error_clicks_labels():
    gt = _square(1)
    pred = torch.zeros_like(gt)
    pred[0, 12:15, 12:15] = True                          # a false positive away from the target
    xy, lab = P.random_error_clicks(pred, gt, n=50, generator=torch.Generator().manual_seed(0))
    x, y = xy[0, :, 0].long(), xy[0, :, 1].long()
    assert (pred[0, y, x] != gt[0, y, x]).all()           # every click is on an error pixel
    assert torch.equal(lab[0] == 1, gt[0, y, x])          # positive on missed foreground, negative on false positive
    assert set(lab[0].tolist()) == {0, 1}
    _, lab = P.random_error_clicks(gt, gt, n=2)
    assert lab.tolist() == [[-1, -1]]


def test_center_error_clicks_pick_the_largest_region_interior():
    gt = np.zeros((2, 16, 16), bool)
    gt[0, 2:9, 2:9] = True                                # 7×7 missed square: centre (5, 5)
    pred = np.zeros_like(gt)
    pred[0, 12:14, 12:14] = True                          # a smaller false positive
    pred[1] = gt[1]                                       # no error at all
    xy, lab = P.center_error_clicks(pred, gt)
    assert xy[0, 0].tolist() == [5.0, 5.0] and lab[0, 0] == 1
    assert lab[1, 0] == -1
    pred2 = gt.copy()
    pred2[0, 10:16, 0:16] = True                          # a large false positive band at the bottom
    xy, lab = P.center_error_clicks(pred2[:1], gt[:1])
    assert lab[0, 0] == 0 and 10 <= xy[0, 0, 1] <= 15


def test_dice_and_parameter_count():
    a, b = _square(1), torch.zeros(1, 16, 16, dtype=torch.bool)
    assert P.dice_binary(a, a)[0] == 1.0 and P.dice_binary(a, b)[0] == 0.0 and P.dice_binary(b, b)[0] == 1.0
    lin = nn.Linear(3, 2)
    frozen = nn.Linear(3, 2).requires_grad_(False)
    assert P.count_trainable([lin, lin, frozen]) == 8


def test_box_channel_fills_the_box_of_boxes_from_masks():
    rng = np.random.default_rng(0)
    m = torch.from_numpy(rng.random((6, 12, 10)) > 0.93)
    ch = P.box_channel(P.boxes_from_masks(m), (12, 10))
    assert ch.shape == (6, 1, 12, 10) and ch.dtype == torch.float32
    for k in range(6):
        r, c = np.nonzero(m[k].numpy())
        want = np.zeros((12, 10), np.float32)
        if len(r):
            want[r.min():r.max() + 1, c.min():c.max() + 1] = 1
        else:
            want[:] = 1                                   # an empty mask's box is the whole image
        np.testing.assert_array_equal(ch[k, 0].numpy(), want)

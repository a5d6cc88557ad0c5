"""Multi-crop (SwAV-style small crops): the views, the config's guards, and the loss the loop takes."""
import dataclasses

import pytest
import torch

from nacsearch import train as T
from nacsearch.config import (ModelConfig, ObjectiveConfig, RunConfig, TrainConfig, ViewConfig, run_config_from_dict,
                              to_dict)
from nacsearch.datasets.arrays import ArrayImages
from nacsearch.samples import synthetic_images
from nacsearch.views import TwoViews


def test_small_crops_are_seeded_low_resolution_crops_of_each_image():
    x = torch.rand(5, 1, 16, 16)
    views = TwoViews(ViewConfig(small_crops=3, jitter=0.0))
    a = views.small(x, torch.Generator().manual_seed(0))
    b = views.small(x, torch.Generator().manual_seed(0))
    assert a.shape == (15, 1, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a[:5], a[5:10])                                   # crops differ from one another
    assert a.min() >= x.min() - 1e-6 and a.max() <= x.max() + 1e-6           # a bilinear crop stays in range
    flat = torch.zeros_like(x) + torch.arange(5.0).view(5, 1, 1, 1)           # image i is all i
    assert torch.allclose(views.small(flat, torch.Generator().manual_seed(1))[5:10].mean(dim=(1, 2, 3)),
                          torch.arange(5.0))                                 # row k*B + i is a crop of image i
    assert TwoViews(ViewConfig(small_crops=2, small_size=6)).small(x).shape == (10, 1, 6, 6)
    assert TwoViews(ViewConfig()).small(x) is None


def test_small_crops_leave_the_two_full_views_as_they_were():
    x = torch.rand(4, 3, 16, 16)
    plain = TwoViews(ViewConfig())(x, torch.Generator().manual_seed(3))
    g = torch.Generator().manual_seed(3)
    multi = TwoViews(ViewConfig(small_crops=2))
    with_small = multi(x, g)
    multi.small(x, g)
    assert all(torch.equal(p, q) for p, q in zip(plain, with_small))


def test_config_guards_and_old_files():
    with pytest.raises(ValueError, match="small_crops"):
        ViewConfig(small_crops=9)
    with pytest.raises(ValueError, match="small_crops"):
        ViewConfig(small_crops=2, small_scale=(0.5, 0.2))
    with pytest.raises(ValueError, match="multi-crop"):
        RunConfig(model=ModelConfig(loco=True), views=ViewConfig(small_crops=2))
    with pytest.raises(ValueError, match="multi-crop"):
        RunConfig(views=ViewConfig(small_crops=2), objective=ObjectiveConfig(bank=64))
    d = to_dict(RunConfig(views=ViewConfig(small_crops=2)))
    assert run_config_from_dict(d).views.small_scale == (0.05, 0.4)
    old = to_dict(RunConfig())
    for k in ("small_crops", "small_size", "small_scale"):
        del old["views"][k]
    assert run_config_from_dict(old) == RunConfig()


def test_the_loop_takes_the_mean_over_the_full_pair_and_every_crop_with_both_views(tmp_path, monkeypatch):
    images, _ = synthetic_images(64, size=16, seed=0)
    run = RunConfig(model=ModelConfig(bits=16, image_size=16, channels=1, width=4, head_gain=8.0),
                    views=ViewConfig(small_crops=2), objective=ObjectiveConfig(p=0.2),
                    train=TrainConfig(epochs=10, batch_size=16, max_steps=2, lr=3e-3, seed=1, minutes=0.0))
    calls, seen = [], []
    real_call = T._Trainer._with_small_crops

    def spy(self, pair_loss, halves, small_out, g, idx_t):
        before = g.get_state()
        out = real_call(self, pair_loss, halves, small_out, g, idx_t)
        after = g.get_state()
        g.set_state(before)  # recompute naively with the same channel noise, then leave the generator as it was
        naive = [pair_loss.detach()]
        for k in range(2):
            crop = type(small_out)(*(t[k * 16:(k + 1) * 16] if t is not None else None for t in small_out))
            for full in halves:
                naive.append(self.objective(crop, full, generator=g, gather=self.gather, index=idx_t)["loss"].detach())
        g.set_state(after)
        seen.append((out.detach(), sum(naive) / 5))
        calls.append(small_out.u.shape)
        return out

    monkeypatch.setattr(T._Trainer, "_with_small_crops", spy)
    res = T.train(run, ArrayImages(images), tmp_path, device="cpu", progress=False)
    assert calls == [torch.Size([32, 16])] * 2 and torch.isfinite(torch.tensor(res.final_loss))
    for out, naive in seen:
        assert out.item() == pytest.approx(naive.item(), rel=1e-5)
    assert dataclasses.asdict(run.views)["small_crops"] == 2

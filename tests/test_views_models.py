import dataclasses

import numpy as np
import pytest
import torch

from nacsearch.config import ModelConfig, ViewConfig
from nacsearch.models import HashEncoder
from nacsearch.views import TwoViews


def batch(n=6, c=3, s=16):
    return torch.rand(n, c, s, s, generator=torch.Generator().manual_seed(0))


def test_identity_views_return_the_input():
    cfg = ViewConfig(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=0.0, jitter=0.0, grayscale_p=0.0)
    x = batch()
    v1, v2 = TwoViews(cfg)(x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(v1, x, atol=1e-5, rtol=0)
    torch.testing.assert_close(v2, x, atol=1e-5, rtol=0)


def test_flip_only_mirrors():
    cfg = ViewConfig(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=1.0, jitter=0.0, grayscale_p=0.0)
    x = batch()
    v = TwoViews(cfg).one(x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(v, x.flip(-1), atol=1e-5, rtol=0)


@pytest.mark.parametrize("channels", [1, 3])
def test_views_are_seeded_in_range_and_differ(channels):
    cfg = ViewConfig(blur_p=0.5, erase_p=0.5, grayscale_p=0.3)
    x = batch(c=channels)
    a1, a2 = TwoViews(cfg)(x, torch.Generator().manual_seed(5))
    b1, _ = TwoViews(cfg)(x, torch.Generator().manual_seed(5))
    assert a1.shape == x.shape and torch.equal(a1, b1)
    assert not torch.equal(a1, a2)
    assert a1.min() >= 0 and a1.max() <= 1


@pytest.mark.parametrize("backbone,size,channels", [("small", 28, 1), ("small", 64, 3), ("resnet18", 32, 3),
                                                     ("vgg16_bn", 24, 1)])
def test_encoder_shapes(backbone, size, channels):
    cfg = ModelConfig(backbone=backbone, bits=32, image_size=size, channels=channels,
                      mean=(0.5,) * channels, std=(0.5,) * channels, width=8)
    model = HashEncoder(cfg).eval()
    out = model(torch.rand(2, channels, size, size))
    assert out.u.shape == (2, 32) and out.logits.shape == (2, 32)
    assert out.h.shape == (2, model.backbone.feature_dim)
    with pytest.raises(ValueError):
        model(torch.rand(2, 3 if channels == 1 else 1, size, size))


def test_config_validation():
    with pytest.raises(ValueError):
        ModelConfig(bits=20)
    with pytest.raises(ValueError):
        ModelConfig(backbone="resnet50")
    with pytest.raises(ValueError):
        ViewConfig(crop_scale=(0.5, 0.2))
    with pytest.raises(ValueError):
        ModelConfig(channels=3)  # mean/std of length 1


def test_backbone_weights_from_a_named_file(tmp_path):
    from safetensors.torch import save_file

    from nacsearch.models.backbones import load_backbone_weights

    cfg = ModelConfig(bits=16, image_size=16, channels=1, width=4)
    src, dst = HashEncoder(cfg), HashEncoder(cfg)
    save_file({f"backbone.{k}": v.contiguous() for k, v in src.backbone.state_dict().items()} |
              {"fc.weight": torch.zeros(3, 3)}, str(tmp_path / "w.safetensors"))
    rep = load_backbone_weights(dst.backbone, str(tmp_path / "w.safetensors"))
    assert rep["skipped"] == ["fc.weight"]
    for (k, a), (_, b) in zip(src.backbone.state_dict().items(), dst.backbone.state_dict().items()):
        assert torch.equal(a, b), k
    torch.save({"nothing": torch.zeros(1)}, tmp_path / "x.pth")
    with pytest.raises(ValueError, match="no tensor"):
        load_backbone_weights(dst.backbone, str(tmp_path / "x.pth"))


COPY_OFF = dict(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=0.0, jitter=0.0, grayscale_p=0.0)


def test_zoom_out_shrinks_the_image_into_a_white_frame():
    x = torch.zeros(4, 1, 32, 32)  # black images: every white pixel is fill
    v = TwoViews(ViewConfig(zoom_out_p=1.0, zoom_out=0.5, **COPY_OFF)).one(x, torch.Generator().manual_seed(0))
    black = (v < 0.5).float().mean(dim=(1, 2, 3))
    assert (black > 0.2).all() and (black < 0.95).all()  # the image covers a side of 0.5-1 of the frame
    assert ((v == 0) | (v == 1) | ((v > 0) & (v < 1))).all() and v.max() == 1.0


def test_rotation_fills_corners_and_keeps_the_centre():
    x = torch.zeros(3, 3, 33, 33)
    cfg = ViewConfig(rotate_p=1.0, rotate=20.0, **COPY_OFF)
    v = TwoViews(cfg).one(x, torch.Generator().manual_seed(3))
    assert torch.equal(v[:, :, 16, 16], torch.zeros(3, 3))  # the centre stays where it was
    corners = torch.stack([v[:, :, 0, 0], v[:, :, 0, -1], v[:, :, -1, 0], v[:, :, -1, -1]])
    assert (corners.amax(dim=0) > 0).all()  # some corner of each image is uncovered (white fill, not black)


def test_down_up_loses_detail_only():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(4, 1, 32, 32, generator=g) > 0.5).float()  # pixel noise: all detail
    v = TwoViews(ViewConfig(downscale_p=1.0, downscale=0.3, **COPY_OFF)).one(x, torch.Generator().manual_seed(1))
    assert (v.std(dim=(1, 2, 3)) < 0.6 * x.std(dim=(1, 2, 3))).all()  # detail is gone
    torch.testing.assert_close(v.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=0.03, rtol=0)  # not the content
    off = TwoViews(ViewConfig(**COPY_OFF)).one(x, torch.Generator().manual_seed(1))
    torch.testing.assert_close(off, x, atol=1e-5, rtol=0)


def test_copy_views_are_seeded():
    cfg = ViewConfig(zoom_out_p=0.5, rotate_p=0.5, downscale_p=0.5)
    x = batch()
    a = TwoViews(cfg)(x, torch.Generator().manual_seed(9))
    b = TwoViews(cfg)(x, torch.Generator().manual_seed(9))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], a[1])


def test_loco_stage_gradients_stop_one_stage_below():
    """A loss on LoCo stage k reaches stages k and k-1 and nothing below; values equal a plain forward."""
    import torch

    from nacsearch.config import ModelConfig
    from nacsearch.models import HashEncoder

    torch.manual_seed(0)
    model = HashEncoder(ModelConfig(bits=16, image_size=16, channels=1, width=4, loco=True))
    x = torch.rand(4, 1, 16, 16)
    model.eval()  # BatchNorm with running statistics: both passes compute the same function
    outs = model(x, stages=True)
    assert len(outs) == 3 and [o.u.shape for o in outs] == [(4, 16)] * 3
    torch.testing.assert_close(outs[-1].u, model(x).u)
    layers = model.backbone.features

    def grads(k):
        model.zero_grad(set_to_none=True)
        model(x, stages=True)[k].u.sum().backward()
        return [layers[i][0].weight.grad is not None and bool(layers[i][0].weight.grad.abs().sum() > 0)
                for i in range(6)]

    assert grads(0) == [True, True, False, False, False, False]
    assert grads(1) == [True, True, True, True, False, False]
    assert grads(2) == [False, False, True, True, True, True]


def test_loco_trains_and_needs_the_small_backbone(tmp_path):
    import numpy as np
    import pytest

    from nacsearch.config import ModelConfig
    from nacsearch.datasets.arrays import ArrayImages
    from nacsearch.recipes import make_run_config
    from nacsearch.train import train

    with pytest.raises(ValueError, match="small"):
        ModelConfig(backbone="resnet18", loco=True)
    data = ArrayImages((np.random.default_rng(0).random((16, 1, 16, 16)) * 255).astype(np.uint8))
    run = make_run_config(1, 16, bits=16, epochs=1, batch_size=8, minutes=0, max_images=0, width=4, loco=True)
    res = train(run, data, tmp_path / "m", device="cpu", progress=False)
    assert res.steps == 2 and np.isfinite(res.final_loss)


def test_image_norm_ignores_brightness_and_contrast_and_dataset_norm_does_not():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 32, 32) * 0.5 + 0.2                  # stays inside [0, 1] after the change below
    y = 1.3 * (x - 0.45) + 0.5                                  # a contrast and brightness change
    for norm, same in (("image", True), ("dataset", False)):
        torch.manual_seed(1)
        model = HashEncoder(ModelConfig(channels=3, mean=(0.5,) * 3, std=(0.5,) * 3, input_norm=norm)).eval()
        a, b = model.preactivations(x), model.preactivations(y)
        assert torch.allclose(a, b, atol=1e-4) == same
        assert torch.allclose(model(x).u, a, atol=1e-5)        # forward and preactivations normalise alike
    flat = torch.full((1, 3, 32, 32), 0.7)
    flat[0, 0, 0, 0] = 0.7 + 1 / 255                            # a flat image: the std floor keeps it near 0
    z = HashEncoder(ModelConfig(channels=3, mean=(0.5,) * 3, std=(0.5,) * 3, input_norm="image")).normalise(flat)
    assert z.abs().max() < 0.25
    with pytest.raises(ValueError, match="input_norm"):
        ModelConfig(input_norm="batch")


def test_mirror_sum_codes_ignore_a_mirror_and_plain_codes_are_the_forward_pass():
    from nacsearch.encode import encode_images, preactivations

    rng = np.random.default_rng(0)
    x = (rng.random((6, 3, 24, 24)) * 255).astype(np.uint8)
    mirrored = np.ascontiguousarray(x[..., ::-1])
    torch.manual_seed(0)
    plain = HashEncoder(ModelConfig(channels=3, image_size=24, mean=(0.5,) * 3, std=(0.5,) * 3))
    t, tm = (torch.from_numpy(a).float() / 255 for a in (x, mirrored))
    with torch.no_grad():
        plain(torch.cat([t, tm]))                                   # BatchNorm statistics of these images
    plain.eval()
    summed = HashEncoder(dataclasses.replace(plain.cfg, mirror_sum=True)).eval()
    summed.load_state_dict(plain.state_dict())                     # the same weights, only the encoding differs
    with torch.no_grad():
        ut, um, ht = plain(t).u.numpy(), plain(tm).u.numpy(), plain(t).h.numpy()
    u = preactivations(plain, x)
    assert np.allclose(u, ut, atol=1e-5)            # plain codes: the forward pass's u
    assert not np.array_equal(encode_images(plain, x), encode_images(plain, mirrored))
    assert np.array_equal(encode_images(summed, x), encode_images(summed, mirrored))
    assert np.allclose(preactivations(summed, x), u + um, atol=1e-4)
    assert np.allclose(preactivations(summed, x, features=True), ht, atol=1e-5)  # features: as given
    with pytest.raises(ValueError, match=r"expected \(B, 3, H, W\)"):
        preactivations(summed, x[:, :1])                            # the wrong channels: a clear error


def _test_picture(h: int = 40, w: int = 56):
    """A deterministic RGB picture with edges, gradients and texture, as a PIL image and a (1, 3, h, w) tensor."""
    import numpy as np
    from PIL import Image

    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx / w, yy / h, ((xx // 7 + yy // 5) % 2) * 0.6 + 0.2], -1)
    rgb[10:25, 15:40] = (0.9, 0.2, 0.1)
    rgb += np.random.default_rng(0).uniform(-0.05, 0.05, rgb.shape)
    arr = np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB"), torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float() / 255


@pytest.mark.parametrize("quality", [20, 60])
def test_jpeg_like_matches_a_real_jpeg_re_save(quality):
    import io

    import numpy as np
    from PIL import Image

    from nacsearch.jpeg import jpeg_like

    for mode in ("RGB", "L"):
        im, x = _test_picture()
        if mode == "L":
            im = im.convert("L")
            x = torch.from_numpy(np.array(im)).float()[None, None] / 255
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=quality)
        real = torch.from_numpy(np.array(Image.open(buf).convert(mode), dtype=np.float32) / 255)
        real = real.permute(2, 0, 1)[None] if mode == "RGB" else real[None, None]
        ours = jpeg_like(x, torch.tensor([float(quality)]))
        artefact = (x - real).abs().mean()
        assert artefact > 0.005                                 # the re-save does change the picture
        assert (ours - real).abs().mean() < 0.3 * artefact      # and ours makes (nearly) the same change
        assert ours.shape == x.shape and 0 <= ours.min() and ours.max() <= 1


def test_jpeg_view_is_seeded_and_applied_with_its_probability():
    _, x = _test_picture(32, 32)
    x = x.repeat(64, 1, 1, 1)
    views = TwoViews(ViewConfig(crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), flip=0.0, jitter=0.0,
                                grayscale_p=0.0, jpeg_p=0.5, jpeg_quality=10.0))
    a = views.one(x, torch.Generator().manual_seed(3))
    b = views.one(x, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    changed = ((a - x).abs().flatten(1).max(dim=1).values > 0.02).sum().item()
    assert 16 <= changed <= 48                                  # about half of the 64 views
    with pytest.raises(ValueError, match="jpeg_quality"):
        ViewConfig(jpeg_quality=95)


def test_clean_first_views_are_the_image_as_given_and_leave_the_rest_unchanged():
    x = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    plain, clean = TwoViews(ViewConfig()), TwoViews(ViewConfig(clean_p=0.5))
    p1, p2 = plain(x, torch.Generator().manual_seed(4))
    c1, c2 = clean(x, torch.Generator().manual_seed(4))
    assert torch.equal(p2, c2)                                  # the second view is drawn as before
    same = (c1 == x).flatten(1).all(dim=1)
    assert 16 <= same.sum().item() <= 48                        # about half of the first views are clean
    assert torch.equal(c1[~same], p1[~same])                    # the others are the views drawn without it
    assert not (p1 == x).flatten(1).all(dim=1).any()            # plain views are never the input
    d1, _ = clean(x, torch.Generator().manual_seed(4))
    assert torch.equal(c1, d1)                                  # seeded
    with pytest.raises(ValueError, match="clean_p"):
        ViewConfig(clean_p=1.5)

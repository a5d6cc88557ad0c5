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

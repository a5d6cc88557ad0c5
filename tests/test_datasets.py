import pickle

import numpy as np
import pytest
from PIL import Image

from nacsearch.datasets import load_cifar10, load_fashion_mnist, load_mirflickr, open_dataset, parse_spec
from nacsearch.datasets.fashion_mnist import read_idx
from nacsearch.datasets.imagefolder import load_image_folder, walk_images
from nacsearch.datasets.mirflickr import LABELS
from tests.conftest import write_png


def test_fashion_mnist_reads_gz_and_raw_idx(fmnist_dir):
    d = load_fashion_mnist(fmnist_dir)
    assert d.images.shape == (60, 1, 28, 28) and d.images.dtype == np.uint8
    np.testing.assert_array_equal(d.labels, np.r_[np.arange(40) % 10, np.arange(20) % 10])
    assert (d.images[3, 0, 6:10] == 250).all()  # label 3 -> rows 6..9 bright


def test_fashion_mnist_truncated_file_is_refused(fmnist_dir):
    f = fmnist_dir / "t10k-images-idx3-ubyte"
    f.write_bytes(f.read_bytes()[:-10])
    with pytest.raises(ValueError, match="expected"):
        read_idx(f)


def test_fashion_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_fashion_mnist(tmp_path)


def test_cifar10_python_batches(cifar_dir):
    d = load_cifar10(cifar_dir)
    assert d.images.shape == (30, 3, 32, 32) and d.labels.shape == (30,)
    with open(cifar_dir / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        raw = pickle.load(f)  # the test itself wrote this fixture
    np.testing.assert_array_equal(d.images[:5].reshape(5, -1), raw[b"data"])


def test_cifar10_binary_batches(tmp_path):
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        rec = np.concatenate([rng.integers(0, 10, (4, 1)), rng.integers(0, 256, (4, 3072))], axis=1)
        rec.astype(np.uint8).tofile(d / name)
    assert load_cifar10(tmp_path).images.shape == (24, 3, 32, 32)


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar10_refuses_pickled_code(cifar_dir):
    with open(cifar_dir / "cifar-10-batches-py" / "data_batch_1", "wb") as f:
        pickle.dump({b"data": Evil(), b"labels": []}, f)
    with pytest.raises(ValueError, match="refusing"):
        load_cifar10(cifar_dir)


def make_mirflickr(root, n=6):
    img = root / "mirflickr"
    ann = root / "mirflickr25k_annotations_v080"
    img.mkdir(parents=True)
    ann.mkdir()
    for i in range(1, n + 1):
        Image.fromarray(np.full((20, 30, 3), i * 20, np.uint8)).save(img / f"im{i}.jpg")
    for name in LABELS:
        (ann / f"{name}.txt").write_text("")
    (ann / "dog.txt").write_text("1\n3\n")
    (ann / "sky.txt").write_text("3\r\n4\n")
    (ann / "dog_r1.txt").write_text("5\n")  # relevance files are ignored
    (ann / "README.txt").write_text("annotations\n")
    return root


def test_mirflickr_labels_are_one_based_and_skip_r1(tmp_path):
    idx = load_mirflickr(make_mirflickr(tmp_path), n_images=6)
    dog, sky = LABELS.index("dog"), LABELS.index("sky")
    assert idx.labels.shape == (6, 24)
    assert idx.labels[:, dog].tolist() == [1, 0, 1, 0, 0, 0]
    assert idx.labels[:, sky].tolist() == [0, 0, 1, 1, 0, 0]
    assert idx.labelled().tolist() == [0, 2, 3]
    assert idx.paths[0].name == "im1.jpg"


def test_mirflickr_bad_id_is_refused(tmp_path):
    root = make_mirflickr(tmp_path)
    (root / "mirflickr25k_annotations_v080" / "car.txt").write_text("0\n")
    with pytest.raises(ValueError, match="car.txt:1"):
        load_mirflickr(root, n_images=6)


def test_image_folder_skips_bad_files(tmp_path):
    from tests.conftest import write_png

    write_png(tmp_path / "a" / "good.png", np.zeros((10, 12), np.uint8))
    write_png(tmp_path / "b" / "good2.png", np.full((9, 9, 3), 200, np.uint8))
    (tmp_path / "b" / "empty.jpg").write_bytes(b"")
    (tmp_path / "b" / "text.png").write_text("not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    folder = load_image_folder(tmp_path, channels=1, size=8, progress=False)
    assert [p.name for p in folder.paths] == ["good.png", "good2.png"]
    assert folder.data.images.shape == (2, 1, 8, 8)
    assert sorted(r["reason"] for r in folder.skipped) == ["empty", "not_image"]


def test_walk_survives_symlink_loops(tmp_path):
    from tests.conftest import write_png

    write_png(tmp_path / "x" / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "x" / "loop").symlink_to(tmp_path / "x")
    assert [p.name for p in walk_images(tmp_path)] == ["a.png"]


def test_specs(fmnist_dir):
    assert parse_spec("cifar10:/x") == ("cifar10", __import__("pathlib").Path("/x"))
    assert parse_spec("./photos")[0] == "folder"
    d = open_dataset(f"fashion-mnist:{fmnist_dir}", channels=3, image_size=32, progress=False)
    assert d.images.shape == (60, 3, 32, 32)


def test_one_folder_rule_for_train_and_build_index(image_folder, tmp_path):
    """Grayscale photos: `train DIR` and `build-index DIR` both build a 1-channel, 32-px model."""
    from nacsearch.datasets import dataset_format
    from nacsearch.datasets.imagefolder import folder_format
    from nacsearch.recipes import load_training_data

    assert folder_format(image_folder) == (1, 32) == dataset_format(str(image_folder))
    assert load_training_data(str(image_folder), progress=False).channels == 1
    rgb = tmp_path / "rgb"
    write_png(rgb / "a.png", np.zeros((8, 8, 3), np.uint8))
    write_png(rgb / "b.png", np.zeros((8, 8), np.uint8))
    assert folder_format(rgb) == (3, 32) and folder_format(rgb, 1, 48) == (1, 48)

"""Source of `digits`: a small CNN trained on scikit-learn's bundled 8x8 digits (fixed seed, held-out split).

Run by `modelrail build` as `python train.py --output <dir>`. Writes:
- model.onnx: fp32, input `image` [batch, 1, 8, 8], output `logits` [batch, 10];
- heldout.npz: the 20% test split (`images` uint8 [n, 8, 8] exactly as callers send them, `labels`), for the gate;
- calibration.npz: 256 training images in the same form, for static int8 calibration.

scikit-learn's values v run 0..16 with high = ink. Callers send ordinary grayscale images of dark ink on a light
background, so an image pixel is p = 255 - round(v * 255 / 16); the model is trained on exactly the tensor the
served processing (model.yaml `processing`, `images_to_tensor`) makes from such an image.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from modelrail.builder.inputs.image import images_to_tensor
from modelrail.builder.torch_export import export_onnx
from modelrail.manifest import ImageProcessing, load_manifest

SEED = 0
EPOCHS = 40
BATCH = 64
CALIBRATION_SAMPLES = 256


class DigitsCNN(torch.nn.Module):
    """Two 3x3 convolutions, a 2x2 max-pool and two dense layers: about 38k parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, kernel_size=3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, kernel_size=3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )
        self.classifier = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(32 * 4 * 4, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, 10),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of [batch, 1, 8, 8] images."""
        return self.classifier(self.features(image))


def caller_images(values: np.ndarray) -> np.ndarray:
    """scikit-learn digits (0..16, high = ink) as 8x8 uint8 grayscale images with dark ink."""
    return (255 - np.rint(values.reshape(-1, 8, 8) * 255 / 16)).astype(np.uint8)


def train(inputs: torch.Tensor, labels: torch.Tensor) -> DigitsCNN:
    """Adam on cross-entropy, seeded and single-threaded so a rebuild trains the same weights."""
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(inputs), BATCH):
            batch = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[batch]), labels[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(inputs):.4f}")
    return model.eval()


def main() -> None:
    """Train, report held-out accuracy, export, and write the datasets."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    processing = load_manifest(Path(__file__).with_name("model.yaml")).processing
    assert isinstance(processing, ImageProcessing)

    digits = load_digits()
    images = caller_images(digits.data)
    train_images, test_images, train_labels, test_labels = train_test_split(
        images, digits.target, test_size=0.2, stratify=digits.target, random_state=SEED
    )
    train_inputs = torch.from_numpy(images_to_tensor(train_images, processing))
    model = train(train_inputs, torch.from_numpy(train_labels.astype(np.int64)))
    with torch.no_grad():
        test_inputs = torch.from_numpy(images_to_tensor(test_images, processing))
        accuracy = float((model(test_inputs).argmax(dim=1).numpy() == test_labels).mean())
    print(f"held-out accuracy (torch, fp32): {accuracy:.4f} on {len(test_labels)} images")

    args.output.mkdir(parents=True, exist_ok=True)
    export_onnx(
        model,
        (test_inputs[:2],),
        args.output / "model.onnx",
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    np.savez_compressed(args.output / "heldout.npz", images=test_images, labels=test_labels.astype(np.int64))
    rng = np.random.default_rng(SEED)
    chosen = rng.choice(len(train_images), size=CALIBRATION_SAMPLES, replace=False)
    np.savez_compressed(args.output / "calibration.npz", images=train_images[chosen])
    print(f"wrote model.onnx, heldout.npz ({len(test_labels)}), calibration.npz ({CALIBRATION_SAMPLES})")


if __name__ == "__main__":
    main()

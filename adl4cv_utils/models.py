"""Small models that several chapters train (chapter 1 on).

Architectures that *are* a chapter's lesson (LeNet, VGG, ResNet blocks, attention) are written
in that chapter or exercise; these are the plain workhorses used to demonstrate something else.
"""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}


def _activation(name: str) -> type[nn.Module]:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


class MLP(nn.Sequential):
    """``in_features -> hidden x depth -> out_features`` with one activation after each hidden layer.

    ``MLP(64, 10, depth=0)`` is a linear score function f = Wx + b; the default ``MLP(64, 10)``
    (``hidden=64, depth=1``) is the lecture's 2-layer network f = W2 max(0, W1 x).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: int = 64,
        depth: int = 1,
        activation: str = "relu",
        dropout: float = 0.0,
    ):
        if depth < 0:
            raise ValueError(f"depth: expected a non-negative int, got {depth!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        act = _activation(activation)
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), act()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)


class SmallCNN(nn.Module):
    """Two conv-BN-ReLU-pool stages and a linear classifier, for small images such as ShapesDataset.

    Input ``(B, in_channels, H, W)`` with H and W divisible by 4; output logits ``(B, num_classes)``.
    ``features(x)`` returns the ``(B, 2*width)`` vector before the classifier (for t-SNE, chapter 9).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 6, width: int = 16, dropout: float = 0.0):
        super().__init__()
        if width < 1:
            raise ValueError(f"width: expected a positive int, got {width!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout!r}")
        # bias=False before BatchNorm: BN's shift makes a conv bias redundant (Ioffe & Szegedy 2015).
        self.conv1 = nn.Conv2d(in_channels, width, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * width, num_classes)

    def features(self, x):
        x = self.pool(nn.functional.relu(self.bn1(self.conv1(x))))  # (B, w, H/2, W/2)
        x = self.pool(nn.functional.relu(self.bn2(self.conv2(x))))  # (B, 2w, H/4, W/4)
        return x.mean(dim=(2, 3))  # global average pool: (B, 2w)

    def forward(self, x):
        return self.classifier(self.dropout(self.features(x)))

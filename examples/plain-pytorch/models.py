"""Plain PyTorch models, written as a PyTorch user writes them: raydt imports them, no Ray code here."""

from __future__ import annotations

from typing import Any

from torch import nn


class MLP(nn.Module):
    """A classifier whose width and depth are keyword arguments (raydt takes them from the config by name)."""

    def __init__(self, in_features: int = 64, hidden: int = 64, layers: int = 2, classes: int = 10) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        width = in_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.net = nn.Sequential(*blocks, nn.Linear(width, classes))

    def forward(self, x: Any) -> Any:
        return self.net(x.flatten(1))


class SmallCNN(nn.Module):
    """A small CNN for 1x8x8 images (scikit-learn's digits)."""

    def __init__(self, channels: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(channels, channels * 2, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(channels * 2, classes)

    def forward(self, x: Any) -> Any:
        return self.head(self.features(x).flatten(1))


def build_regressor(config: dict[str, Any]) -> nn.Module:
    """A function model: it reads what it needs from the config dict itself."""
    hidden = int(config.get("hidden", 32))
    return nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Linear(hidden, 1))

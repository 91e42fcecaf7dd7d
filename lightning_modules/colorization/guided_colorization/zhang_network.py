"""The SIGGRAPH'17 user-guided colorization network (Zhang et al. 2017), as released (`siggraph17`).

A VGG-like encoder (conv1–4, then dilated conv5–6 and conv7 at 1/8 resolution) and a decoder that doubles
the resolution three times with transposed convolutions plus 3×3 shortcuts from conv3, conv2 and conv1.
Module names and Sequential positions follow the released state dict, so its weights file loads as is
(the unused classification head `model_class` included). 34.19M parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

CLASSES = 529  # the classification head's ab bins (used only when the authors trained it)


def _encoder_block(in_channels: int, out_channels: int, convs: int, dilation: int = 1) -> nn.Sequential:
    """[conv 3×3, ReLU] × convs, then BatchNorm (positions 0, 2, 4, … and the norm last)."""
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [
            nn.Conv2d(
                in_channels if i == 0 else out_channels, out_channels, 3, padding=dilation, dilation=dilation
            ),
            nn.ReLU(True),
        ]
    return nn.Sequential(*layers, nn.BatchNorm2d(out_channels))


def _decoder_block(channels: int, convs: int) -> nn.Sequential:
    """ReLU after the shortcut sum, then [conv 3×3, ReLU] × convs and BatchNorm (convs at 1, 3, …)."""
    layers: list[nn.Module] = [nn.ReLU(True)]
    for _ in range(convs):
        layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.BatchNorm2d(channels))


def _up(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1))


def _shortcut(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1))


class SIGGRAPH17Generator(nn.Module):
    """Input: normalized L, normalized ab hints and the hint mask (B×4×H×W, H and W multiples of 8);
    output: normalized ab in [-1, 1] (B×2×H×W)."""

    def __init__(self):
        super().__init__()
        self.model1 = _encoder_block(4, 64, 2)
        self.model2 = _encoder_block(64, 128, 2)
        self.model3 = _encoder_block(128, 256, 3)
        self.model4 = _encoder_block(256, 512, 3)
        self.model5 = _encoder_block(512, 512, 3, dilation=2)
        self.model6 = _encoder_block(512, 512, 3, dilation=2)
        self.model7 = _encoder_block(512, 512, 3)
        self.model8up, self.model3short8, self.model8 = (
            _up(512, 256),
            _shortcut(256, 256),
            _decoder_block(256, 2),
        )
        self.model9up, self.model2short9, self.model9 = (
            _up(256, 128),
            _shortcut(128, 128),
            _decoder_block(128, 1),
        )
        self.model10up, self.model1short10 = _up(128, 128), _shortcut(64, 128)
        self.model10 = nn.Sequential(nn.ReLU(True), nn.Conv2d(128, 128, 3, padding=1), nn.LeakyReLU(0.2))
        self.model_class = nn.Sequential(nn.Conv2d(256, CLASSES, 1))
        self.model_out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        # The released network subsamples by dropping odd rows and columns, not by strided convolutions.
        conv1 = self.model1(x)
        conv2 = self.model2(conv1[:, :, ::2, ::2])
        conv3 = self.model3(conv2[:, :, ::2, ::2])
        conv7 = self.model7(self.model6(self.model5(self.model4(conv3[:, :, ::2, ::2]))))
        conv8 = self.model8(self.model8up(conv7) + self.model3short8(conv3))
        conv9 = self.model9(self.model9up(conv8) + self.model2short9(conv2))
        conv10 = self.model10(self.model10up(conv9) + self.model1short10(conv1))
        return self.model_out(conv10)

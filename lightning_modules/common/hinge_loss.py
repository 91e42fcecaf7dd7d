"""Hinge GAN loss (Lim & Ye 2017; Miyato et al. 2018), used by SN-PatchGAN on every patch logit."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def hinge_d_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Discriminator: push real logits above 1 and fake below -1; halves as in the official TF code."""
    return 0.5 * F.relu(1 - real_logits).mean() + 0.5 * F.relu(1 + fake_logits).mean()


def hinge_g_loss(fake_logits: Tensor) -> Tensor:
    """Generator: raise the discriminator's logits on completed images."""
    return -fake_logits.mean()

"""Chroma propagation with a nonlocal pull: this suite's addition, not an EII baseline.

Levin et al. 2004 (levin.py) and the matting Laplacian (matting_laplacian.py) spread chroma only between
neighbouring pixels, so a hole far from any pixel of its colour gets the colours of its border. EII's
internal network does the opposite: it maps the gray's appearance to a colour wherever that appearance is
known. This propagation does both. Every hole pixel is also pulled towards the chroma of the k known pixels
most like it (KNN matting's nonlocal principle, Chen, Li & Tang 2013), in a feature space of the gray, its
5×5 mean and standard deviation, and the position:

    (A_uu + λ I) x_u = −A_uk x_k + λ P x_k

where A is the local system with unit diagonal (Levin's rows, or the matting Laplacian's divided by their
diagonal) and P the row-stochastic pull (Gaussian weights at each row's median squared distance). A small
position scale keeps the pull near the pixel (nearby look-alikes across an edge); a scale of the image's
size makes it a global gray-appearance → colour map, as the internal network learns on flat palettes.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from scipy.ndimage import uniform_filter
from scipy.sparse.linalg import splu
from scipy.spatial import cKDTree

from lightning_modules.colorization.guided_colorization.chroma_propagation import ChromaPropagation
from lightning_modules.colorization.guided_colorization.levin import levin_system
from lightning_modules.colorization.guided_colorization.matting_laplacian import matting_rows

TEXTURE_WINDOW = 5  # px: the window of the gray's local mean and standard deviation


def appearance(luma: np.ndarray, gray_scale: float, position_scale: float) -> np.ndarray:
    """H·W × 5 features: gray, its local mean and standard deviation (÷ gray_scale), row and column
    (÷ position_scale px)."""
    mean = uniform_filter(luma, TEXTURE_WINDOW, mode="reflect")
    deviation = np.sqrt(np.maximum(uniform_filter(luma**2, TEXTURE_WINDOW, mode="reflect") - mean**2, 0))
    rows, cols = np.mgrid[0 : luma.shape[0], 0 : luma.shape[1]]
    columns = [luma / gray_scale, mean / gray_scale, deviation / gray_scale]
    columns += [rows / position_scale, cols / position_scale]
    return np.stack([column.ravel() for column in columns], axis=1)


def nonlocal_pull(features: np.ndarray, unknown: np.ndarray, neighbours: int) -> sp.csr_matrix:
    """n_unknown × n_known row-stochastic weights of each unknown pixel's `neighbours` nearest known ones."""
    flat = unknown.ravel()
    known = features[~flat]
    count = min(neighbours, len(known))
    distance, index = cKDTree(known).query(features[flat], k=count)
    distance, index = distance.reshape(-1, count), index.reshape(-1, count)
    squared = distance**2
    weights = np.exp(-squared / np.maximum(np.median(squared, axis=1, keepdims=True), 1e-12))
    weights /= weights.sum(axis=1, keepdims=True)
    rows = np.repeat(np.arange(len(index)), count)
    return sp.csr_matrix((weights.ravel(), (rows, index.ravel())), shape=(len(index), len(known)))


def local_system(
    luma: np.ndarray, unknown: np.ndarray, local: str, eps: float
) -> tuple[sp.csc_matrix, sp.csr_matrix]:
    """(A_uu, A_uk) with unit diagonal: Levin's rows, or the matting Laplacian's divided by their diagonal."""
    if local == "levin":
        return levin_system(luma, unknown)
    l_uu, l_uk = matting_rows(luma, unknown, eps)
    scale = sp.diags(1 / l_uu.diagonal())
    return (scale @ l_uu).tocsc(), (scale @ l_uk).tocsr()


class NonlocalPropagation(ChromaPropagation):
    """Local chroma propagation (`local`: levin or matting, the latter with `eps`) plus a nonlocal pull of
    weight `weight` towards the `neighbours` known pixels of the most similar gray appearance; gray_scale in
    gray units, position_scale as a fraction of the image's longer side."""

    name = "nonlocal_propagation"

    def __init__(
        self,
        local: Literal["levin", "matting"] = "matting",
        weight: float = 1.0,
        position_scale: float = 1.0,
        gray_scale: float = 0.02,
        neighbours: int = 10,
        eps: float = 1e-5,
    ):
        if local not in ("levin", "matting"):
            raise ValueError(f"local must be levin or matting, got {local!r}")
        if weight < 0 or position_scale <= 0 or gray_scale <= 0 or neighbours < 1:
            raise ValueError("need weight >= 0, position_scale > 0, gray_scale > 0 and neighbours >= 1")
        self.local, self.weight, self.eps = local, weight, eps
        self.position_scale, self.gray_scale, self.neighbours = position_scale, gray_scale, neighbours

    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        chroma, unknown = chroma.astype(np.float64), ~known
        if not unknown.any():
            return chroma
        if unknown.all() or min(unknown.shape) < 3:  # nothing to propagate from (or no window): gray
            return np.where(unknown[..., None], 0.0, chroma)
        a_uu, a_uk = local_system(luma, unknown, self.local, self.eps)
        flat = chroma.reshape(-1, chroma.shape[-1]).copy()
        known_chroma = flat[known.ravel()]
        rhs = -(a_uk @ known_chroma)
        if self.weight:
            features = appearance(luma, self.gray_scale, self.position_scale * max(luma.shape))
            rhs = rhs + self.weight * (nonlocal_pull(features, unknown, self.neighbours) @ known_chroma)
            a_uu = (a_uu + self.weight * sp.identity(a_uu.shape[0], format="csc")).tocsc()
        flat[unknown.ravel()] = splu(a_uu).solve(rhs)
        return flat.reshape(chroma.shape)

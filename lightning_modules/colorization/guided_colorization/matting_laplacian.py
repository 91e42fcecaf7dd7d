"""Chroma propagation by the matting Laplacian (Levin, Lischinski & Weiss, "A Closed-Form Solution to Natural
Image Matting", 2008): this suite's addition, not an EII baseline.

Levin et al. 2004 (levin.py) make each missing chroma the affinity-weighted mean of its neighbours: chroma
is assumed locally constant where the gray is. The matting Laplacian assumes it locally linear in the gray
instead, chroma = a·gray + b in every 3×3 window (the model of the guided filter that fast_paper's upsampling
uses), so a colour carried across a shading gradient keeps following it. The hole's chroma minimizes
Σ_windows min_{a,b} Σ_{i∈w} (c_i − a·Y_i − b)² + ε a² with the known chroma fixed: L_uu x_u = −L_uk x_k.
Only the windows that touch the hole enter the system.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from lightning_modules.colorization.guided_colorization.chroma_propagation import ChromaPropagation


def matting_rows(luma: np.ndarray, unknown: np.ndarray, eps: float) -> tuple[sp.csc_matrix, sp.csr_matrix]:
    """(L_uu, L_uk) of the matting Laplacian of `luma` H×W with 3×3 windows inside the image, for the
    unknown pixels (H×W bool): only the windows holding an unknown pixel have entries in those rows; L_uu
    carries a 1e-9 diagonal so that it is nonsingular."""
    height, width = luma.shape
    luma = luma.astype(np.float64)
    index = np.arange(height * width).reshape(height, width)
    offsets = [(dy, dx) for dy in range(3) for dx in range(3)]
    # windows by their top-left corner; a window counts when any of its pixels is unknown
    corners = np.zeros((height - 2, width - 2), dtype=bool)
    for dy, dx in offsets:
        corners |= unknown[dy : dy + height - 2, dx : dx + width - 2]
    top, left = np.nonzero(corners)
    pixels = np.stack([index[top + dy, left + dx] for dy, dx in offsets], axis=1)  # windows × 9
    values = luma.ravel()[pixels]
    centred = values - values.mean(1, keepdims=True)
    variance = values.var(1, keepdims=True)
    size = len(offsets)
    # L_ij = Σ_w [δ_ij − (1 + (Y_i − μ_w)(Y_j − μ_w) / (σ_w² + ε/|w|)) / |w|]
    entries = (
        np.eye(size)[None]
        - (1 + centred[:, :, None] * centred[:, None, :] / (variance[:, :, None] + eps / size)) / size
    )
    rows, cols = np.repeat(pixels, size, axis=1).ravel(), np.tile(pixels, (1, size)).ravel()
    flat_unknown = unknown.ravel()
    keep = flat_unknown[rows]
    number = np.empty(height * width, dtype=np.int64)  # position among the unknowns or among the known
    n_unknown = int(flat_unknown.sum())
    number[flat_unknown], number[~flat_unknown] = np.arange(n_unknown), np.arange(height * width - n_unknown)
    rows, cols, entries = rows[keep], cols[keep], entries.ravel()[keep]
    to_unknown = flat_unknown[cols]
    # a hole pixel in no window (the image's corners are in one) still gets a row: a tiny diagonal
    # keeps the system nonsingular without moving any other solution
    l_uu = sp.csc_matrix(
        (entries[to_unknown], (number[rows[to_unknown]], number[cols[to_unknown]])), shape=(n_unknown,) * 2
    ) + 1e-9 * sp.identity(n_unknown, format="csc")
    l_uk = sp.csr_matrix(
        (entries[~to_unknown], (number[rows[~to_unknown]], number[cols[~to_unknown]])),
        shape=(n_unknown, height * width - n_unknown),
    )
    return l_uu, l_uk


def matting_solve(luma: np.ndarray, chroma: np.ndarray, unknown: np.ndarray, eps: float) -> np.ndarray:
    """Chroma H×W×C with the unknown pixels solved from the known ones."""
    chroma = chroma.astype(np.float64)
    if unknown.all() or min(unknown.shape) < 3:  # nothing to propagate from (or no window): gray
        return np.where(unknown[..., None], 0.0, chroma)
    if not unknown.any():
        return chroma
    l_uu, l_uk = matting_rows(luma, unknown, eps)
    flat = chroma.reshape(-1, chroma.shape[-1]).copy()
    flat[unknown.ravel()] = splu(l_uu.tocsc()).solve(-(l_uk @ flat[~unknown.ravel()]))
    return flat.reshape(chroma.shape)


class MattingLaplacianColorization(ChromaPropagation):
    """Chroma propagation in YIQ by the matting Laplacian; eps: the ε of the window's linear model (gray
    units squared): larger values flatten the chroma across faint edges."""

    name = "matting_laplacian"

    def __init__(self, eps: float = 1e-4):
        self.eps = eps

    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        return matting_solve(luma, chroma, ~known, self.eps)

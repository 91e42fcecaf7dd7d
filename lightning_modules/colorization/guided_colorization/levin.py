"""Levin, Lischinski & Weiss 2004, "Colorization using optimization" (EII §3.3.1, Table 3 baseline).

Each missing chroma value is the affinity-weighted mean of its 3×3 neighbours, with affinities from the
luminance: neighbours of similar intensity share a color. Known pixels are fixed, so only the hole is
solved: A_uu x_u = −A_uk x_k, one sparse LU factorization reused for both chroma channels.

Levin et al. work in YIQ, as every guided baseline here does (chroma_propagation.py): Y is the given gray,
so the result keeps the bottleneck's luminance.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from lightning_modules.colorization.guided_colorization.chroma_propagation import ChromaPropagation

# Levin et al.'s code (getColorExact.m): the exponent's denominator (2σ_r² in the paper) is 0.6 × the
# window's intensity variance, raised so that the most similar neighbour keeps weight ≥ 0.01
# (≥ min_s (Y_r − Y_s)² / ln 100) and never below 2e-6 (flat regions).
_VARIANCE_SCALE = 0.6
_MIN_NEAREST_WEIGHT = 0.01
_MIN_DENOMINATOR = 2e-6

_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]


def _neighbours(array: np.ndarray) -> np.ndarray:
    """8×H×W: each pixel's 8 neighbours (zero outside the image)."""
    height, width = array.shape
    padded = np.pad(array, 1)
    return np.stack([padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width] for dy, dx in _NEIGHBOURS])


def levin_system(luma: np.ndarray, unknown: np.ndarray) -> tuple[sp.csc_matrix, sp.csr_matrix]:
    """The hole's linear system (A_uu, A_uk) for one image: luma H×W, unknown H×W bool.

    Row r of A = I − W states x_r = Σ_s w_rs x_s over r's in-image 3×3 neighbours s, with
    w_rs ∝ exp(−(Y_r − Y_s)² / d_r), d_r = max(0.6 var_r, min_s (Y_r − Y_s)² / ln 100, 2e-6), var_r the
    intensity variance of r's window (centre included), normalized so Σ_s w_rs = 1. Unknowns and known
    pixels are numbered in row-major order; −A_uk x_k = W_uk x_k is the known pixels' pull on the hole."""
    height, width = luma.shape
    luma = luma.astype(np.float64)
    neighbours = _neighbours(luma)
    valid = _neighbours(np.ones_like(luma, dtype=bool))  # zero padding: False outside the image

    count = 1 + valid.sum(0)
    mean = (luma + (neighbours * valid).sum(0)) / count
    variance = ((luma - mean) ** 2 + ((neighbours - mean) ** 2 * valid).sum(0)) / count
    squared = (neighbours - luma) ** 2
    nearest = np.where(valid, squared, np.inf).min(0)
    denominator = np.maximum(
        np.maximum(_VARIANCE_SCALE * variance, nearest / -np.log(_MIN_NEAREST_WEIGHT)), _MIN_DENOMINATOR
    )
    weights = np.exp(-squared / denominator) * valid
    weights /= weights.sum(0)

    # The unknown rows' entries (row pixel, column pixel, weight), split by the column's kind.
    index = np.arange(height * width).reshape(height, width)
    keep = valid & unknown
    rows, cols, vals = np.broadcast_to(index, keep.shape)[keep], _neighbours(index)[keep], weights[keep]
    flat_unknown = unknown.ravel()
    n_unknown, n_known = int(flat_unknown.sum()), int((~flat_unknown).sum())
    number = np.empty(height * width, dtype=np.int64)  # position among the unknowns or among the known
    number[flat_unknown], number[~flat_unknown] = np.arange(n_unknown), np.arange(n_known)
    to_unknown = flat_unknown[cols]

    w_uu = sp.csc_matrix(
        (vals[to_unknown], (number[rows[to_unknown]], number[cols[to_unknown]])), shape=(n_unknown, n_unknown)
    )
    w_uk = sp.csr_matrix(
        (vals[~to_unknown], (number[rows[~to_unknown]], number[cols[~to_unknown]])),
        shape=(n_unknown, n_known),
    )
    a_uu = (sp.identity(n_unknown, format="csc") - w_uu).tocsc()
    return a_uu, -w_uk


def levin_solve(luma: np.ndarray, chroma: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Chroma H×W×C with the unknown pixels solved from the known ones (the hole of one image)."""
    chroma = chroma.astype(np.float64)
    if unknown.all():  # nothing to propagate from: a gray image
        return np.zeros_like(chroma)
    if not unknown.any():
        return chroma
    a_uu, a_uk = levin_system(luma, unknown)
    flat = chroma.reshape(-1, chroma.shape[-1]).copy()
    flat[unknown.ravel()] = splu(a_uu).solve(-(a_uk @ flat[~unknown.ravel()]))
    return flat.reshape(chroma.shape)


class LevinColorization(ChromaPropagation):
    """Colorization using optimization in YIQ; runs on the CPU (scipy, float64), any input device."""

    name = "levin"

    def propagate(self, luma: np.ndarray, chroma: np.ndarray, known: np.ndarray) -> np.ndarray:
        return levin_solve(luma, chroma, ~known)

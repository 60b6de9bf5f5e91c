"""Kinematic amplitudes of a set of atoms on the Ewald sphere, sampled on a detector grid, by NUFFT.

For points q = (q_x, q_y, q_z(q_x, q_y)) on the Ewald sphere (lab frame, 1/A without 2 pi,
q_z = k - sqrt(k^2 - q_x^2 - q_y^2), see docs/conventions.md) over a uniform grid of (q_x, q_y), this module
computes, for every group ("species") g of atoms,

    A_g(q) = sum_{j in g} w_j exp(2 pi i q . r_j)          (r_j lab-frame positions in A, w_j complex weights)

with finufft's type-1 2D transform and no 3D transform. How the curvature of the sphere is handled:

* The detector grid is cut into tiles. In a tile with reference point q_c (a grid point) the sphere is
  q_z(q_c + d) = q_z(q_c) + grad q_z(q_c) . d + rho(d). The constant term is a per-atom phase, the linear
  term shifts every atom laterally by z grad q_z(q_c) (a tilt), and only the small curvature remainder
  rho(d) ~ |d|^2 / (2 k) is left.
* exp(2 pi i rho z) = exp(2 pi i rho_0 z) exp(i c t s) with t = (rho - rho_0)/rho_h, s = z/z_h in [-1, 1] and
  c = 2 pi rho_h z_h; exp(i c t s) is expanded in a 2D Chebyshev series sum_{m,n} C_mn T_m(t) T_n(s),
  converging once n exceeds about c, and the coefficient matrix is compressed by an SVD into a sum of R
  separable terms u_r(t) v_r(s) (`phase_separation`, about 30 % fewer than the Chebyshev orders). The atoms'
  weights become w_j v_r(s_j) (one batched type-1 transform per term and species) and the tile's amplitude
  is sum_r u_r(t(d)) a_r(d).

Splitting the detector into tiles keeps c small (a few Chebyshev terms) and every transform's FFT small;
`choose_tiles` picks the number of tiles with a simple cost model. The expansion's truncation error is
bounded by the dropped coefficients (kept below ``eps``); finufft adds its own error ``eps`` relative to
sum |w_j|. Everything is checked against a float64 direct sum in tests/simulate/test_atoms_engine.py.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def ewald_qz_inv_a(qx_inv_a, qy_inv_a, k_inv_a: float) -> np.ndarray:
    """q_z (1/A) of the Ewald-sphere point above (q_x, q_y): k - sqrt(k^2 - q_perp^2), computed stably as
    q_perp^2 / (k + sqrt(k^2 - q_perp^2)). Broadcasts ``qx_inv_a`` against ``qy_inv_a``."""
    q2 = np.asarray(qx_inv_a, dtype=float) ** 2 + np.asarray(qy_inv_a, dtype=float) ** 2
    return q2 / (k_inv_a + np.sqrt(k_inv_a * k_inv_a - q2))


def chebyshev_table(x: np.ndarray, n_terms: int, dtype=np.float64) -> np.ndarray:
    """T_0(x) .. T_{n-1}(x) for x in [-1, 1], shape (n_terms, *x.shape), by the three-term recurrence."""
    x = np.asarray(x, dtype=dtype)
    out = np.empty((max(n_terms, 1),) + x.shape, dtype=dtype)
    out[0] = 1.0
    if n_terms > 1:
        out[1] = x
    for n in range(2, n_terms):
        np.multiply(x, out[n - 1], out=out[n])
        out[n] *= 2.0
        out[n] -= out[n - 2]
    return out[:n_terms]


def dct2_matrix(k: int) -> np.ndarray:
    """(k, k) matrix D of the unnormalised type-II DCT (scipy.fft.dct's ``type=2``): D @ x transforms x along
    its first axis, D[m, j] = 2 cos(pi m (2 j + 1) / (2 k)). A matrix product instead of scipy.fft keeps
    scipy's import (about 0.3 s) off ``sadpnet simulate``; k is at most a few hundred here.

    Example::

        >>> float(dct2_matrix(2)[1, 0])  # 2 cos(pi / 4)
        1.4142135623730951
    """
    m, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    return 2.0 * np.cos(np.pi * m * (2 * j + 1) / (2 * k))


def bessel_j(n_orders: int, x: float) -> np.ndarray:
    """Bessel functions J_0(x) .. J_{n_orders - 1}(x) of real x, shape (n_orders,): the Fourier coefficients of
    exp(i x sin t) = sum_n J_n(x) exp(i n t) (Jacobi-Anger), by an FFT of M samples with M > 2 (n_orders + |x|)
    + 64, where aliasing is below rounding (absolute error ~1e-15). Replaces scipy.special.jv (whose import
    costs about 0.3 s) on the simulator's path.

    Example::

        >>> round(float(bessel_j(1, 2.404825557695773)[0]), 12)  # first zero of J_0
        0.0
    """
    m = 1 << int(math.ceil(math.log2(2 * (n_orders + abs(x)) + 64)))
    t = 2.0 * np.pi * np.arange(m) / m
    return (np.fft.fft(np.exp(1j * x * np.sin(t))) / m).real[:n_orders]


def phase_chebyshev_coefficients(c: float, tol: float) -> np.ndarray:
    """Coefficients C (m_terms, n_terms), complex, with |exp(i c t s) - sum_mn C_mn T_m(t) T_n(s)| <~ tol for
    t, s in [-1, 1]. Computed by Chebyshev interpolation at first-kind nodes (a DCT); only the s order n
    and the t order m are truncated where the dropped coefficients sum to at most tol / 2 each."""
    c = abs(float(c))
    k = int(math.ceil(c + 2.0 * math.log10(1.0 / tol) + 12))
    nodes = np.cos(np.pi * (np.arange(k) + 0.5) / k)
    vals = np.exp(1j * c * np.outer(nodes, nodes))
    dct2 = dct2_matrix(k)
    coef = dct2 @ vals @ dct2.T / (k * k)
    coef[0, :] *= 0.5
    coef[:, 0] *= 0.5
    mag = np.abs(coef)
    keep = []
    for sums in (mag.sum(axis=1), mag.sum(axis=0)):  # over m (rows), then over n (columns)
        tail = np.concatenate([np.cumsum(sums[::-1])[::-1], [0.0]])  # tail[n] = sum over n' >= n
        keep.append(max(1, int(np.argmax(tail <= 0.5 * tol))))
    return coef[:keep[0], :keep[1]]


def n_chebyshev_terms(c: float, tol: float) -> int:
    """Chebyshev orders in s needed for exp(i c t s) to ``tol``: the smallest N with
    2 sum_{n >= N} |J_n(c)| <= tol (Jacobi-Anger)."""
    mag = 2.0 * np.abs(bessel_j(int(abs(c) + 40 + 3 * math.log10(1.0 / tol)), abs(c)))
    tail = np.concatenate([np.cumsum(mag[::-1])[::-1], [0.0]])
    return max(1, int(np.argmax(tail <= tol)))


@lru_cache(maxsize=256)
def phase_separation(c: float, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """A low-rank separation exp(i c t s) ~ sum_r u_r(t) v_r(s) for t, s in [-1, 1], max error <= tol.

    The 2D Chebyshev coefficients C (`phase_chebyshev_coefficients`, to tol / 100) are factorised by an SVD,
    C = P S Q^H, and the rank R is the smallest whose error on a dense grid is <= tol: about 30 % fewer
    terms (transforms) than truncating the Chebyshev series itself.

    Returns:
        (qcoef (m, R), scoef (R, n)) complex: u_r(t) = sum_m T_m(t) qcoef[m, r] and
        v_r(s) = sum_n scoef[r, n] T_n(s). Cached: treat them as read-only.
    """
    coef = phase_chebyshev_coefficients(c, tol * 1e-2)
    p, sv, qh = np.linalg.svd(coef, full_matrices=False)
    grid = np.cos(np.linspace(0.0, np.pi, 257))
    tt = chebyshev_table(grid, coef.shape[0]).T @ (p * sv)  # (257, rank)
    ss = qh @ chebyshev_table(grid, coef.shape[1])  # (rank, 257)
    error = -np.exp(1j * abs(c) * np.outer(grid, grid))  # approximation - exact, one rank added at a time
    rank = len(sv)
    for r in range(len(sv)):
        error += np.outer(tt[:, r], ss[r])
        if np.abs(error).max() <= tol:
            rank = r + 1
            break
    return (p * sv)[:, :rank], qh[:rank]


@dataclass(frozen=True)
class Tile:
    """A rectangle of the fine detector grid: indices [ix0, ix1) along q_x and [iy0, iy1) along q_y."""

    ix0: int
    ix1: int
    iy0: int
    iy1: int


def split_tiles(n_pixels_x: int, n_pixels_y: int, oversample: int, n_tiles: int) -> list[Tile]:
    """Cut a grid of (n_pixels * oversample) fine points per axis into n_tiles x n_tiles tiles whose edges
    fall on pixel boundaries (so each pixel's sub-samples lie in one tile)."""
    tiles = []
    for bx in np.array_split(np.arange(n_pixels_x), min(n_tiles, n_pixels_x)):
        for by in np.array_split(np.arange(n_pixels_y), min(n_tiles, n_pixels_y)):
            tiles.append(Tile(int(bx[0]) * oversample, (int(bx[-1]) + 1) * oversample,
                              int(by[0]) * oversample, (int(by[-1]) + 1) * oversample))
    return tiles


def _tile_phase_range(qx, qy, k_inv_a):
    """Reference point, gradient and curvature remainder rho of q_z on one tile (float64)."""
    icx, icy = len(qx) // 2, len(qy) // 2
    qc = np.array([qx[icx], qy[icy]])
    qzc = float(ewald_qz_inv_a(qc[0], qc[1], k_inv_a))
    grad = qc / (k_inv_a - qzc)  # d q_z / d q_perp = q_perp / sqrt(k^2 - q_perp^2)
    qz = ewald_qz_inv_a(qx[:, None], qy[None, :], k_inv_a)
    rho = qz - qzc - grad[0] * (qx[:, None] - qc[0]) - grad[1] * (qy[None, :] - qc[1])
    return qc, qzc, grad, qz, rho


#: Cost model of one transform (seconds, one core): spreading per atom, FFT per (grid point x log2), and a
#: fixed cost per tile (plan, weights, scattering factors). Only the ratios matter.
_SPREAD_S, _FFT_S, _TILE_S = 2.6e-8, 2.1e-9, 2e-3


def choose_tiles(n_atoms: int, n_fine: int, n_pixels: int, k_inv_a: float, q_extent_inv_a: float,
                 z_half_a: float, tol: float) -> int:
    """Tiles per axis minimising a cost model. In the paraxial limit the curvature remainder over a tile of
    width w spans [0, w^2 / (4 k)], so c = 2 pi z_half w^2 / (8 k); each tile needs R(c) transforms per
    species (R: the rank of `phase_separation`; first estimated from the Chebyshev order, then computed for
    the three cheapest candidates), each an FFT of about (1.25 m)^2 points plus spreading every atom."""

    def cost(nt: int, n_terms: int) -> float:
        g = (1.25 * n_fine / nt) ** 2
        return nt * nt * (n_terms * (_SPREAD_S * n_atoms + _FFT_S * g * math.log2(g)) + _TILE_S + 2e-8 * n_atoms)

    def c_of(nt: int) -> float:
        w = 2.0 * q_extent_inv_a / nt
        return 2.0 * math.pi * z_half_a * w * w / (8.0 * k_inv_a)

    cands = [nt for nt in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16) if nt <= n_pixels]
    rough = sorted(cands, key=lambda nt: cost(nt, max(1, math.ceil(0.7 * n_chebyshev_terms(c_of(nt), tol)))))
    rank = lambda nt: phase_separation(float(f"{c_of(nt):.3g}"), 0.5 * tol)[0].shape[1]  # noqa: E731
    return min(rough[:3], key=lambda nt: cost(nt, rank(nt)))


def iter_sphere_amplitudes(positions_a: np.ndarray, weights: np.ndarray, groups: np.ndarray, n_groups: int,
                           qx_inv_a: np.ndarray, qy_inv_a: np.ndarray, k_inv_a: float, oversample: int, *,
                           eps: float = 1e-6, n_tiles: int | None = None, nthreads: int | None = None,
                           max_batch_bytes: int = 256 * 2**20, info: dict | None = None):
    """Yield, tile by tile, the amplitudes A_g(q) = sum_{j in group g} w_j exp(2 pi i q . r_j) on the sphere.

    Args:
        positions_a: (n, 3) lab-frame positions, A. They are shifted so that the centre of their bounding box
            is the phase origin of the returned amplitudes (intensities do not depend on it).
        weights: (n,) complex weights w_j (e.g. occupancies).
        groups: (n,) int group (species) index of each atom, 0 .. n_groups - 1.
        qx_inv_a, qy_inv_a: uniform, increasing 1D grids of q_x (length Mx) and q_y (length My), 1/A.
        k_inv_a: Ewald-sphere radius, 1/A.
        oversample: fine points per pixel (tiles end on pixel boundaries).
        eps: requested relative accuracy (finufft tolerance and Chebyshev truncation); below 1e-5 the
            transforms run in double precision.
        n_tiles: tiles per axis, or None to choose with `choose_tiles`.
        nthreads: finufft threads (default: OMP_NUM_THREADS or 1).
        max_batch_bytes: bound on the weight arrays handed to one transform (atoms are processed in chunks).
        info: if a dict, receives ``n_tiles`` and ``n_terms`` (transforms per species, all tiles together).

    Yields:
        (tile, qz, amplitudes): the `Tile`, q_z on it (1/A, shape (mx, my)) and complex128 amplitudes of
        shape (n_groups, mx, my), indexed [group, ix - ix0, iy - iy0].
    """
    import finufft

    pos = np.asarray(positions_a, dtype=float)
    pos = pos - 0.5 * (pos.min(axis=0) + pos.max(axis=0))
    weights = np.asarray(weights, dtype=complex)
    groups = np.asarray(groups, dtype=int)
    qx = np.asarray(qx_inv_a, dtype=float)
    qy = np.asarray(qy_inv_a, dtype=float)
    dqx, dqy = qx[1] - qx[0], qy[1] - qy[0]
    z_half = max(float(np.abs(pos[:, 2]).max()), 1e-12)
    s = pos[:, 2] / z_half
    double = eps < 1e-5
    cdtype, rdtype = (np.complex128, np.float64) if double else (np.complex64, np.float32)
    tol = max(eps, 1e-15)
    if nthreads is None:
        nthreads = int(os.environ.get("OMP_NUM_THREADS", "1") or 1)
    n_px, n_py = len(qx) // oversample, len(qy) // oversample
    if n_tiles is None:
        q_ext = 0.5 * max(qx[-1] - qx[0], qy[-1] - qy[0])
        n_tiles = choose_tiles(len(pos), max(len(qx), len(qy)), max(n_px, n_py), k_inv_a, q_ext, z_half, tol)
    tiles = split_tiles(n_px, n_py, oversample, int(n_tiles))

    # geometry of every tile; one Chebyshev expansion (for the widest curvature range) serves all tiles
    geo = []
    for tile in tiles:
        tqx, tqy = qx[tile.ix0:tile.ix1], qy[tile.iy0:tile.iy1]
        qc, qzc, grad, qz, rho = _tile_phase_range(tqx, tqy, k_inv_a)
        geo.append((tile, qc, qzc, grad, qz, rho, 0.5 * (rho.max() + rho.min())))
    rho_h = max(max(0.5 * (g[5].max() - g[5].min()) for g in geo), 1e-300)
    qcoef, scoef = phase_separation(2.0 * math.pi * rho_h * z_half, 0.5 * tol)
    n_t, n_s = qcoef.shape[0], qcoef.shape[1]  # Chebyshev orders in t; separated terms (transforms)
    if info is not None:
        info.update(n_tiles=int(n_tiles), n_terms=int(n_s * len(tiles)))
    # per group: positions, weights and T_n(s_j) (C-contiguous, computed once for all tiles)
    # the reference points form a grid: their lateral phases factorise into per-column and per-row factors
    ref_x = sorted({float(g[1][0]) for g in geo})
    ref_y = sorted({float(g[1][1]) for g in geo})

    def _phase(cycles):
        cycles = cycles - np.rint(cycles)
        ang = (2.0 * np.pi * cycles).astype(rdtype)
        return np.cos(ang) + 1j * np.sin(ang)  # complex of rdtype's precision

    members = []
    for g in range(n_groups):
        idx = np.flatnonzero(groups == g)
        p = pos[idx]
        # lateral NUFFT coordinates (radians per mode), wrapped once; the tilt term grad . z added per tile
        # stays below ~0.3 rad, well inside finufft's [-3 pi, 3 pi)
        xw = np.mod(2.0 * np.pi * dqx * p[:, 0] + np.pi, 2.0 * np.pi) - np.pi
        yw = np.mod(2.0 * np.pi * dqy * p[:, 1] + np.pi, 2.0 * np.pi) - np.pi
        ex = {v: _phase(v * p[:, 0]) * weights[idx].astype(cdtype) for v in ref_x}
        ey = {v: _phase(v * p[:, 1]) for v in ref_y}
        # v_r(s_j), the atoms' factors of the separated Ewald phase: (n_s, n_atoms)
        vs = (scoef @ chebyshev_table(s[idx], scoef.shape[1])).astype(cdtype)
        members.append((p, vs, xw.astype(rdtype), yw.astype(rdtype),
                        p[:, 2].astype(rdtype), ex, ey))
    coef_re = np.ascontiguousarray(qcoef.real.T, dtype=rdtype)  # (n_s, n_t)
    coef_im = np.ascontiguousarray(qcoef.imag.T, dtype=rdtype)
    chunk = max(1, int(max_batch_bytes // (n_s * np.dtype(cdtype).itemsize)))
    fin_eps = max(tol, 1e-9 if double else 1e-6)
    plans: dict = {}

    for tile, qc, qzc, grad, qz, rho, rho0 in geo:
        mx, my = qz.shape
        t = np.clip((rho - rho0) / rho_h, -1.0, 1.0)
        # q-side factors sum_m C_mn T_m(t), shape (n_s, mx, my)
        tab = chebyshev_table(t, n_t, dtype=rdtype).reshape(n_t, -1)
        qfac = np.empty((n_s, mx * my), dtype=cdtype)
        np.matmul(coef_re, tab, out=qfac.real)
        np.matmul(coef_im, tab, out=qfac.imag)
        qfac = qfac.reshape(n_s, mx, my)
        plan = plans.get((mx, my))
        if plan is None:
            plan = plans[(mx, my)] = finufft.Plan(1, (mx, my), n_trans=n_s, eps=fin_eps, isign=1, dtype=cdtype,
                                                  nthreads=nthreads, upsampfac=1.25)
        # tile modes: q = qc + (kx dqx, ky dqy), kx = -(mx // 2) ..; the reference point qc is mode 0
        amp = np.zeros((n_groups, mx, my), dtype=complex)
        for g, (gpos, gvs, gx, gy, gz, ex, ey) in enumerate(members):
            if len(gpos) == 0:
                continue
            acc = None
            for i0 in range(0, len(gpos), chunk):
                sl = slice(i0, i0 + chunk)
                p = gpos[sl]
                # w_j exp(2 pi i q_ref . r_j), the reference point's phase
                base = ex[float(qc[0])][sl] * ey[float(qc[1])][sl] * _phase((qzc + rho0) * p[:, 2])
                xs = gx[sl] + rdtype(2.0 * np.pi * dqx * grad[0]) * gz[sl]
                ys = gy[sl] + rdtype(2.0 * np.pi * dqy * grad[1]) * gz[sl]
                c = np.multiply(gvs[:, sl], base[None, :], dtype=cdtype)
                plan.setpts(xs, ys)
                part = plan.execute(c).reshape(n_s, mx, my)
                acc = part if acc is None else acc + part
            amp[g] = (qfac * acc).sum(axis=0)
        yield tile, qz, amp

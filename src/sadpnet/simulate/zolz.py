"""Zero-order Laue-zone nets of a crystal on a zone axis, and how alike two of them look.

A zone-axis spot pattern is, to first order, the 2-D net of reflections g with g . [uvw] = 0 whose kinematic
|F_g|^2 is not negligible. `zolz_net` returns that net in 1/A (in-plane coordinates, first axis along the
shortest g) with relative intensities; `align_nets` compares two nets **up to scale and in-plane rotation**
(optionally mirror), and `pattern_distance` is its distance alone. Used by the paper's "appearance" labels
(`sadpnet.model.appearance`) and by the dataset look-alike analysis (`sadpnet.data.lookalikes`).
"""

from __future__ import annotations

import numpy as np


def zolz_reflections(crystal, zone_axis, *, min_intensity: float = 0.01, g_max_inv_a: float | None = None,
                     hmax: int = 8, debye_waller=True) -> tuple[np.ndarray, np.ndarray]:
    """Miller indices of the zero-order Laue-zone reflections of ``crystal`` on ``zone_axis``.

    Args: as `zolz_net`.

    Returns:
        (hkl, intensity): (N, 3) integer indices h with h . [uvw] = 0 (origin excluded) in the conventional
        cell, and (N,) kinematic |F|^2 relative to the strongest kept one.
    """
    from sadpnet.crystal import reciprocal_basis
    from sadpnet.simulate.structure_factor import structure_factors

    cell = np.asarray(crystal.atoms.cell, dtype=float)
    if g_max_inv_a is not None:
        hmax = int(np.ceil(g_max_inv_a * np.linalg.norm(cell, axis=1).max())) + 1
    r = np.arange(-hmax, hmax + 1)
    hkl = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    z = np.asarray(zone_axis, dtype=int)
    hkl = hkl[(hkl @ z == 0) & np.any(hkl != 0, axis=1)]
    if g_max_inv_a is not None:
        hkl = hkl[np.linalg.norm(hkl @ reciprocal_basis(cell), axis=1) <= g_max_inv_a]
    if len(hkl) == 0:
        return hkl, np.zeros(0)
    f2 = np.abs(structure_factors(crystal, hkl, debye_waller=debye_waller)) ** 2
    keep = f2 >= min_intensity * f2.max()
    with np.errstate(invalid="ignore"):  # every reflection extinct: NaN intensities, as zolz_net always gave
        return hkl[keep], f2[keep] / f2[keep].max()


def zolz_net(crystal, zone_axis, *, min_intensity: float = 0.01, g_max_inv_a: float | None = None,
             hmax: int = 8, debye_waller=True) -> tuple[np.ndarray, np.ndarray]:
    """Zero-order Laue-zone reflections of ``crystal`` on ``zone_axis``.

    Args:
        crystal: `sadpnet.crystal.Crystal` (its conventional cell is used).
        zone_axis: [uvw] in the conventional direct lattice.
        min_intensity: keep reflections with |F|^2 at least this fraction of the strongest kept one.
        g_max_inv_a: keep |g| <= this (1/A); the Miller index range is then chosen to cover it. None: all
            reflections with |h|, |k|, |l| <= ``hmax``.
        debye_waller: as in `sadpnet.simulate.structure_factor.structure_factors`.

    Returns:
        (points, intensity): (N, 2) in-plane g in 1/A (x along the shortest g, y = zone x x) and (N,) |F|^2
        relative to the strongest (the excitation error is left out on purpose: it depends on thickness and
        voltage, not on how the structure's pattern looks). The origin is not included.
    """
    from sadpnet.crystal import reciprocal_basis

    hkl, f2 = zolz_reflections(crystal, zone_axis, min_intensity=min_intensity, g_max_inv_a=g_max_inv_a, hmax=hmax,
                               debye_waller=debye_waller)
    if len(hkl) == 0:
        return np.zeros((0, 2)), np.zeros(0)
    cell = np.asarray(crystal.atoms.cell, dtype=float)
    g = hkl @ reciprocal_basis(cell)
    zc = np.asarray(zone_axis, dtype=float) @ cell
    e3 = zc / np.linalg.norm(zc)
    e1 = g[np.argmin(np.linalg.norm(g, axis=1))]
    e1 = e1 / np.linalg.norm(e1)
    e2 = np.cross(e3, e1)
    return np.stack([g @ e1, g @ e2], axis=1), f2


def _second_length(p: np.ndarray) -> float:
    """Length of the shortest vector not collinear with the shortest one (normalised set; 1 if none)."""
    r = np.hypot(p[:, 0], p[:, 1])
    v0 = p[np.argmin(r)]
    cross = np.abs(p[:, 0] * v0[1] - p[:, 1] * v0[0])
    off = r[cross > 1e-6 * r]
    return float(off.min()) if len(off) else 1.0


def shortest_length(points: np.ndarray) -> float:
    """Length of the shortest non-zero vector of a net (1/A); inf for an empty net."""
    r = np.hypot(points[:, 0], points[:, 1]) if len(points) else np.zeros(0)
    r = r[r > 1e-9]
    return float(r.min()) if len(r) else np.inf


def align_nets(a: np.ndarray, b: np.ndarray, radius: float = 1.5, mirror: bool = True) -> tuple[float, np.ndarray, np.ndarray]:
    """Best scale- and rotation-free alignment of two spot sets (N, 2), (M, 2).

    Each set is divided by its shortest |g|; a is rotated so that one of its shortest vectors lies on each
    shortest vector of b in turn (and mirrored, with ``mirror``); the distance is the symmetric mean
    nearest-neighbour distance of the spots within ``radius`` times the longer of the two sets' second basis
    vectors (so both in-plane directions of the net count). Returns (distance, index of each kept b spot's
    nearest aligned a spot, indices of the kept b spots), for the best trial; distance is dimensionless
    (units of the shortest |g|), inf when one set is empty and the other is not.
    """
    from scipy.spatial import cKDTree

    def norm(p):
        r = np.hypot(p[:, 0], p[:, 1])
        idx = np.flatnonzero(r > 1e-9)
        return p[idx] / r[idx].min(), idx

    empty = np.zeros(0, dtype=int)
    if len(a) == 0 or len(b) == 0:
        return (0.0 if len(a) == len(b) else np.inf), empty, empty
    (pa, ia), (pb, ib) = norm(a), norm(b)
    radius = radius * max(_second_length(pa), _second_length(pb))
    ka, kb = np.hypot(*pa.T) <= radius + 1e-6, np.hypot(*pb.T) <= radius + 1e-6
    pa, ia, pb, ib = pa[ka], ia[ka], pb[kb], ib[kb]
    ra, rb = np.hypot(*pa.T), np.hypot(*pb.T)
    sa = pa[np.abs(ra - 1.0) < 1e-3][:1]
    sb = pb[np.abs(rb - 1.0) < 1e-3]
    tb = cKDTree(pb)
    best, best_nn = np.inf, empty
    for m in ((1.0, -1.0) if mirror else (1.0,)):
        q = pa * np.array([1.0, m])
        va = sa[0] * np.array([1.0, m])
        for vb in sb:
            ang = np.arctan2(vb[1], vb[0]) - np.arctan2(va[1], va[0])
            c, s = np.cos(ang), np.sin(ang)
            qr = q @ np.array([[c, s], [-s, c]])
            d1 = tb.query(qr)[0].mean()
            d2, nn = cKDTree(qr).query(pb)
            d = 0.5 * (d1 + d2.mean())
            if d < best:
                best, best_nn = d, ia[nn]
    return float(best), best_nn, ib


def pattern_distance(a: np.ndarray, b: np.ndarray, radius: float = 1.5) -> float:
    """Scale- and rotation-free distance of two spot sets (N, 2), (M, 2) (see `align_nets`)."""
    return align_nets(a, b, radius)[0]

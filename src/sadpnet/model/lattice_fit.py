"""Index a pattern's spots against each cubic class: which zone axis and lattice parameter explain them.

The textbook ratio method, automated. For a space group G and a zone axis [uvw] the zero-order Laue zone
holds the reflections h with h . [uvw] = 0 that G allows (`sadpnet.crystal.reflections`); for a cubic
lattice they form a fixed 2-D point set in units of 1/a (`zone_template`). A pattern's detected spots are
matched to it up to the unknown lattice parameter a, in-plane rotation and mirror: two short, independent
spots (the anchors) fix all three against each template pair of the same length ratio and angle
(`hypotheses`), and each hypothesis is scored by the share of the observed spot intensity it explains and
the share of its predicted reflections, inside the observed radius, that are missing (`score_hypothesis`).

`fit_classes` returns, per class, the best hypotheses (zone, a in A, score, explained, missing); these are
the per-pattern evidence of `sadpnet.model.indexing` and the material of the joint lattice-parameter check.

Example:
    >>> fits = fit_classes(find_spots(img, 0.0133, (128, 128)), classes=(221, 225, 229))
    >>> fits[225][0].a_a, fits[225][0].zone
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sadpnet.crystal.reflections import allowed_reflections

#: Lattice parameters considered, A (cubic crystals of the shipped collections: 2.8 - 22 A).
A_RANGE_A = (2.0, 25.0)
#: Relative and absolute (in units of the pixel size) tolerance of a spot position.
TOL_RELATIVE = 0.025
TOL_PIXELS = 1.5
#: Weight of the missing-reflection share in a hypothesis' score.
MISSING_WEIGHT = 1.0
#: Predicted reflections count as missing inside the radius that holds this share of the observed spot weight
#: (`missing_radius`); 1.0: out to the farthest detected spot. 0.9 counts the weak high-order reflections that a
#: detector loses before its last faint spot as not missing, which helps on clean validation crystals together
#: with no spot-finder floor, but the pair was not adopted (`spots.MIN_RELATIVE`; docs/classifier-v2.md,
#: "Spot indexing on patterns without a look-alike").
MISSING_SHARE = 1.0
#: Anchor pairs of a template come from its reflections of this many shortest lengths. Eight, not six: a
#: pattern whose odd reflections are weak (e.g. fcc [013] of a rocksalt-like crystal) shows a sub-net whose
#: short vectors are the template's 7th-8th shells. Chosen on 48 training-corpus crystals, 16 axes each
#: (docs/classifier-v2.md): 3-axis sets right 43 / 45 / 45 / 45 and 16-axis materials 35 / 42 / 39 / 39 of 48
#: for 6 / 8 / 10 / 14 shells; indexing time per pattern 72 -> 104 ms from 6 to 8 shells.
ANCHOR_SHELLS = 8


def candidate_zones(max_index: int = 4) -> tuple[tuple[int, int, int], ...]:
    """Primitive [uvw] with 0 <= u <= v <= w <= ``max_index`` (one per family of the cubic m-3m group)."""
    out = [t for t in itertools.product(range(max_index + 1), repeat=3)
           if t[0] <= t[1] <= t[2] and t[2] > 0 and math.gcd(*t) == 1]
    return tuple(sorted(out, key=lambda t: (sum(x * x for x in t), t)))


@dataclass(frozen=True)
class Template:
    """Allowed zero-order reflections of a cubic group on one zone axis, for a = 1.

    Attributes:
        space_group, zone: the class and [uvw].
        points: (M, 2) in-plane coordinates of h (units of 1/a), sorted by length.
        pairs: (P, 5) anchor pairs: index i, index j, |t_i|, |t_j|, angle between them (rad).

    ``lengths`` and ``tree`` are computed once, on first use.
    """

    space_group: int
    zone: tuple[int, int, int]
    points: np.ndarray
    pairs: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """(M,) |t|, ascending."""
        return _cached(self, "_lengths", lambda: np.hypot(self.points[:, 0], self.points[:, 1]))

    @property
    def tree(self):
        """scipy cKDTree of ``points``."""
        from scipy.spatial import cKDTree

        return _cached(self, "_tree", lambda: cKDTree(self.points))


def _cached(obj, name: str, make):
    if name not in obj.__dict__:
        object.__setattr__(obj, name, make())
    return obj.__dict__[name]


@lru_cache(maxsize=None)
def _hkl_ball(q_max: float) -> np.ndarray:
    """(N, 3) int Miller indices with 0 < |h| <= ``q_max`` (built once; every zone template filters it)."""
    n = int(math.ceil(q_max))
    r = np.arange(-n, n + 1)
    hkl = np.stack(np.meshgrid(r, r, r, indexing="ij"), -1).reshape(-1, 3)
    norm = np.linalg.norm(hkl, axis=1)
    return hkl[(norm > 0) & (norm <= q_max)]


@lru_cache(maxsize=None)
def zone_template(space_group: int, zone: tuple[int, int, int], q_max: float = 20.0,
                  n_shells: int = ANCHOR_SHELLS) -> Template:
    """The `Template` of ``space_group`` on ``zone``: allowed h . [uvw] = 0 with |h| <= ``q_max``; anchor
    pairs among the reflections of the ``n_shells`` shortest lengths."""
    hkl = _hkl_ball(q_max)
    z = np.asarray(zone)
    hkl = hkl[hkl @ z == 0]
    hkl = hkl[allowed_reflections(space_group, hkl)]
    length = np.linalg.norm(hkl, axis=1)
    order = np.argsort(length, kind="stable")
    hkl, length = hkl[order], length[order]
    e3 = z / np.linalg.norm(z)
    e1 = hkl[0] / length[0]
    e2 = np.cross(e3, e1)
    pts = np.stack([hkl @ e1, hkl @ e2], axis=1)
    shells = np.unique(np.round(length, 6))[:n_shells]
    near = np.flatnonzero(length <= shells[-1] + 1e-6)
    i, j = np.meshgrid(near, near, indexing="ij")
    i, j = i.ravel(), j.ravel()
    cross = pts[i, 0] * pts[j, 1] - pts[i, 1] * pts[j, 0]
    dot = (pts[i] * pts[j]).sum(1)
    keep = (i != j) & (np.abs(cross) > 1e-6 * length[i] * length[j]) & (cross > 0)
    ang = np.arctan2(np.abs(cross), dot)
    pairs = np.stack([i, j, length[i], length[j], ang], axis=1)[keep]
    return Template(space_group, tuple(int(x) for x in zone), pts, pairs)


@dataclass(frozen=True)
class Fit:
    """One indexing hypothesis of a pattern in one class.

    Attributes:
        space_group, zone: the class and the zone axis [uvw] (a representative of its family).
        a_a: lattice parameter, A.
        score: explained - MISSING_WEIGHT x missing (higher is better, at most 1).
        explained: share of the observed spot weight within tolerance of an allowed reflection.
        missing: share of the allowed reflections inside the observed radius with no spot.
        n_predicted: allowed reflections inside the observed radius.
        missing_low: share of the allowed reflections inside half the observed radius with no spot.
        unexplained_strong: share of the strong spots (>= 5 % of the strongest) that no reflection explains.
    """

    space_group: int
    zone: tuple[int, int, int]
    a_a: float
    score: float
    explained: float
    missing: float
    n_predicted: int
    missing_low: float = 1.0
    unexplained_strong: float = 1.0


def spot_weights(intensity: np.ndarray) -> np.ndarray:
    """Weight of each spot in the explained share: sqrt(intensity) (weak spots count, less)."""
    return np.sqrt(np.clip(intensity, 1e-6, None))


def anchors(g: np.ndarray, intensity: np.ndarray, n_first: int = 3, n_second: int = 2,
            min_relative: float = 0.05, n_min: int = 6) -> list[tuple[int, int]]:
    """Index pairs (i, j) of short, non-collinear spots (angle 15-165 degrees) among the strong ones (at least
    ``min_relative`` of the strongest, or the ``n_min`` strongest), to fix a hypothesis: weak tails of
    higher Laue zones never anchor one. When the strong spots all lie on one row, all spots are candidates."""
    r = np.hypot(g[:, 0], g[:, 1])
    inten = np.asarray(intensity)
    strong = np.flatnonzero(inten >= min_relative * inten.max())
    if len(strong) < n_min:
        strong = np.argsort(-inten)[:n_min]
    pairs = _short_pairs(g, r, strong[np.argsort(r[strong])], n_first, n_second)
    return pairs or _short_pairs(g, r, np.argsort(r), n_first, n_second)


def _short_pairs(g, r, order, n_first: int, n_second: int) -> list[tuple[int, int]]:
    out = []
    for i in order[:n_first]:
        cross = np.abs(g[i, 0] * g[order, 1] - g[i, 1] * g[order, 0]) / (r[i] * r[order] + 1e-12)
        ok = [int(j) for j, c in zip(order, cross) if j != i and c > math.sin(math.radians(15))]
        out += [(int(i), j) for j in ok[:n_second]]
    return out


def hypotheses(template: Template, g1: np.ndarray, g2: np.ndarray, *, tol_ratio: float = 0.04,
               tol_angle_rad: float = math.radians(3.0)) -> list[tuple[float, np.ndarray]]:
    """(a in A, 2 x 2 map from template to lab coordinates in 1/A) for each template pair like (g1, g2)."""
    r1, r2 = float(np.hypot(*g1)), float(np.hypot(*g2))
    cross = g1[0] * g2[1] - g1[1] * g2[0]
    ang = math.atan2(abs(cross), float(g1 @ g2))
    p = template.pairs
    ok = (np.abs(p[:, 3] / p[:, 2] * r1 / r2 - 1) < tol_ratio) & (np.abs(p[:, 4] - ang) < tol_angle_rad)
    a = p[ok, 2] / r1
    ok_idx = np.flatnonzero(ok)[(a >= A_RANGE_A[0]) & (a <= A_RANGE_A[1])]
    out, seen = [], set()
    for k in ok_idx:
        i, j = int(p[k, 0]), int(p[k, 1])
        a_k = float(p[k, 2] / r1)
        key = round(math.log(a_k), 3)
        if key in seen:
            continue
        seen.add(key)
        t = template.points[[i, j]] / a_k  # rows: t1, t2 (1/A)
        mirror = 1.0 if cross > 0 else -1.0
        tm = t * np.array([1.0, mirror])
        phi = math.atan2(g1[1], g1[0]) - math.atan2(tm[0, 1], tm[0, 0])
        c, s = math.cos(phi), math.sin(phi)
        m = np.array([[1.0, 0.0], [0.0, mirror]]) @ np.array([[c, s], [-s, c]]) / a_k
        out.append((a_k, m))
    return out


def score_hypothesis(template: Template, a_a: float, m: np.ndarray, g: np.ndarray, w: np.ndarray, g_tree,
                     r_min: float, r_max: float, tol_abs: float, refine: bool = True,
                     rg: np.ndarray | None = None, tol_relative: float = TOL_RELATIVE) -> Fit:
    """Score the map ``m`` (template -> lab, 1/A) against observed spots ``g`` (weights ``w``, KD-tree
    ``g_tree``, lengths ``rg`` = |g| when already computed); predicted reflections count between ``r_min``
    and ``r_max`` (1/A). A spot and a reflection match within ``tol_relative`` x |g| + ``tol_abs``. With
    ``refine``, the scale and rotation are first refined by least squares over the matched spots
    (`refined_map`)."""
    rg = np.hypot(g[:, 0], g[:, 1]) if rg is None else rg
    if refine:
        a_a, m = refined_map(template, a_a, m, g, tol_abs, rg, tol_relative)
    lo, hi = np.searchsorted(template.lengths, [r_min * a_a, r_max * 1.02 * a_a])
    if hi <= lo:
        return Fit(template.space_group, template.zone, a_a, -1.0, 0.0, 1.0, 0)
    d_obs = template.tree.query(g @ np.linalg.inv(m))[0] / a_a
    hit = d_obs <= tol_relative * rg + tol_abs
    explained = float(w[hit].sum() / w.sum())
    strong = w >= math.sqrt(0.05)
    unexplained_strong = float(np.mean(~hit[strong])) if strong.any() else 0.0
    lengths = template.lengths[lo:hi] / a_a
    absent = g_tree.query(template.points[lo:hi] @ m)[0] > tol_relative * lengths + tol_abs
    missing = float(np.mean(absent))
    low = lengths <= 0.5 * r_max
    missing_low = float(np.mean(absent[low])) if low.any() else missing
    return Fit(template.space_group, template.zone, a_a, explained - MISSING_WEIGHT * missing, explained, missing,
               int(hi - lo), missing_low, unexplained_strong)


def refined_map(template: Template, a_a: float, m: np.ndarray, g: np.ndarray, tol_abs: float,
                rg: np.ndarray | None = None, tol_relative: float = TOL_RELATIVE):
    """(a, map) refined by a 2-D similarity fit (complex least squares g = z t) over the spots within
    tolerance of a reflection; unchanged when fewer than 3 spots match. ``rg``: |g|, if already computed."""
    rg = np.hypot(g[:, 0], g[:, 1]) if rg is None else rg
    d, idx = template.tree.query(g @ np.linalg.inv(m))
    ok = d / a_a <= tol_relative * rg + tol_abs
    if ok.sum() < 3:
        return a_a, m
    u = template.points[idx[ok]] @ (m * a_a)  # matched reflections, rotated and mirrored, a = 1
    uc, gc = u[:, 0] + 1j * u[:, 1], g[ok, 0] + 1j * g[ok, 1]
    z = complex(np.sum(gc * np.conj(uc)) / np.sum(np.abs(uc) ** 2))
    if not (A_RANGE_A[0] <= 1 / abs(z) <= A_RANGE_A[1]):
        return a_a, m
    zmat = np.array([[z.real, z.imag], [-z.imag, z.real]])
    return 1 / abs(z), (m * a_a) @ zmat


def missing_radius(rg: np.ndarray, w: np.ndarray, g_max: float, share: float = MISSING_SHARE) -> float:
    """Outer radius (1/A) inside which a hypothesis' predicted reflections count as missing: the smallest |g|
    that holds ``share`` of the spot weight ``w`` of spots at ``rg`` = |g| (the farthest spot when ``share`` >= 1),
    at most ``g_max`` (the detector's inscribed circle)."""
    if share >= 1.0:
        return min(float(rg.max()), float(g_max))
    order = np.argsort(rg, kind="stable")
    cum = np.cumsum(w[order]) / w.sum()
    k = min(int(np.searchsorted(cum, share - 1e-12)), len(rg) - 1)
    return min(float(rg[order][k]), float(g_max))


def fit_classes(spots, classes=(213, 221, 225, 227, 229), *, zones=None, pixel_size_inv_a: float = 0.0133,
                keep: int = 8, tol_relative: float = TOL_RELATIVE, tol_pixels: float = TOL_PIXELS,
                missing_share: float | None = None) -> dict[int, list[Fit]]:
    """The best ``keep`` hypotheses per class (distinct lattice parameters, best score first).

    Args:
        spots: `sadpnet.model.spots.Spots` of one pattern.
        classes: cubic space-group numbers.
        zones: candidate zone axes (default `candidate_zones()`: every family up to index 4).
        pixel_size_inv_a: the pattern's calibration (sets the absolute position tolerance).
        tol_relative, tol_pixels: a spot matches a reflection within tol_relative x |g| + tol_pixels x
            pixel_size_inv_a (defaults: the indexing tolerances; exact spot lists may ask for tighter ones).
        missing_share: predicted reflections count as missing inside `missing_radius` of this share of the
            spot weight (default `MISSING_SHARE`; 1.0: out to the farthest spot, for complete exact nets).

    Returns:
        {space group: [Fit, ...]}; empty lists when fewer than 2 independent spots were found.
    """
    from scipy.spatial import cKDTree

    g = np.asarray(spots.g_inv_a, dtype=float)
    out: dict[int, list[Fit]] = {int(c): [] for c in classes}
    pairs = anchors(g, spots.intensity) if len(g) >= 2 else []
    if not pairs:
        return out
    w = spot_weights(np.asarray(spots.intensity))
    rg = np.hypot(g[:, 0], g[:, 1])  # |g|, once per pattern, for every hypothesis
    r_max = missing_radius(rg, w, spots.g_max_inv_a, MISSING_SHARE if missing_share is None else missing_share)
    tol_abs = tol_pixels * pixel_size_inv_a
    g_tree = cKDTree(g)
    for c in classes:
        fits = []
        for zone in zones or candidate_zones():
            tpl = zone_template(int(c), zone)
            for i, j in pairs:
                for a_a, m in hypotheses(tpl, g[i], g[j]):
                    fits.append(score_hypothesis(tpl, a_a, m, g, w, g_tree, spots.g_min_inv_a, r_max, tol_abs,
                                                 rg=rg, tol_relative=tol_relative))
        out[int(c)] = _best_distinct(fits, keep)
    return out


def _best_distinct(fits: list[Fit], keep: int, rel: float = 0.01) -> list[Fit]:
    """The best-scoring fits with lattice parameters at least ``rel`` apart."""
    chosen: list[Fit] = []
    for f in sorted(fits, key=lambda f: -f.score):
        if all(abs(f.a_a / c.a_a - 1) > rel for c in chosen):
            chosen.append(f)
            if len(chosen) == keep:
                break
    return chosen


def net_explained(spots, *, pixel_size_inv_a: float = 0.0133) -> float:
    """Share of the spot weight that the best 2-D net through two anchor spots explains (0..1).

    A crystal's zone-axis pattern is a net: every spot an integer combination of two short ones. Noise,
    amorphous rings and blank frames are not, whatever the crystal system; this is what tells "unknown"
    input from a crystal of another class.
    """
    g = np.asarray(spots.g_inv_a, dtype=float)
    if len(g) < 3:
        return 0.0
    w = spot_weights(np.asarray(spots.intensity))
    tol_abs = TOL_PIXELS * pixel_size_inv_a
    rg = np.hypot(g[:, 0], g[:, 1])
    best = 0.0
    for i, j in anchors(g, spots.intensity):
        basis = g[[i, j]]
        coeff = g @ np.linalg.inv(basis)
        err = np.hypot(*((coeff - np.round(coeff)) @ basis).T)
        best = max(best, float(w[err <= TOL_RELATIVE * rg + tol_abs].sum() / w.sum()))
    return max(best, _row_explained(g, w, rg, tol_abs))


def _row_explained(g: np.ndarray, w: np.ndarray, rg: np.ndarray, tol_abs: float) -> float:
    """Share of the spot weight on one systematic row n g_1 (g_1 the shortest of the strong spots): the
    pattern of a high-index zone of a small cell, whose other rows lie outside the detector."""
    strong = np.flatnonzero(w >= math.sqrt(0.05))
    if len(strong) == 0:
        return 0.0
    g1 = g[strong[np.argmin(rg[strong])]]
    n = np.round(g @ g1 / (g1 @ g1))
    err = np.hypot(*(g - n[:, None] * g1).T)
    return float(w[(err <= TOL_RELATIVE * rg + tol_abs) & (n != 0)].sum() / w.sum())

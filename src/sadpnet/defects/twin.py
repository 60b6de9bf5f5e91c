"""One coherent (reflection) twin boundary in a specimen-sized block of a cubic crystal.

Construction: the block's frame has e1 along the twin direction [uvw] (in the plane), e3 along the plane
normal (hkl) and e2 = e3 x e1. Grain A is the perfect crystal below the boundary, which passes through an
atomic (hkl) layer at ``fraction`` of the block height; grain B above it is the mirror image of the perfect
crystal across that layer (z -> 2 z_b - z). For fcc (111) this gives the Sigma 3 stacking ...ABCACB...;
for bcc (112) the reflection twin. Atoms are returned in the crystal Cartesian frame of the parent.

The reflection across (hkl) must map the lattice onto a coincidence lattice of low Sigma (the reflection
matrix in lattice coordinates has denominators Sigma) and must not be a symmetry of the crystal (then the
"twin" is the same crystal). Twin directions not in the plane are resolved within their family (the
paper's Al (111)[112] becomes (111)[1 1 -2]; Fe (121)[111] becomes (121)[1 -1 1]).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from sadpnet.crystal.lattice import integer_triple
from sadpnet.defects.block import MIN_DISTANCE_A, integer_direction, min_distance_a, perfect_block, period_length_a
from sadpnet.errors import InputError

#: Largest coincidence index Sigma accepted for a twin plane.
MAX_SIGMA = 49


@dataclass
class TwinResult:
    """A block with one coherent twin boundary.

    Attributes:
        atoms: the twinned block (ase.Atoms, crystal frame); as a periodic cell it is a bicrystal whose second
            boundary, at the cell face z = 0, is an equally coherent twin.
        plane: (hkl); direction: [uvw] in the plane; requested: (plane, direction) as asked when resolved, else None.
        sigma: coincidence index of the reflection.
        frame: (3, 3) rows e1 (direction), e2, e3 (plane normal), crystal frame.
        boundary_a: position of the boundary along e3 (frame coordinate), A.
        grain: (N,) 0 for grain A (below, including the boundary layer), 1 for grain B.
        edge_on_zone_axes: low-index zone axes [uvw] lying in the boundary plane (the boundary seen edge-on).
        info: parameters (JSON-serialisable).
    """

    atoms: object
    plane: tuple[int, int, int]
    direction: tuple[int, int, int]
    requested: tuple | None
    sigma: int
    frame: np.ndarray
    boundary_a: float
    grain: np.ndarray
    edge_on_zone_axes: list
    info: dict = field(default_factory=dict)




def reflection_matrix(plane) -> list[list[Fraction]]:
    """Reflection across (hkl) of a cubic lattice, in lattice coordinates: I - 2 n n^T / |n|^2 (exact fractions)."""
    h = [Fraction(int(x)) for x in plane]
    n2 = sum(x * x for x in h)
    return [[Fraction(int(i == j)) - 2 * h[i] * h[j] / n2 for j in range(3)] for i in range(3)]


def reflection_sigma(plane) -> int:
    """Coincidence index of the reflection across (hkl) (1 when the reflection maps the lattice onto itself)."""
    import math

    den = 1
    for row in reflection_matrix(plane):
        for x in row:
            den = den * x.denominator // math.gcd(den, x.denominator)
    return den


def _is_crystal_symmetry(crystal, plane) -> bool:
    import spglib

    m = np.array([[float(x) for x in row] for row in reflection_matrix(plane)])
    cell = (np.asarray(crystal.atoms.cell), crystal.atoms.get_scaled_positions(), crystal.atoms.numbers)
    ds = spglib.get_symmetry_dataset(cell, symprec=1e-3)
    return any(np.allclose(r, m) for r in ds.rotations)


def default_twin(crystal):
    """(plane, direction) of the usual twin: (111)[1 1 -2] for fcc, (112)[1 1 -1] for bcc and other crystals'
    centrings I; (111)[1 1 -2] otherwise."""
    if crystal.space_group_symbol.startswith("I"):
        return (1, 1, 2), (1, 1, -1)
    return (1, 1, 1), (1, 1, -2)


def resolve_twin(crystal, plane, direction):
    """(plane, direction, sigma, requested): checked twin indices (see module docstring)."""
    plane = integer_triple(plane, "plane")
    direction = integer_triple(direction, "direction")
    if crystal.crystal_system != "cubic":
        raise InputError(f"twins are built for cubic crystals only; {crystal.name} is {crystal.crystal_system}",
                         crystal.source)
    sigma = reflection_sigma(plane)
    if sigma == 1 or _is_crystal_symmetry(crystal, plane):
        raise InputError(f"plane ({' '.join(map(str, plane))}) is a mirror plane of the crystal itself: reflecting "
                         "across it gives the same crystal, not a twin", "plane")
    if sigma > MAX_SIGMA:
        raise InputError(f"plane ({' '.join(map(str, plane))}) is not a twin mirror of the lattice (the reflection "
                         f"gives Sigma {sigma} > {MAX_SIGMA})", "plane")
    requested = None
    if sum(p * d for p, d in zip(plane, direction)) != 0:
        best = None
        for p in itertools.permutations(direction):
            for s in itertools.product((1, -1), repeat=3):
                d = tuple(a * b for a, b in zip(p, s))
                if sum(x * y for x, y in zip(plane, d)) != 0:
                    continue
                key = (sum(x != y for x, y in zip(d, direction)), tuple(-x for x in d))
                if best is None or key < best[0]:
                    best = (key, d)
        if best is None:
            raise InputError(f"no direction of the family [{' '.join(map(str, direction))}] lies in the plane "
                             f"({' '.join(map(str, plane))})", "direction")
        requested = (plane, direction)
        direction = best[1]
    return plane, direction, sigma, requested


def edge_on_zone_axes(plane, max_index: int = 2) -> list[tuple[int, int, int]]:
    """Zone axes [uvw] (|u|, |v|, |w| <= max_index, one of each +/- pair) lying in (hkl), shortest first."""
    from sadpnet.defects.block import reduce_int

    out = set()
    for uvw in itertools.product(range(-max_index, max_index + 1), repeat=3):
        if any(uvw) and sum(a * b for a, b in zip(uvw, plane)) == 0 and reduce_int(uvw) == uvw:
            if uvw > tuple(-x for x in uvw):
                out.add(uvw)
    return sorted(out, key=lambda u: (sum(x * x for x in u), tuple(-x for x in u)))


def build_twin(crystal, plane=(1, 1, 1), direction=(1, 1, -2), fraction: float = 0.5,
               cells=(40, 30, 20)) -> TwinResult:
    """A block of about ``cells`` conventional cells (along e1, e2, e3) with one twin boundary at ``fraction``."""
    from ase import Atoms

    if not 0.1 <= float(fraction) <= 0.9:
        raise InputError(f"fraction must be between 0.1 and 0.9, got {fraction}", "fraction")
    cells = tuple(int(c) for c in cells)
    if len(cells) != 3 or min(cells) < 1 or max(cells) > 200:
        raise InputError(f"cells must be three integers 1-200, got {cells!r}", "cells")
    plane, direction, sigma, requested = resolve_twin(crystal, plane, direction)
    cell = np.asarray(crystal.atoms.cell)
    a = float(crystal.atoms.cell.cellpar()[0])
    e1 = np.asarray(direction, float) @ cell
    e1 /= np.linalg.norm(e1)
    e3 = np.asarray(plane, float) @ np.linalg.inv(cell).T  # plane normal (reciprocal vector)
    e3 /= np.linalg.norm(e3)
    e2 = np.cross(e3, e1)
    frame = np.array([e1, e2, e3])
    periods = np.array([period_length_a(crystal, direction), period_length_a(crystal, integer_direction(e2)),
                        period_length_a(crystal, integer_direction(e3))])
    lengths = np.maximum(1, np.round(np.array(cells) * a / periods)) * periods
    # The boundary is an atomic layer z_b near fraction * Lz. The block height H is chosen so that 2 z_b - H is
    # a lattice period along the normal: then the periodic cell closes with a second, equally coherent twin
    # boundary at z = 0 (the written CIF is a proper bicrystal; the specimen block has one internal boundary).
    height = lengths[2]
    p, nums = perfect_block(crystal, frame, lengths * [1, 1, 3], origin_a=(0.0, 0.0, -2 * height))
    p[:, 2] -= 2 * height
    layers = np.unique(np.round(p[:, 2], 6))
    layers = layers[(layers >= 0) & (layers < height)]
    zb = float(layers[np.argmin(np.abs(layers - fraction * height))])
    m = round((height - 2 * zb) / periods[2])
    height = 2 * zb + m * periods[2]
    if height <= zb + 1e-6:
        height += periods[2]
    lengths = np.array([lengths[0], lengths[1], height])
    tol = 1e-6
    in_a = (p[:, 2] >= -tol) & (p[:, 2] <= zb + tol)
    src_b = (p[:, 2] > 2 * zb - height + tol) & (p[:, 2] < zb - tol)
    pb = p[src_b].copy()
    pb[:, 2] = 2 * zb - pb[:, 2]
    pos = np.concatenate([p[in_a], pb])
    numbers = np.concatenate([nums[in_a], nums[src_b]])
    grain = np.concatenate([np.zeros(in_a.sum(), int), np.ones(src_b.sum(), int)])
    atoms = Atoms(numbers=numbers, positions=pos @ frame, cell=np.diag(lengths) @ frame, pbc=True)
    dmin = min_distance_a(atoms)
    if dmin < MIN_DISTANCE_A:
        raise InputError(f"the mirror construction across ({' '.join(map(str, plane))}) puts atoms {dmin:.2f} A "
                         "apart: not a coherent twin of this crystal", "plane")
    info = {"plane": list(plane), "direction": list(direction), "sigma": sigma, "fraction": float(fraction),
            "boundary_a": zb, "block_a": [round(float(x), 4) for x in lengths],
            "frame_e1_e2_e3": [[round(float(x), 6) for x in r] for r in frame], "min_distance_a": round(dmin, 4)}
    if requested is not None:
        info["requested"] = {"plane": list(requested[0]), "direction": list(requested[1])}
    return TwinResult(atoms=atoms, plane=plane, direction=direction, requested=requested, sigma=sigma, frame=frame,
                      boundary_a=zb, grain=grain, edge_on_zone_axes=edge_on_zone_axes(plane), info=info)

"""Arrays of straight edge dislocations in a specimen-sized block of a cubic crystal.

Geometry. The block is cut from the perfect crystal in the dislocation frame e1 = b/|b| (glide
direction), e2 = n (glide-plane normal, along line x b), e3 = line direction; its edges are whole lattice
periods along the three axes, so the perfect block is periodic. The displacement field of each
dislocation is the anisotropic (Stroh) solution of linear elasticity of matscipy
(`matscipy.dislocation.AnisotropicDislocation`, Hirth and Lothe, *Theory of Dislocations*, 2nd ed., p. 467),
computed from the crystal's C11, C12, C44; the fields of the cores are superposed (linear elasticity, no
self-consistent core correction). Atoms are returned in the *crystal* Cartesian frame (cubic axes along
x, y, z, like the parent crystal), so zone axes keep their meaning in the parent lattice.

Sign convention (checked by `burgers_circuit`): a right-handed circuit about the line direction, closed
in the dislocated crystal, fails to close in the perfect crystal by b (finish to start, FS/RH).

Index sets. The line must be perpendicular to b (an edge dislocation). The paper's "line [112], b =
a/2[110]" is not (the dot product is 2); such a set is resolved within the two index families to an edge
dislocation whose glide plane is the lattice's slip plane with non-negative indices ((111) for fcc,
(110) for bcc), changing as few indices as possible: line [1 1 -2], b = a/2[1 -1 0] on (111) for fcc.
Sets with no such resolution are refused.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from sadpnet.crystal.lattice import integer_triple
from sadpnet.defects.block import integer_direction, is_translation, perfect_block, period_along, reduce_int
from sadpnet.errors import InputError

#: Slip-plane family used to resolve inconsistent index sets, by lattice.
SLIP_PLANES: dict[str, tuple[int, int, int]] = {"fcc": (1, 1, 1), "bcc": (1, 1, 0)}

#: Vacuum added on each side of the block along the two non-periodic axes in the written cell, A.
VACUUM_A = 5.0


@dataclass
class DislocationResult:
    """A block holding an array of edge dislocations.

    Attributes:
        atoms: the dislocated block (ase.Atoms; crystal frame; cell = the block's box plus vacuum along e1, e2,
            periodic along the line).
        reference: the perfect block, same atom order.
        line: line direction [uvw] used; burgers: Burgers vector in conventional-cell fractions; plane: glide plane.
        requested: (line, burgers) as asked, when they had to be resolved, else None.
        frame: (3, 3) rows e1, e2, e3 (unit vectors, crystal frame).
        cores_a: (count, 3) core positions, crystal frame, A.
        box_a: (3,) block lengths along e1, e2, e3, A (without vacuum).
        info: parameters (JSON-serialisable).
    """

    atoms: object
    reference: object
    line: tuple[int, int, int]
    burgers: tuple[Fraction, Fraction, Fraction]
    plane: tuple[int, int, int]
    requested: tuple | None
    frame: np.ndarray
    cores_a: np.ndarray
    box_a: np.ndarray
    info: dict = field(default_factory=dict)




def _frac_vec(v, what: str) -> tuple[Fraction, Fraction, Fraction]:
    try:
        t = tuple(Fraction(str(x)).limit_denominator(12) for x in v)
    except (TypeError, ValueError):
        t = ()
    if len(t) != 3 or not any(t):
        raise InputError(f"{what} must be three numbers (fractions of the cell edges), not all zero, got {v!r}", what)
    return t  # type: ignore[return-value]


def _family(v):
    """All permutations and sign changes of ``v`` (cubic family), without duplicates."""
    out = set()
    for p in itertools.permutations(v):
        for s in itertools.product((1, -1), repeat=3):
            out.add(tuple(a * b for a, b in zip(p, s)))
    return sorted(out, reverse=True)


def _lattice_type(crystal) -> str | None:
    centring = crystal.space_group_symbol[:1]
    if crystal.crystal_system != "cubic":
        return None
    return {"F": "fcc", "I": "bcc"}.get(centring)


def default_edge(crystal):
    """(line, burgers) of the usual edge dislocation: fcc [1 1 -2] a/2[1 -1 0] on (111); bcc [1 1 -2] a/2[1 1 1]
    on (1 -1 0); other crystals: the fcc set (refused later unless it fits)."""
    if _lattice_type(crystal) == "bcc":
        return (1, 1, -2), (0.5, 0.5, 0.5)
    return (1, 1, -2), (0.5, -0.5, 0.0)


def resolve_indices(crystal, line, burgers):
    """(line, burgers, plane, requested): a consistent edge-dislocation index set (see module docstring).

    ``requested`` is None when the given set was already consistent.
    """
    line = integer_triple(line, "line")
    b = _frac_vec(burgers, "burgers")
    if not is_translation(crystal, [float(x) for x in b]):
        raise InputError(f"burgers {' '.join(str(x) for x in b)} is not a lattice translation of the crystal", "burgers")

    def dot(u, v):
        return sum(Fraction(x) * y for x, y in zip(u, v))

    def plane_of(u, v):
        c = reduce_int(np.round(np.cross(np.array(u, dtype=float), np.array([float(x) for x in v])) * 12).astype(int))
        first = next(x for x in c if x != 0)
        return tuple(-x for x in c) if first < 0 else c

    if dot(line, b) == 0:
        return line, b, plane_of(line, b), None
    lat = _lattice_type(crystal)
    if lat is None:
        raise InputError(f"line [{' '.join(map(str, line))}] is not perpendicular to burgers (not an edge dislocation)",
                         "line")
    slip = set(_family(SLIP_PLANES[lat]))
    best = None
    for lf in _family(line):
        for bf in _family(b):
            if dot(lf, bf) != 0:
                continue
            n = plane_of(lf, bf)
            if n not in slip or (min(n) < 0 and max(n) > 0):
                continue
            changes = sum(x != y for x, y in zip(lf, line)) + sum(x != y for x, y in zip(bf, b))
            key = (changes, tuple(-x for x in lf), tuple(-x for x in bf))
            if best is None or key < best[0]:
                best = (key, lf, bf, n)
    if best is None:
        raise InputError(f"line [{' '.join(map(str, line))}] and burgers {' '.join(str(x) for x in b)} cannot form an "
                         f"edge dislocation on a {lat} slip plane (line must be perpendicular to burgers)", "line")
    _, lf, bf, n = best
    return lf, bf, n, (line, b)


def _core_grid(count: int) -> list[tuple[float, float]]:
    nx = int(np.ceil(np.sqrt(count)))
    ny = int(np.ceil(count / nx))
    pts = [((i + 0.5) / nx, (j + 0.5) / ny) for j in range(ny) for i in range(nx)]
    return pts[:count]


def build_dislocation_array(crystal, line=(1, 1, -2), burgers=(0.5, -0.5, 0), count: int = 4,
                            cells=(40, 30, 20), elastic_gpa=None) -> DislocationResult:
    """``count`` parallel edge dislocations (same sign) on a grid in a block of about ``cells`` conventional cells.

    Args:
        crystal: the parent cubic `Crystal`.
        line: line direction [uvw] (integers); burgers: b in conventional-cell fractions, e.g. (0.5, -0.5, 0).
        count: number of dislocations (1-16), on an nx x ny grid in the e1-e2 plane.
        cells: block size as the lengths of (N1, N2, N3) conventional cells along e1, e2, e3 (rounded to whole
            lattice periods).
        elastic_gpa: (C11, C12, C44) in GPa; default from `sadpnet.defects.elastic` for cubic elements.
    """
    from ase import Atoms
    from matscipy.dislocation import AnisotropicDislocation

    from sadpnet.defects.elastic import cubic_constants_gpa, cubic_stiffness_gpa

    if crystal.crystal_system != "cubic":
        raise InputError(f"dislocations are built for cubic crystals only; {crystal.name} is {crystal.crystal_system}",
                         crystal.source)
    if not 1 <= int(count) <= 16:
        raise InputError(f"count must be 1-16, got {count}", "count")
    cells = tuple(int(c) for c in cells)
    if len(cells) != 3 or min(cells) < 1 or max(cells) > 200:
        raise InputError(f"cells must be three integers 1-200, got {cells!r}", "cells")
    if elastic_gpa is None:
        symbols = set(crystal.atoms.get_chemical_symbols())
        if len(symbols) != 1:
            raise InputError("built-in elastic constants exist only for elements; give --elastic C11 C12 C44", "elastic")
        elastic_gpa = cubic_constants_gpa(symbols.pop())
    cubic_stiffness_gpa(*elastic_gpa)  # stability check
    lf, bf, plane, requested = resolve_indices(crystal, line, burgers)
    a = float(crystal.atoms.cell.cellpar()[0])
    b_crys_a = np.array([float(x) for x in bf]) * a
    xi = np.array(lf, dtype=float)
    e1 = b_crys_a / np.linalg.norm(b_crys_a)
    e3 = xi / np.linalg.norm(xi)
    e2 = np.cross(e3, e1)
    frame = np.array([e1, e2, e3])
    n_int = integer_direction(e2)
    periods = np.array([np.linalg.norm(b_crys_a),
                        period_along(crystal, n_int) * np.linalg.norm(n_int) * a,
                        period_along(crystal, lf) * np.linalg.norm(xi) * a])
    lengths = np.maximum(1, np.round(np.array(cells) * a / periods)) * periods
    p0, nums = perfect_block(crystal, frame, lengths, np.zeros(3))
    # core positions: midway between two glide planes (atom planes along e2) and between atom columns along e1
    ys = np.unique(np.round(p0[:, 1], 4))
    xs = np.unique(np.round(p0[np.abs(p0[:, 1] - ys[0]) < 1e-3, 0], 4))
    cores = []
    for fx, fy in _core_grid(int(count)):
        iy = int(np.argmin(np.abs(ys - fy * lengths[1])))
        iy = min(iy, len(ys) - 2)
        ix = int(np.argmin(np.abs(xs - fx * lengths[0])))
        ix = min(ix, len(xs) - 2)
        cores.append([(xs[ix] + xs[ix + 1]) / 2, (ys[iy] + ys[iy + 1]) / 2, 0.0])
    cores = np.array(cores)
    c11, c12, c44 = (float(x) for x in elastic_gpa)
    solver = AnisotropicDislocation(frame, plane, lf, b_crys_a, C11=c11, C12=c12, C44=c44)
    u = np.zeros_like(p0)
    for c in cores:
        u += solver.displacement(p0, center=c)
    p1 = p0 + u
    pad = np.array([VACUUM_A, VACUUM_A, 0.0])
    box = np.diag(lengths + 2 * pad) @ frame  # rows in the crystal frame
    to_crys = lambda p: (p + pad) @ frame  # noqa: E731
    reference = Atoms(numbers=nums, positions=to_crys(p0), cell=box, pbc=(False, False, True))
    atoms = Atoms(numbers=nums, positions=to_crys(p1), cell=box, pbc=(False, False, True))
    info = {"line": list(lf), "burgers": [str(x) for x in bf], "glide_plane": list(plane), "count": int(count),
            "block_a": [round(float(x), 4) for x in lengths], "vacuum_a": VACUUM_A,
            "elastic_gpa": [c11, c12, c44], "field": "anisotropic Stroh solution (matscipy AnisotropicDislocation), "
            "superposed", "frame_e1_e2_e3": [[round(float(x), 6) for x in r] for r in frame]}
    if requested is not None:
        info["requested"] = {"line": list(requested[0]), "burgers": [str(x) for x in requested[1]]}
    return DislocationResult(atoms=atoms, reference=reference, line=lf, burgers=bf, plane=plane, requested=requested,
                             frame=frame, cores_a=to_crys(cores), box_a=lengths, info=info)


def _nearest_translation(crystal, frac):
    """The lattice translation (conventional fractions) nearest to ``frac`` (3,)."""
    cell = np.asarray(crystal.atoms.cell)
    centrings = [np.array(t) for t in itertools.product((0, 0.5), repeat=3) if is_translation(crystal, t)]
    best, dist = None, np.inf
    for t in centrings:
        cand = np.round(frac - t) + t
        d = np.linalg.norm((cand - frac) @ cell)
        if d < dist:
            best, dist = cand, d
    return best


def burgers_circuit(crystal, result: DislocationResult, core_index: int = 0,
                    half_size_a: float | None = None) -> np.ndarray:
    """Closure failure (conventional-cell fractions, FS/RH) of a Burgers circuit around one core of ``result``.

    The circuit is a rectangle of lattice steps (b along e1, the lattice period along e2) of about
    ``2 * half_size_a`` on a side around the core (default: up to 20 A, inside the block, enclosing no other
    core), in the atom plane nearest the middle of the line; each step
    taken in the dislocated crystal is mapped to the nearest perfect-lattice translation.
    """
    from scipy.spatial import cKDTree

    cell = np.asarray(crystal.atoms.cell)
    frame = result.frame
    pad = np.array([VACUUM_A, VACUUM_A, 0.0])
    p_ref = result.reference.positions @ frame.T - pad
    p_def = result.atoms.positions @ frame.T - pad
    core = result.cores_a[core_index] @ frame.T - pad
    if half_size_a is None:  # stay inside the block and away from the other cores
        cores = result.cores_a @ frame.T - pad
        others = np.delete(cores, core_index, axis=0)[:, :2]
        spacing = np.min(np.abs(others - core[:2]).max(axis=1)) if len(others) else np.inf
        edge = min(core[0], core[1], result.box_a[0] - core[0], result.box_a[1] - core[1])
        half_size_a = min(20.0, 0.8 * edge, 0.45 * spacing)
    n_int = integer_direction(frame[1])
    a = float(crystal.atoms.cell.cellpar()[0])
    step_x = np.array([np.linalg.norm([float(x) for x in result.burgers]) * a, 0, 0])
    step_y = np.array([0, period_along(crystal, n_int) * np.linalg.norm(n_int) * a, 0])
    nx = max(2, int(round(2 * half_size_a / step_x[0])))
    ny = max(2, int(round(2 * half_size_a / step_y[1])))
    tree = cKDTree(p_ref)
    target = core - nx / 2 * step_x - ny / 2 * step_y
    target[2] = result.box_a[2] / 2
    _, start = tree.query(target)
    steps = [step_x] * nx + [step_y] * ny + [-step_x] * nx + [-step_y] * ny
    idx = [int(start)]
    pos = p_ref[start].copy()
    for s in steps:
        pos = pos + s
        d, j = tree.query(pos)
        if d > 1e-3:
            raise InputError("the Burgers circuit leaves the block; use a smaller circuit", "burgers")
        idx.append(int(j))
    total = np.zeros(3)
    for i, j in zip(idx[:-1], idx[1:]):
        step_crys = (p_def[j] - p_def[i]) @ frame  # crystal Cartesian
        total += _nearest_translation(crystal, step_crys @ np.linalg.inv(cell))
    return -total

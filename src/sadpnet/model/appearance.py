"""The paper's "appearance" labels: (space group, zone axis) pairs whose spot patterns look alike.

"Alike" is measured, not assumed. For every space group a representative crystal (`REPRESENTATIVES`, shipped
example CIFs) gives, for every zone axis, the zero-order Laue-zone net of its allowed reflections
(`sadpnet.simulate.zolz.zolz_net`: |F|^2 at least ``min_intensity`` of the strongest): a 2-D point set. Two
point sets are compared **up to scale and in-plane rotation** (`sadpnet.simulate.zolz.pattern_distance`;
the paper grouped patterns by how they look, without the calibration): each set is divided by its shortest
|g|, the sets are rotated so that one shortest vector of A lies on each shortest vector of B in turn (and
mirrored), and the symmetric mean nearest-neighbour distance of the spots within 1.5 times the longer of
the two sets' second basis vectors (so both in-plane directions of the net count) is taken; the smallest
over the trials is the distance. Classes are formed by complete-linkage clustering: a group only
holds pairs that are all closer than ``tolerance`` (no chaining of look-alikes into one big class).

`appearance_groups()` returns the groups as lists of "sg:uvw" keys; `appearance_scheme(table)` the
`sadpnet.model.labels.LabelScheme` for the (space group, zone axis) pairs present in a dataset table.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from sadpnet.simulate.zolz import pattern_distance

#: Representative crystal per space group (example CIFs shipped with sadpnet).
REPRESENTATIVES = {213: "beta-Mn", 221: "CsCl", 225: "Cu", 227: "Si", 229: "W"}


@lru_cache(maxsize=4)
def _representative_sets(zone_axes: tuple, min_intensity: float, hmax: int = 8) -> dict:
    """Zero-order Laue-zone nets: in-plane g (1/A, 2-D) of reflections h.[uvw] = 0 with |F|^2 >= min_intensity
    of the strongest (kinematic, Debye-Waller on; the excitation error is left out on purpose: it depends on
    thickness and voltage, not on how the structure's pattern looks)."""
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif
    from sadpnet.simulate.zolz import zolz_net

    out = {}
    for sg, name in REPRESENTATIVES.items():
        c = read_cif(example_cif(name))
        for z in zone_axes:
            out[f"{sg}:{''.join(map(str, z))}"] = zolz_net(c, z, min_intensity=min_intensity, hmax=hmax)[0]
    return out


def appearance_groups(zone_axes=None, *, tolerance: float = 0.02, min_intensity: float = 0.01,
                      space_groups=None) -> tuple[list[list[str]], dict]:
    """(groups of "sg:uvw" keys, pairwise distances) for the representatives on ``zone_axes``."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    from sadpnet.crystal import STANDARD_CUBIC_ZONE_AXES

    zone_axes = tuple(tuple(int(x) for x in z) for z in (zone_axes or STANDARD_CUBIC_ZONE_AXES))
    sets = _representative_sets(zone_axes, min_intensity)
    keys = [k for k in sets if space_groups is None or int(k.split(":")[0]) in set(space_groups)]
    n = len(keys)
    dist = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dist[i, j] = dist[j, i] = min(pattern_distance(sets[keys[i]], sets[keys[j]]), 1e3)
    comp = fcluster(linkage(squareform(dist, checks=False), method="complete"), t=tolerance, criterion="distance")
    groups: dict[int, list[str]] = {}
    for k, c in zip(keys, comp):
        groups.setdefault(int(c), []).append(k)
    return sorted(groups.values(), key=lambda g: g[0]), {"keys": keys, "distance": dist.tolist(),
                                                          "tolerance": tolerance}


def appearance_scheme(table, **kwargs):
    """`LabelScheme` of appearance groups over the (space group, zone axis) pairs of a dataset table."""
    from sadpnet.model.labels import LabelScheme, zone_key

    present = sorted({f"{int(s)}:{zone_key(z)}" for s, z in zip(table["space_group"], table["zone_axis"])})
    zones = sorted({tuple(int(c) for c in k.split(":")[1]) for k in present})
    sgs = sorted({int(k.split(":")[0]) for k in present})
    groups, _ = appearance_groups(zones, space_groups=sgs, **kwargs)
    groups = [[k for k in g if k in present] for g in groups]
    return LabelScheme.appearance([g for g in groups if g])


def canonical_cubic_zone(zone_axis) -> tuple[int, int, int]:
    """The standard form of a cubic zone axis: absolute indices sorted ascending ([1 -1 2] -> (1, 1, 2), [110] ->
    (0, 1, 1)); every axis of one cubic form gives the same pattern up to rotation and mirror."""
    return tuple(sorted(abs(int(x)) for x in zone_axis))


@lru_cache(maxsize=64)
def _groups_with(zone: tuple[int, int, int]) -> dict:
    from sadpnet.crystal import STANDARD_CUBIC_ZONE_AXES

    zones = tuple(tuple(int(x) for x in z) for z in STANDARD_CUBIC_ZONE_AXES)
    if zone not in zones:
        zones = zones + (zone,)
    groups, _ = appearance_groups(zones)
    return {k: frozenset(int(m.split(":")[0]) for m in g) for g in groups for k in g}


def appearance_space_groups(space_group: int, zone_axis) -> frozenset[int] | None:
    """Space groups whose representative pattern looks like ``space_group``'s on ``zone_axis`` (up to scale
    and in-plane rotation, `appearance_groups` over the standard cubic axes): under the paper's appearance
    labels a prediction of any of them is right. None when ``space_group`` has no representative crystal
    (`REPRESENTATIVES`: the five cubic space groups of the paper)."""
    if int(space_group) not in REPRESENTATIVES:
        return None
    z = canonical_cubic_zone(zone_axis)
    return _groups_with(z).get(f"{int(space_group)}:{''.join(map(str, z))}")

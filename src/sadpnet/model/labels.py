"""Class labels of a classifier: a dataset column (space group by default) or the paper's "appearance" groups.

A `LabelScheme` maps dataset rows to class indices and class probabilities back to space groups:

* ``LabelScheme.from_column(values, column)``: one class per distinct value of any table column
  (``space_group``, ``crystal_system``, a custom grouping column...).
* ``LabelScheme.appearance(groups)``: classes are groups of (space group, zone axis) pairs whose simulated
  spot patterns look alike (see `sadpnet.model.appearance` for how "alike" is measured); a class's
  probability is shared equally among the space groups it contains when mapped back.

``space_group_probabilities(probs)`` turns (B, K) class probabilities into (B, S) space-group probabilities
over ``scheme.space_groups`` when the scheme knows space groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from sadpnet.errors import InputError


@lru_cache(maxsize=None)
def _sg_symbols() -> dict[int, str]:
    import warnings

    import spglib

    out: dict[int, str] = {}
    for hall in range(1, 531):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            t = spglib.get_spacegroup_type(hall)
        n = int(t.number)
        if n not in out:
            out[n] = str(t.international_short)
    return out


def space_group_symbol(number: int) -> str:
    """International short symbol of space group ``number`` (1..230), e.g. 229 -> 'Im-3m'."""
    return _sg_symbols().get(int(number), "?")


def crystal_system_of(number: int) -> str:
    from sadpnet.crystal import crystal_system

    return crystal_system(int(number))


def zone_key(zone_axis) -> str:
    """Canonical text of a zone axis: [0, 1, 1] or '0 1 1' or '[011]' -> '011' (negative: '-1')."""
    if isinstance(zone_axis, str):
        s = zone_axis.strip().strip("[]()")
        parts = s.replace(",", " ").split()
        if len(parts) == 1 and len(parts[0]) == 3 and parts[0].isdigit():
            parts = list(parts[0])
        zone_axis = [int(p) for p in parts]
    return "".join(str(int(x)) for x in zone_axis)


#: Table columns whose values are space-group numbers (the specimen's own one differs for strained variants;
#: the visible one only where the pattern shows the lowered symmetry, `sadpnet.data.visible`).
SPACE_GROUP_COLUMNS = ("space_group", "specimen_space_group", "visible_space_group")


@dataclass
class LabelScheme:
    """How dataset rows become class indices and classes become space groups.

    Attributes:
        kind: "column" or "appearance".
        column: the table column the label comes from ("space_group" for "appearance").
        classes: class names (str), index = class id.
        class_space_groups: for each class, the space groups it stands for (empty list when the column is not
            tied to space groups, e.g. crystal_system).
        members: appearance scheme only: for each class, the "sg:uvw" keys it merges.
    """

    kind: str
    column: str
    classes: list[str]
    class_space_groups: list[list[int]]
    members: list[list[str]] = field(default_factory=list)

    @classmethod
    def from_column(cls, values, column: str = "space_group") -> "LabelScheme":
        uniq = sorted({_norm(v) for v in values}, key=_sort_key)
        if len(uniq) < 2:
            raise InputError(f"label column {column!r} has {len(uniq)} distinct value(s); need at least 2", "--label")
        csg = [[int(v)] if column in SPACE_GROUP_COLUMNS else [] for v in uniq]
        return cls("column", column, uniq, csg)

    @classmethod
    def appearance(cls, groups: list[list[str]]) -> "LabelScheme":
        """Classes from groups of "sg:uvw" keys (every (space group, zone axis) pair in exactly one group)."""
        classes, csg = [], []
        for g in groups:
            sgs = sorted({int(k.split(":")[0]) for k in g})
            classes.append("+".join(sorted(g, key=lambda k: (int(k.split(":")[0]), k))))
            csg.append(sgs)
        return cls("appearance", "space_group", classes, csg, [list(g) for g in groups])

    @classmethod
    def from_dict(cls, d: dict) -> "LabelScheme":
        return cls(d["kind"], d["column"], list(d["classes"]), [list(map(int, x)) for x in d["class_space_groups"]],
                   [list(x) for x in d.get("members", [])])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "column": self.column, "classes": self.classes,
                "class_space_groups": self.class_space_groups, "members": self.members}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def space_groups(self) -> list[int]:
        return sorted({s for g in self.class_space_groups for s in g})

    def encode(self, value, zone_axis=None) -> int:
        """Class index of one row's label value (and zone axis for the appearance scheme)."""
        if self.kind == "appearance":
            key = f"{int(value)}:{zone_key(zone_axis)}"
            idx = self._member_index().get(key)
            if idx is None:
                raise InputError(f"(space group, zone axis) {key} is in no appearance group", "labels")
            return idx
        try:
            return self._class_index()[_norm(value)]
        except KeyError:
            raise InputError(f"label {value!r} is not one of the model's classes {self.classes}", "labels") from None

    def _class_index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _member_index(self) -> dict[str, int]:
        return {k: i for i, g in enumerate(self.members) for k in g}

    def mapping_matrix(self) -> np.ndarray:
        """(K, S) float64: class probability -> space-group probability over `space_groups`, rows sum to 1."""
        sgs = self.space_groups
        col = {s: j for j, s in enumerate(sgs)}
        m = np.zeros((self.num_classes, len(sgs)))
        for i, g in enumerate(self.class_space_groups):
            for s in g:
                m[i, col[s]] = 1.0 / len(g)
        return m

    def space_group_probabilities(self, probs: np.ndarray) -> np.ndarray:
        if not self.space_groups:
            raise InputError(f"label column {self.column!r} is not tied to space groups", "labels")
        return np.asarray(probs, dtype=np.float64) @ self.mapping_matrix()

    def space_group_targets(self, class_idx: np.ndarray) -> np.ndarray:
        """Space group of each class index (column scheme on space_group: exact; appearance: -1 if ambiguous)."""
        out = np.full(len(class_idx), -1, dtype=np.int64)
        for i, c in enumerate(np.asarray(class_idx)):
            g = self.class_space_groups[int(c)]
            if len(g) == 1:
                out[i] = g[0]
        return out


def _norm(v) -> str:
    if isinstance(v, (np.integer, int)) and not isinstance(v, bool):
        return str(int(v))
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _sort_key(s: str):
    try:
        return (0, int(s), "")
    except ValueError:
        return (1, 0, s)

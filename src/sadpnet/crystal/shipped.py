"""Shipped example crystals by name: ``"Al"`` -> ``resources/cifs/crystals_COD/Al.cif``.

`resolve_cif` is the one place where a CIF argument that is not an existing file is looked up among the
CIFs shipped with sadpnet (``resources/cifs/cif_index.csv``; the COD crystals first, then the named examples
of `sadpnet.resources.EXAMPLE_CIFS`, then the other collections). Every command that takes a CIF uses it.

Examples
--------
>>> resolve_cif("Al").relative_to(resource_path("cifs")).as_posix()
'crystals_COD/Al.cif'
"""

from __future__ import annotations

import csv
import difflib
from functools import lru_cache
from pathlib import Path

from sadpnet.errors import InputError
from sadpnet.resources import EXAMPLE_CIFS, resource_path

#: Collections searched first when several shipped CIFs share a name.
PREFERRED_COLLECTION = "crystals_COD"


@lru_cache(maxsize=1)
def shipped_cifs() -> dict[str, str]:
    """Shipped CIFs by name: {name: path under resources/cifs}. A name is a file's stem (``Al``,
    ``BaTiO3_cubic``) or an example name (``NaCl``); COD files win a shared stem."""
    with open(resource_path("cifs", "cif_index.csv"), newline="") as f:
        files = [row["file"] for row in csv.DictReader(f)]
    files.sort(key=lambda p: not p.startswith(PREFERRED_COLLECTION + "/"))  # stable: COD first
    names: dict[str, str] = {}
    for rel in files:
        if rel.startswith(PREFERRED_COLLECTION + "/"):
            names.setdefault(Path(rel).stem, rel)
    for name, rel in EXAMPLE_CIFS.items():
        names.setdefault(name, rel)
    for rel in files:
        names.setdefault(Path(rel).stem, rel)
    return names


def _lookup(name: str) -> str | None:
    names = shipped_cifs()
    if name in names:
        return names[name]
    folded = [n for n in names if n.lower() == name.lower()]
    return names[folded[0]] if len(folded) == 1 else None


def resolve_cif(cif: str | Path) -> Path:
    """The CIF to read for a command-line CIF argument: the file itself when it exists, else the shipped
    CIF of that name (``Al``, ``Al.cif``, ``NaCl``; case-insensitive where unambiguous).

    Args:
        cif: a path, or the name of a shipped crystal.

    Returns:
        Path of the file to read (``cif`` itself when it is an existing file, or a path in the package).

    Raises:
        InputError: no such file and no shipped crystal of that name (lists close matches).
    """
    path = Path(cif)
    if path.exists() or len(path.parts) != 1:  # an existing file, or a path the user meant literally
        return path
    name = path.stem if path.suffix.lower() == ".cif" else path.name
    rel = _lookup(name)
    if rel is not None:
        return resource_path("cifs", *rel.split("/"))
    close = difflib.get_close_matches(name, list(shipped_cifs()), n=5, cutoff=0.6)
    close += [n for n in shipped_cifs() if n.lower().startswith(name.lower()) and n not in close][: 5 - len(close)]
    hint = f"close shipped names: {', '.join(close)}" if close else "no shipped crystal has a similar name"
    raise InputError(f"no such file, and no shipped crystal of that name ({hint})", str(cif))

"""Interatomic potentials behind one small interface: an ASE calculator chosen by name.

=============  =====================================================  ==========================================
name           what                                                   used for
=============  =====================================================  ==========================================
``sevennet``   SevenNet ``7net-0`` universal machine-learned          the paper's "first-principles" relaxations
               potential trained on DFT (PBE) data; weights ship in   (point defects, any element); ~1-2 s per
               the ``sevenn`` wheel, loads offline, runs on CPU.       force call on 108 atoms on this machine
``eam``        Mendelev embedded-atom potentials for Al and Fe        MD, large cells, CI tests of pure Al / Fe
               (shipped under ``resources/potentials``), evaluated
               by matscipy's EAM calculator
``emt``        ASE's effective-medium theory (Al, Cu, Ag, Au, Ni,     fastest; baseline of the benchmarks and
               Pd, Pt)                                                 quick tests
=============  =====================================================  ==========================================

`default_potential` picks ``sevennet`` when it is installed (optional dependency ``sadpnet[ml-potential]``),
otherwise ``eam`` or ``emt`` when they cover the elements.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from sadpnet.errors import InputError

#: Potential names, for help texts.
POTENTIALS: tuple[str, ...] = ("sevennet", "eam", "emt")

#: EAM parameter files shipped under resources/potentials, by the set of elements they cover.
EAM_FILES: dict[frozenset, str] = {
    frozenset({"Al"}): "Al_mm.eam.fs",  # Mendelev, Kramer, Becker, Asta, Phil. Mag. 88 (2008) 1723
    frozenset({"Fe"}): "Fe_mm.eam.fs",  # Mendelev, Han, Srolovitz, Ackland, Sun, Asta, Phil. Mag. 83 (2003) 3977
}

#: Elements ASE's EMT has metal parameters for (it also knows H, C, N, O, but "not for serious use").
EMT_ELEMENTS = frozenset({"Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt"})

#: SevenNet model used by ``sevennet``.
SEVENNET_MODEL = "7net-0"


def sevennet_available() -> bool:
    """Whether the optional ``sevenn`` package (the ML potential) can be imported."""
    import importlib.util

    return importlib.util.find_spec("sevenn") is not None


def covers(name: str, elements: Iterable[str]) -> bool:
    """Whether potential ``name`` has parameters for all ``elements``."""
    els = frozenset(elements)
    if name == "sevennet":
        return sevennet_available()
    if name == "eam":
        return any(els <= key for key in EAM_FILES)
    if name == "emt":
        return els <= EMT_ELEMENTS
    return False


def default_potential(elements: Iterable[str], purpose: str = "relax") -> str:
    """The potential to use for ``elements``: ``sevennet`` for relaxations when installed; ``eam``/``emt``
    first for ``purpose="md"`` (an ML force call costs ~100x more; long MD on it is impractical here)."""
    els = frozenset(elements)
    order = ("eam", "emt", "sevennet") if purpose == "md" else ("sevennet", "eam", "emt")
    for name in order:
        if covers(name, els):
            return name
    raise InputError(f"no shipped potential covers the elements {sorted(els)}; install sevenn "
                     "(pip install 'sadpnet[ml-potential]') for a universal potential", "potential")


@functools.lru_cache(maxsize=2)
def _sevennet(model: str, device: str):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sevenn.calculator import SevenNetCalculator

        return SevenNetCalculator(model, device=device)


@functools.lru_cache(maxsize=4)
def _eam(filename: str):
    from matscipy.calculators.eam import EAM

    from sadpnet.resources import resource_path

    return EAM(str(resource_path("potentials", filename)))


def get_calculator(name: str, elements: Iterable[str] = ()):
    """An ASE calculator for potential ``name`` ("sevennet", "eam" or "emt") that covers ``elements``.

    Calculators are cached (loading SevenNet takes ~10 s); a cached calculator is shared, so give each
    ``Atoms`` its own by assigning it just before use (ASE calculators recompute when atoms change).

    Raises:
        InputError: unknown name, or the potential has no parameters for one of the elements.
    """
    name = str(name).lower()
    els = frozenset(elements)
    if name not in POTENTIALS:
        raise InputError(f"unknown potential {name!r}; choose one of {', '.join(POTENTIALS)}", "potential")
    if name == "sevennet":
        if not sevennet_available():
            raise InputError("the sevennet potential needs the sevenn package (pip install 'sadpnet[ml-potential]')",
                             "potential")
        return _sevennet(SEVENNET_MODEL, "cpu")
    if name == "emt":
        if not els <= EMT_ELEMENTS:
            raise InputError(f"EMT has no parameters for {sorted(els - EMT_ELEMENTS)}; it covers "
                             f"{', '.join(sorted(EMT_ELEMENTS))}", "potential")
        from ase.calculators.emt import EMT

        return EMT()
    for key, filename in EAM_FILES.items():
        if els <= key:
            return _eam(filename)
    known = ", ".join("-".join(sorted(k)) for k in EAM_FILES)
    raise InputError(f"no shipped EAM file covers {sorted(els)} (shipped: {known}); use --potential sevennet",
                     "potential")


def attach(atoms, name: str):
    """Give ``atoms`` the calculator ``name`` for its own elements; returns ``atoms``."""
    atoms.calc = get_calculator(name, set(atoms.get_chemical_symbols()))
    return atoms

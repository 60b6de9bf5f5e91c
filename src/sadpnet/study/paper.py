"""The paper's published numbers: the ONE place they are written in sadpnet.

Source: J. M. Jeong, M. Ra, J. Jeong, W. Lee, "Performance of a deep convolutional neural network to
classify crystal structures using selected area electron beam diffraction patterns containing lattice
defect information", RSC Advances 14 (2024) 18489-18500, doi:10.1039/d3ra08939h (open access, CC BY-NC 3.0),
and for the validation accuracy M. Ra et al., RSC Advances 11 (2021) 38307, doi:10.1039/d1ra07156d.

All accuracies are those of the authors' clean-trained ResNet-101 (five cubic space groups 213, 221, 225,
227, 229), in percent of test patterns classified as the right space group. Where the paper gives a
statement rather than a number (the strain curves of its Fig. 2), the statement is kept as a bound, not as
an invented point. The study (`sadpnet.study.report`) reads every paper number from here; a test checks
that no other module of the package writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

CITATION = ("J. M. Jeong, M. Ra, J. Jeong, W. Lee, RSC Adv. 14 (2024) 18489, doi:10.1039/d3ra08939h")
CITATION_2021 = "M. Ra et al., RSC Adv. 11 (2021) 38307, doi:10.1039/d1ra07156d"

#: Validation accuracy of the authors' classifier on clean simulated patterns (2021 work), percent.
VALIDATION_ACCURACY_2021_PCT = 92.6


@dataclass(frozen=True)
class PaperRow:
    """One row of the paper's results.

    Attributes:
        key: identifier used by `sadpnet.study.testsets.TestSetSpec.paper_row`.
        label: the test set in words.
        accuracy_pct: published accuracy, percent, or None where the paper only states a trend.
        statement: the paper's wording where it gives a trend or a bound instead of one number.
        where: the figure of the paper the statement refers to, where known.
    """

    key: str
    label: str
    accuracy_pct: float | None
    statement: str = ""
    where: str = ""


#: The paper's results, row by row (Jeong et al. 2024). The order is the order of the study's table.
PAPER_ROWS: tuple[PaperRow, ...] = (
    PaperRow("pristine", "pristine Al (0 K)", 98.65),
    PaperRow("thermal-100K", "Al, thermal vibration 100 K (ab initio MD)", 94.57),
    PaperRow("thermal-300K", "Al, thermal vibration 300 K (ab initio MD)", 90.13),
    PaperRow("strain-normal", "normal strain along a, 0-5 %", None,
             "no visible effect up to about 2.5 %; below 80 % above 3.5 %", where="Fig. 2"),
    PaperRow("strain-shear", "shear strain gamma_xy, 0-0.035 rad", None,
             "no effect up to 0.015 rad; 69.8 % at 0.03 rad", where="Fig. 2"),
    PaperRow("vacancy-low", "vacancy, low concentration", 97.79),
    PaperRow("vacancy-high", "vacancy, high concentration (Fe 3x3x3, 1/54)", 83.24),
    PaperRow("substitution-low", "substitutional atom, low concentration", 97.55),
    PaperRow("substitution-high", "substitutional atom, high concentration", 94.90),
    PaperRow("interstitial", "interstitial C on a tetrahedral site of Al 3x3x3", 95.48),
    PaperRow("dislocation", "array of four edge dislocations in Al", 7.97),
    PaperRow("twin", "one twin boundary (Al, Fe)", 33.80),
)

#: Points of the paper's accuracy-versus-strain curves (Fig. 2) that the paper states as numbers or bounds:
#: (series, strain, accuracy_pct, kind) with kind "value" (a published accuracy), "at_most" (accuracy
#: below this at and beyond this strain) or "unchanged_up_to" (no visible effect up to this strain; the
#: accuracy drawn is the pristine one). Strain: normal as a fraction (0.025 = 2.5 %), shear in rad.
PAPER_STRAIN_POINTS: tuple[tuple[str, float, float, str], ...] = (
    ("normal", 0.025, 98.65, "unchanged_up_to"),
    ("normal", 0.035, 80.0, "at_most"),
    ("shear", 0.015, 98.65, "unchanged_up_to"),
    ("shear", 0.030, 69.8, "value"),
)

#: Defect settings of the paper (the test sets of `sadpnet.study.testsets` follow them).
PAPER_SETTINGS: dict = {
    "specimen_cells": (40, 30, 20),
    "image_size_px": 256,
    "grid": "3 voltages x 3 camera lengths x 16 zone axes [001]..[233]",
    "normal_strain_max": 0.05,
    "shear_strain_max_rad": 0.035,
    "thermal_temperatures_k": (100.0, 300.0),
    "point_defect_supercells": {"Al": ((2, 2, 2), (3, 3, 3)), "Fe": ((3, 3, 3), (4, 4, 4))},
    "point_defect_repeats": (10, 10, 10),
    "substitute": {"Al": "Si", "Fe": "Au"},
    "dislocation": {"material": "Al", "line": (1, 1, 2), "burgers": "a/2[110]", "count": 4,
                    "zone_axes": ((1, 1, 2), (1, 1, 1), (1, 1, 0))},
    "twin": {"Al": {"plane": (1, 1, 1), "direction": (1, 1, 2), "zone_axis": (1, 1, 0)},
             "Fe": {"plane": (1, 2, 1), "direction": (1, 1, 1), "zone_axis": (1, 0, 1)}},
}


def paper_row(key: str) -> PaperRow:
    """The paper's row with this key (KeyError if none)."""
    for row in PAPER_ROWS:
        if row.key == key:
            return row
    raise KeyError(key)

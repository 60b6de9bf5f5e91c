"""sadpnet.defects: defected crystals built from a `sadpnet.crystal.Crystal`, written as CIFs and handed to the
simulator as specimens (see docs/defects.md).

Modules (import them directly; nothing heavy is imported here):

* `potentials`: ASE calculators by name (sevennet, eam, emt); `relax`: fixed-cell relaxation;
* `elastic`, `strain`: cited cubic elastic constants, Hooke's law, uniformly strained cells;
* `thermal`: Debye-model and molecular-dynamics snapshots;
* `point`: vacancies, substitutions, interstitials in supercells;
* `block`, `dislocation`, `twin`: oriented specimen-sized blocks, edge-dislocation arrays, mirror twins;
* `specimen`, `cif_out`: `Specimen` objects of the paper's size, CIFs with provenance comments.
"""

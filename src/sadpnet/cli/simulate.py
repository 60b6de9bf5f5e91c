"""``sadpnet simulate``: one SADP from a CIF (or an extended XYZ / LAMMPS data file of atoms), written as an image
plus a JSON sidecar of spots."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import typer

from sadpnet.cli.base import app, cif_path


@app.command("simulate")
def simulate_command(
    cif: Path = typer.Argument(..., help="CIF file (any crystal; P1 supercells written by `sadpnet defect` too), a "
                               "shipped crystal's name (Al, Fe, ...), or an extended XYZ (.extxyz/.xyz) or LAMMPS "
                               "data (.lmp/.data) file of atoms."),
    zone: Tuple[int, int, int] = typer.Option(..., "--zone", help="Zone axis [U V W] in the conventional direct lattice."),
    voltage_kv: float = typer.Option(200.0, "--voltage-kv", help="Acceleration voltage, kV."),
    camera_length_mm: float = typer.Option(300.0, "--camera-length-mm", help="Camera length, mm."),
    engine: str = typer.Option("cell", "--engine", help="cell (perfect/periodic, fast), atoms (NUFFT over atoms) or dynamical (abTEM)."),
    cells: Tuple[int, int, int] = typer.Option((40, 30, 20), "--cells", help="Specimen size N1 N2 N3 in conventional cells."),
    size: int = typer.Option(256, "--size", help="Detector side, pixels (0.1 mm pixels)."),
    output: Path = typer.Option(..., "-o", "--output", help="Image to write: .png, .tif/.tiff or .npy."),
    spots: Optional[Path] = typer.Option(None, "--spots", help="Spots JSON sidecar (default: OUTPUT with suffix .json)."),
    rotation_deg: float = typer.Option(0.0, "--rotation-deg", help="In-plane rotation about the beam, degrees."),
    tilt_mrad: Tuple[float, float] = typer.Option((0.0, 0.0), "--tilt-mrad", help="Tilt off the zone axis about lab x, then y, mrad."),
    debye_waller: bool = typer.Option(True, "--debye-waller/--no-debye-waller", help="Room-temperature Debye-Waller factors."),
    oversample: int = typer.Option(4, "--oversample", help="Sub-pixels per pixel side for the pixel-area integral."),
    direct_beam: bool = typer.Option(True, "--direct-beam/--no-direct-beam", help="Draw the direct beam."),
    direct_beam_ratio: float = typer.Option(5.0, "--direct-beam-ratio", help="Direct beam over the brightest diffracted pixel."),
    psf_sigma_px: float = typer.Option(0.7, "--psf-sigma-px", help="Gaussian point-spread sigma, pixels (0: none)."),
    beam_stop_px: float = typer.Option(0.0, "--beam-stop-px", help="Beam-stop disc radius, pixels (0: none)."),
    beam_stop_arm_px: float = typer.Option(0.0, "--beam-stop-arm-px", help="Width of the beam-stop arm, pixels (0: disc only)."),
    dose_e: float = typer.Option(0.0, "--dose-e", help="Electrons over the image for Poisson noise (0: no noise)."),
    read_noise_e: float = typer.Option(0.0, "--read-noise-e", help="Gaussian read noise per pixel, electrons (needs --dose-e)."),
    mapping: Optional[str] = typer.Option(None, "--mapping", help="Intensity mapping: log, gamma or linear "
                                          "(default log; all defaults: sadpnet.simulate.detector.DEFAULT_MAPPING)."),
    gamma: Optional[float] = typer.Option(None, "--gamma", help="Exponent of the gamma mapping (default 0.5)."),
    dynamic_range: Optional[float] = typer.Option(None, "--dynamic-range",
                                                  help="Dynamic range R of the log mapping (default 1e4)."),
    bits: Optional[int] = typer.Option(None, "--bits", help="Output bit depth: 8 or 16 (default 8)."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the noise."),
) -> None:
    """Simulate the SADP of a crystal on a zone axis and write the image and its spots JSON."""
    from sadpnet.errors import InputError
    from sadpnet.simulate.api import simulate
    from sadpnet.simulate.detector import BeamStop, Noise, intensity_mapping, render
    from sadpnet.simulate.io import check_output_path, save_pattern

    check_output_path(output, "--output")
    if bits not in (None, 8, 16):
        raise InputError(f"must be 8 or 16, got {bits}", "--bits")
    try:
        intensity = intensity_mapping(mapping, dynamic_range=dynamic_range, gamma=gamma, bits=bits)
    except InputError as e:
        raise InputError(e.problem, "--" + str(e.where).replace("_", "-")) from None
    cif = cif_path(cif)
    if not cif.is_file():
        raise InputError("no such file", str(cif))
    pattern = simulate(cif, zone, voltage_kv=voltage_kv, camera_length_mm=camera_length_mm, size_px=size,
                       engine=engine, cells=cells, inplane_rotation_deg=rotation_deg, tilt_mrad=tilt_mrad,
                       debye_waller=debye_waller, oversample=oversample)
    stop = BeamStop(beam_stop_px, beam_stop_arm_px) if beam_stop_px > 0 else None
    noise = Noise(dose_e, read_noise_e) if dose_e > 0 else None
    image = render(pattern, direct_beam=direct_beam, direct_beam_ratio=direct_beam_ratio, psf_sigma_px=psf_sigma_px,
                   beam_stop=stop, noise=noise, mapping=intensity, seed=seed)
    img_path, json_path = save_pattern(pattern, image, output, spots, mapping=intensity)
    typer.echo(f"{img_path} ({len(pattern.spots)} spots, {pattern.pixel_size_inv_a:.6f} 1/A per pixel); spots: {json_path}")

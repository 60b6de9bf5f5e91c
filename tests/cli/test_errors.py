"""Bad input: the CLI names the option as typed, and absurd values get their range and the likely unit
mistake, from the same checks the Python API runs (`sadpnet.ranges`)."""

import pytest

from sadpnet.cli.app import main, option_name
from sadpnet.errors import InputError
from sadpnet.ranges import (CALIBRATION_INV_A_PER_PX, CAMERA_LENGTH_MM, STRAIN, TEMPERATURE_K, THICKNESS_A,
                            VOLTAGE_KV)
from sadpnet.resources import example_cif

AL = str(example_cif("Al"))


def _error_line(capsys, *argv):
    with pytest.raises(SystemExit) as exc:
        main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1, err
    return err[0]


SIM = ["simulate", AL, "--zone", "0", "0", "1", "--size", "64", "--cells", "4", "4", "4"]
CLI_CASES = [
    (SIM + ["--voltage-kv", "200000"],
     "--voltage-kv: 200000 kV: electron microscopes run at 10-1000 kV; did you give volts?"),
    (SIM + ["--voltage-kv", "0.2"], "--voltage-kv: 0.2 kV: electron microscopes run at 10-1000 kV; did you give MV?"),
    (SIM + ["--camera-length-mm", "0.3"],
     "--camera-length-mm: 0.3 mm: diffraction camera lengths are 10-10000 mm; did you give metres?"),
    (SIM + ["--camera-length-mm", "3"], "did you give metres or cm?"),
    (SIM + ["--cells", "100000", "4", "4"], "--cells: 404958 A: SAED specimens (thickness and width) are 1-100000 A"),
    (SIM + ["--oversample", "0"], "--oversample: "),
    (SIM + ["--tilt-mrad", "nan", "0"], "--tilt-mrad: "),
    (SIM + ["--dose-e", "100", "--read-noise-e", "-1"], "--read-noise-e: read noise must be >= 0"),
    (SIM + ["--psf-sigma-px", "-1"], "--psf-sigma-px: the point-spread sigma (pixels) must be >= 0"),
    (SIM + ["--dynamic-range", "0.5"], "--dynamic-range: the dynamic range must be > 1"),
    (SIM + ["--direct-beam-ratio", "0"], "--direct-beam-ratio: the direct-beam ratio must be > 0"),
    (SIM + ["--size", "4"], "--size: detector size must be an integer of at least 8 pixels"),
    (["defect", "thermal", AL, "--temperature-k", "-20", "--supercell", "2", "2", "2"],
     "--temperature-k: -20 K: crystals exist at 0-5000 K; did you give degrees Celsius?"),
    (["defect", "thermal", AL, "--temperature-k", "300", "--supercell", "2", "2", "2", "--method", "md",
      "--timestep-fs", "0"], "--timestep-fs: MD needs > 0 fs"),
    (["defect", "thermal", AL, "--temperature-k", "300", "--supercell", "2", "2", "2", "--method", "md",
      "--interval-steps", "0"], "--interval-steps: "),
    (["defect", "strain", AL, "--strain", "5", "0", "0", "0", "0", "0"],
     "--strain: 5: too large; uniform strains are strictly within -0.5 to 0.5; did you give percent?"),
]


@pytest.mark.parametrize("argv,expect", CLI_CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CLI_CASES])
def test_cli_names_the_option_as_typed(tmp_path, capsys, argv, expect):
    out = tmp_path / ("x.png" if argv[0] == "simulate" else "x.cif")
    line = _error_line(capsys, *argv, "-o", str(out))
    assert line.startswith("sadpnet: error: --") and expect in line
    for python_name in ("voltage_kv", "camera_length_mm", "temperature_k", "timestep_fs", "read_noise_e", "tilt_mrad",
                        "psf_sigma_px", "dynamic_range", "direct_beam_ratio"):
        assert python_name not in line
    assert list(tmp_path.iterdir()) == []


def test_option_name_maps_python_names_of_the_command_run():
    sim = ["simulate", "Al", "--zone", "0", "0", "1", "-o", "x.png"]
    assert option_name("voltage_kv", sim) == "--voltage-kv"
    assert option_name("size", sim) == "--size"
    assert option_name("temperature_k", ["defect", "thermal", "Al"]) == "--temperature-k"
    assert option_name("equilibration_steps", ["defect", "thermal", "Al"]) == "--equilibration-steps"
    assert option_name("calibration_inv_a_per_px", ["classify", "x.dm3"]) == "--calibration-inv-a-per-px"
    assert option_name("temperature_k", sim) == "temperature_k"  # not an option of simulate: left as it is
    assert option_name("/tmp/x.cif", sim) == "/tmp/x.cif" and option_name(None, sim) is None


@pytest.mark.parametrize("rng,value,expect", [
    (VOLTAGE_KV, 200000, "200000 kV: electron microscopes run at 10-1000 kV; did you give volts?"),
    (CAMERA_LENGTH_MM, 0.25, "0.25 mm: diffraction camera lengths are 10-10000 mm; did you give metres?"),
    (CAMERA_LENGTH_MM, 1e6, "1e+06 mm: diffraction camera lengths are 10-10000 mm; did you give micrometres?"),
    (CALIBRATION_INV_A_PER_PX, 2.0, "2 1/A per px: SAED calibrations are 0.0001-0.5 1/A per px; did you give "
                                    "1/nm per px?"),
    (TEMPERATURE_K, -40, "-40 K: crystals exist at 0-5000 K; did you give degrees Celsius?"),
    (TEMPERATURE_K, 1e5, "100000 K: crystals exist at 0-5000 K"),
    (THICKNESS_A, 0.5, "0.5 A: SAED specimens (thickness and width) are 1-100000 A"),
    (STRAIN, -0.7, "-0.7: too large; uniform strains are strictly within -0.5 to 0.5"),
    (STRAIN, 2, "did you give percent?"),
    (VOLTAGE_KV, float("nan"), "nan kV: electron microscopes run at 10-1000 kV"),
])
def test_range_messages(rng, value, expect):
    with pytest.raises(InputError) as exc:
        rng.check(value)
    assert exc.value.where == rng.name and expect in exc.value.problem


def test_ranges_accept_sensible_values():
    assert VOLTAGE_KV.check(200) == 200.0 and CAMERA_LENGTH_MM.check("300") == 300.0
    assert CALIBRATION_INV_A_PER_PX.check(0.0133) == 0.0133 and TEMPERATURE_K.check(0) == 0.0
    assert STRAIN.check(-0.05) == -0.05 and THICKNESS_A.check(80) == 80.0
    with pytest.raises(InputError, match="expected a number of kV"):
        VOLTAGE_KV.check("two hundred")


def test_the_python_api_runs_the_same_checks(al_crystal, tmp_path):
    from sadpnet.defects.point import make_supercell
    from sadpnet.defects.strain import apply_strain
    from sadpnet.defects.thermal import debye_snapshots
    from sadpnet.io import load_pattern
    from sadpnet.simulate import simulate
    from sadpnet.simulate.microscope import Microscope

    with pytest.raises(InputError, match="did you give volts") as exc:
        simulate(al_crystal, (0, 0, 1), voltage_kv=200000, size_px=64, cells=(4, 4, 4))
    assert exc.value.where == "voltage_kv"
    with pytest.raises(InputError, match="did you give metres"):
        Microscope(200.0, 0.3)
    with pytest.raises(InputError, match="SAED specimens") as exc:
        simulate(al_crystal, (0, 0, 1), size_px=64, cells=(100000, 4, 4))
    assert exc.value.where == "cells"
    with pytest.raises(InputError, match="degrees Celsius"):
        debye_snapshots(make_supercell(al_crystal, (2, 2, 2)), -20.0)
    with pytest.raises(InputError, match="percent"):
        apply_strain(al_crystal, [5, 0, 0, 0, 0, 0])
    with pytest.raises(InputError, match="1/nm per px") as exc:
        load_pattern(tmp_path / "any.npy", calibration_inv_a_per_px=1.3)
    assert exc.value.where == "calibration_inv_a_per_px"

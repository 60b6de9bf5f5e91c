"""``sadpnet demo``: simulate the shipped example crystals and write patterns and a contact sheet."""

from __future__ import annotations

from pathlib import Path

import typer

from sadpnet.cli.base import app


@app.command("demo")
def demo_command(
    output: Path = typer.Option(Path("out/demo"), "-o", "--output", help="Folder to write into."),
    voltage_kv: float = typer.Option(200.0, "--voltage-kv", help="Acceleration voltage, kV."),
    camera_length_mm: float = typer.Option(300.0, "--camera-length-mm", help="Camera length, mm."),
) -> None:
    """Simulate Al, Cu, Fe, W, Si, NaCl, CsCl and beta-Mn on [001] [011] [111] [112]: PNG + spots JSON each,
    a labelled contact sheet and an index.json."""
    from sadpnet.study.demo import run_demo

    index = run_demo(output, voltage_kv=voltage_kv, camera_length_mm=camera_length_mm)
    typer.echo(f"{len(index['patterns'])} patterns in {output / 'patterns'} "
               f"({index['simulate_and_render_s']:.2f} s simulating); contact sheet: {output / index['contact_sheet']}")

"""``sadpnet serve``: the web page for microscopists (drop a pattern, see the crystal structure)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sadpnet.cli.base import app


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
    port: int = typer.Option(8000, "--port", help="TCP port."),
    model: Optional[Path] = typer.Option(None, "--model", help="Model folder, or a shipped model's name (default: the shipped default model)."),
    max_upload_mb: float = typer.Option(64.0, "--max-upload-mb", help="Largest upload per request, MiB (larger: 413)."),
) -> None:
    """Serve the web page and its JSON API (OpenAPI at /docs) with the model loaded once."""
    from sadpnet.errors import InputError

    if not (0 < port < 65536):
        raise InputError(f"must be a TCP port between 1 and 65535, got {port}", "--port")
    import uvicorn

    from sadpnet.web.app import create_app

    web_app = create_app(model_dir=model, max_upload_mb=max_upload_mb)
    typer.echo(f"sadpnet: serving on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(web_app, host=host, port=port, log_level="warning")

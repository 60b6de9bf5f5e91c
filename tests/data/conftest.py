from pathlib import Path

import pytest

QUICK = Path(__file__).resolve().parents[2] / "specs" / "quick.yaml"


@pytest.fixture(scope="session")
def quick_store(tmp_path_factory):
    """The store of specs/quick.yaml, built once for every test that only reads it (copy it to change it)."""
    from sadpnet.data.build import build_dataset

    out = tmp_path_factory.mktemp("ds") / "quick"
    build_dataset(QUICK, out, workers=0, progress=False)
    return out

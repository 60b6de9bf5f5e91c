import os

import pytest

# Keep BLAS/OpenMP and torch from oversubscribing the 2 cores of CI machines.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def al_crystal():
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif

    return read_cif(example_cif("Al"))


@pytest.fixture(scope="session")
def fe_crystal():
    from sadpnet.crystal import read_cif
    from sadpnet.resources import example_cif

    return read_cif(example_cif("Fe"))

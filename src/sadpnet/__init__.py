"""sadpnet: selected-area electron diffraction patterns of (defected) crystals, and classifiers for them.

The package is a one-way pipeline; each sub-package is one stage::

    crystal -> defects -> simulate -> data -> model -> study
                               io ------------^        cli / web (thin layers)

Heavy libraries (torch, dask, abTEM) are imported inside the functions that need them, so that
``import sadpnet`` and ``sadpnet --help`` stay fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

"""Datasets of simulated SADPs: crystal corpus, spec, planning, Zarr + Parquet store, Dask build, PyTorch loading.

One module per concept (see docs/datasets.md):

* `sadpnet.data.corpus`: index of the shipped CIFs and their documented variants (``resources/corpus``);
* `sadpnet.data.spec`: dataset spec files (YAML), validated key by key;
* `sadpnet.data.variants`: variants named in a spec (perfect, lattice scale, uniform strain);
* `sadpnet.data.plan`: selection, splits by material, one table row per pattern (all random draws);
* `sadpnet.data.store`: the store on disk (Zarr images, Parquet table, chunk markers, version);
* `sadpnet.data.build`: the resumable Dask build (`build_dataset`);
* `sadpnet.data.card`: the dataset card (JSON + Markdown);
* `sadpnet.data.preview`: a labelled contact sheet;
* `sadpnet.data.torch_dataset`: `StoreDataset`, a streaming PyTorch dataset.

Modules import their heavy dependencies (pandas, zarr, dask, torch) themselves; importing this package is light.
"""

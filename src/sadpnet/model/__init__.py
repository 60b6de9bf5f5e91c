"""sadpnet.model

`DEFAULT_TOP_K`: how many space groups a classification lists when the caller does not say, the same in
the Python API (`sadpnet.model.infer`), the CLI (``sadpnet classify --top-k``) and the web page and API
(``top_k``). Kept here, in a module without imports, so the CLI can show it without loading torch.
"""

#: Number of space groups (classes) listed per classified image by default, everywhere.
DEFAULT_TOP_K = 3

"""The models a web user may choose: the server's own model and the shipped ones, by name, loaded once.

A web request names a model by its shipped name only (`sadpnet.model.infer.shipped_model_names`: default,
defect-aware, extended-symmetry, ...), never by a folder: the server reads nothing a web user points it at.
Each model is loaded on its first use and kept (a few tens of MB each), so later requests pay nothing.

Example:
    >>> from sadpnet.web.models import ModelChoice
    >>> choice = ModelChoice(server_model)          # doctest: +SKIP
    >>> choice.get("defect-aware").card["name"]     # doctest: +SKIP
    'defect-aware'
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

from sadpnet.errors import InputError
from sadpnet.model.infer import default_model_dir, load_model, resolve_model_dir, shipped_model_names

#: The form field (and query parameter) of the web API that names a model.
MODEL_FIELD = "model"


class ModelChoice:
    """The server's default model plus the shipped models by name, each loaded at most once (thread-safe).

    Args:
        default: the server's loaded model (what a request without a ``model`` gets).
        default_name: the shipped name ``default`` was loaded as (`shipped_name_of`), None for a model
            folder of the server's own or an injected model; asking for that name returns ``default`` itself.
        loader: loads a model folder (`sadpnet.model.infer.load_model`; tests pass a fake).
    """

    def __init__(self, default: Any, default_name: str | None = None,
                 loader: Callable[[Path], Any] = load_model):
        self.default = default
        self._loader = loader
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.default_name = default_name
        if default_name is not None:
            self._loaded[self.default_name] = default

    @staticmethod
    def names() -> list[str]:
        """The names a request may give (the shipped models)."""
        return shipped_model_names()

    def get(self, name: str | None) -> Any:
        """The model called ``name`` (None or "": the server's default); an unknown name is an `InputError`
        on the ``model`` field listing the shipped names. Loads it on first use, then keeps it."""
        if name is None or name == "":
            return self.default
        names = self.names()
        if name not in names:
            raise InputError(f"unknown model {name!r}; the shipped models are: {', '.join(names)}",
                             f"{MODEL_FIELD} field")
        with self._lock:  # one load at a time: two first requests for one model load it once
            if name not in self._loaded:
                self._loaded[name] = self._loader(default_model_dir().parent / name)
            return self._loaded[name]

    def describe(self) -> dict:
        """What the page offers: ``{"shipped": [names], "default": shipped name of the server's model or None
        (a model folder of its own), "default_card_name": its card's name}``."""
        card = getattr(self.default, "card", None) or {}
        return {"shipped": self.names(), "default": self.default_name, "default_card_name": card.get("name")}

    def public_name(self, model: Any) -> str | None:
        """The shipped name under which ``model`` was loaded, or its card's name (never a server folder)."""
        for name, loaded in list(self._loaded.items()):
            if loaded is model:
                return name
        return (getattr(model, "card", None) or {}).get("name")


def shipped_name_of(model_dir: str | Path | None) -> str | None:
    """The shipped name of ``model_dir`` (a folder or a shipped name; None: the shipped default) when it is
    a shipped model's folder, else None."""
    try:
        folder = Path(resolve_model_dir(model_dir)).resolve()
    except InputError:
        return None
    root = default_model_dir().parent.resolve()
    return folder.name if folder.parent == root and folder.name in shipped_model_names() else None

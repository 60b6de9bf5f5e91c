"""Error messages of the web API in a web user's terms: the uploaded file's own name and the form field,
never a server path (temporary upload, model folder) or a CLI flag.

The Python API words its `sadpnet.errors.InputError` messages for the CLI ("pass
--calibration-inv-a-per-px", the file's path); the web layer rewrites them here:

* a saved upload's path or name -> the name the user uploaded; its temporary folder -> "the upload";
* any other absolute path -> its last part (e.g. a model folder's name);
* ``--calibration-inv-a-per-px`` -> "the calibration_inv_a_per_px field" (a flag of a form field), any other
  flag -> "the server's ... setting";
* FastAPI's validation errors (a list) -> one line "top_k field: Input should be ...".

Example:
    >>> from pathlib import Path
    >>> public_message("/tmp/sadpnet-web-x/000_a.png: no calibration; pass --calibration-inv-a-per-px",
    ...                {Path("/tmp/sadpnet-web-x/000_a.png"): "a.png"})
    'a.png: no calibration; set the calibration_inv_a_per_px field'
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from sadpnet.errors import InputError

#: Form fields (and query parameters) of the web API a message may name.
FORM_FIELDS = ("file", "calibration_inv_a_per_px", "ensemble", "top_k", "model", "max_preview_px")

_ABS_PATH = re.compile(r"(?<![\w.~])(?:/[\w.@+~%-]+)+/?")  # POSIX absolute paths; "1/A" and "1/nm" are not
_COMMAND_FLAG = re.compile(r"\bsadpnet\s+[a-z][a-z-]*\s+--([a-z][a-z0-9-]*)")  # "sadpnet serve --max-upload-mb"
_VERB_FLAG = re.compile(r"\b(?:pass|give|use|set|with)\s+--([a-z][a-z0-9-]*)")
_FLAG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def public_message(text: str, uploads: Mapping[Path, str] | None = None) -> str:
    """``text`` with server paths and CLI flags replaced (see the module); one line.

    Args:
        text: a message meant for the CLI, e.g. ``str(InputError)``.
        uploads: saved upload path -> the file name the user uploaded.
    """
    for path, name in (uploads or {}).items():
        for form in {str(path), str(Path(path).resolve())}:
            text = text.replace(form, name)
        for folder in {str(path.parent), str(Path(path).parent.resolve())}:
            text = text.replace(folder, "the upload")
        text = text.replace(path.name, name)
    text = _ABS_PATH.sub(lambda m: Path(m.group(0)).name or "(server folder)", text)
    text = _COMMAND_FLAG.sub(lambda m: f"the {_field(m.group(1))}", text)
    text = _VERB_FLAG.sub(lambda m: f"set the {_field(m.group(1))}", text)
    text = _FLAG.sub(lambda m: f"the {_field(m.group(1))}", text)
    return " ".join(text.split())


def _field(flag: str) -> str:
    name = flag.replace("-", "_")
    return f"{name} field" if name in FORM_FIELDS else f"server's {name} setting"


@contextlib.contextmanager
def named_as_uploaded(paths: Sequence[Path], names: Sequence[str]) -> Iterator[None]:
    """Inside the block, an `InputError` comes out with `public_message` of its text (paths -> names)."""
    try:
        yield
    except InputError as exc:
        raise InputError(public_message(str(exc), dict(zip(paths, names)))) from None


def validation_message(errors: Sequence[dict]) -> str:
    """One line from FastAPI's ``RequestValidationError.errors()``: "top_k field: <message>; ..."."""
    parts = []
    for err in errors:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path", "header")]
        where = f"{loc[0]} field" if loc else "request"
        parts.append(f"{where}: {err.get('msg', 'not valid')}")
    return public_message("; ".join(parts) or "the request is not valid")

"""The study's figures (matplotlib, Agg backend), each returned as PNG bytes.

`strain_plot` (accuracy versus strain with the paper's statements, like the paper's Fig. 2), `panel_plot`
(pristine beside defected pattern), `confusion_plot` (row-normalised: shaded by row share, counts printed)
and `calibration_plot` (reliability diagram). The numbers they draw are computed by `sadpnet.study.report`.
"""

from __future__ import annotations

import io

import numpy as np

from sadpnet.study import paper


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> bytes:
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


#: Marker of each model's curves (by model index); line style and fill of each material.
MODEL_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
MATERIAL_STYLE = {"Al": ("-", "full"), "Fe": ("--", "none")}


def strain_plot(curves: list[dict], series: str) -> bytes:
    """PNG of accuracy (%) against strain with 95 % Wilson error bars, one curve per model and material, with
    the paper's statements (the shape of the paper's Fig. 2).

    Each model has its own colour and marker, each material its line style (Al solid, filled markers; Fe
    dashed, open markers); curves are shifted sideways by a small step so that equal points stay visible.

    Parameters
    ----------
    curves : list of dict
        `sadpnet.study.tables.strain_curves`: "label", "strain" (fraction or rad), "accuracy_pct", "low_pct",
        "high_pct" (Wilson bounds, %), "color" (model index), "material".
    series : str
        "normal" (x axis in %) or "shear" (rad).
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    scale = 100.0 if series == "normal" else 1.0
    step = 0.05 if series == "normal" else 0.0004  # sideways shift between curves, in axis units
    for i, c in enumerate(curves):
        x = np.asarray(c["strain"]) * scale + (i - (len(curves) - 1) / 2) * step
        y = np.asarray(c["accuracy_pct"], dtype=float)
        err = [y - np.asarray(c.get("low_pct", y)), np.asarray(c.get("high_pct", y)) - y]
        ls, fill = MATERIAL_STYLE.get(c["material"], ("-.", "full"))
        ax.errorbar(x, y, yerr=err, color=f"C{c['color']}", marker=MODEL_MARKERS[c["color"] % len(MODEL_MARKERS)],
                    ls=ls, fillstyle=fill, ms=6, capsize=2, elinewidth=0.8, label=c["label"])
    for ser, x, acc, kind in paper.PAPER_STRAIN_POINTS:
        if ser != series:
            continue
        if kind == "value":
            ax.plot([x * scale], [acc], "k*", ms=12, label="paper (Al), published value")
        elif kind == "at_most":
            ax.annotate("", xy=(x * scale, acc - 15), xytext=(x * scale, acc),
                        arrowprops={"arrowstyle": "->", "color": "k"})
            ax.plot([x * scale], [acc], "kv", ms=9, label="paper: below this beyond this strain")
        else:
            ax.plot([0, x * scale], [acc, acc], "k:", lw=2, label="paper: no visible effect up to here")
    ax.set_xlabel("normal strain along a (%)" if series == "normal" else "shear strain gamma_xy (rad)")
    ax.set_ylabel("accuracy (%), 95 % Wilson interval")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    fig.subplots_adjust(right=0.68)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return png(fig)


def lowered_plot(normal: list[dict], shear: list[dict]) -> bytes:
    """PNG, normal and shear strain side by side: share (%) of patterns answered with a non-cubic space group
    against strain, one line per model and material, and the share that visibly shows the lowered symmetry
    (black). ``normal``, ``shear``: curves of `sadpnet.study.tables.lowered_curves`."""
    plt = _pyplot()
    fig, axs = plt.subplots(1, 2, figsize=(10.5, 3.8), sharey=True)
    for ax, curves, series in ((axs[0], normal, "normal"), (axs[1], shear, "shear")):
        scale = 100.0 if series == "normal" else 1.0
        for c in curves:
            color = "k" if c["model"] is None else f"C{c['color']}"
            ax.plot(np.asarray(c["strain"]) * scale, c["share_pct"], color=color,
                    marker="o" if c["material"] == "Al" else "s", ls="-" if c["material"] == "Al" else "--",
                    lw=2.5 if c["model"] is None else 1.2, label=c["label"])
        ax.set_xlabel("normal strain along a (%)" if series == "normal" else "shear strain gamma_xy (rad)")
        ax.set_ylim(-2, 102)
        ax.grid(alpha=0.3)
    axs[0].set_ylabel("patterns answered non-cubic (%)")
    handles, labels = axs[1].get_legend_handles_labels() if shear else axs[0].get_legend_handles_labels()
    fig.subplots_adjust(right=0.78)
    fig.legend(handles, labels, fontsize=7, loc="center right")
    fig.suptitle("Lowered symmetry named by each model, and where it can be seen (black)", fontsize=8)
    return png(fig)


def panel_plot(example: dict) -> bytes:
    """PNG of a pristine and a defected pattern side by side (``example`` from `sadpnet.study.run`)."""
    plt = _pyplot()
    view = example.get("model_view")
    fig, axs = plt.subplots(2 if view else 1, 2, figsize=(6, 6.2 if view else 3.2), squeeze=False)
    z, kv, cl = example["point"]
    for ax, img, title in zip(axs[0], (example["pristine"], example["defected"]),
                              (example["pristine_label"], example["label"])):
        ax.imshow(np.asarray(img), cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"{title}\n(stored image, log display)", fontsize=7)
        ax.set_axis_off()
    if view:
        name, *inputs = view
        for ax, x in zip(axs[1], inputs):
            ax.imshow(np.asarray(x), cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"what {name} sees (model input)", fontsize=7)
            ax.set_axis_off()
    fig.suptitle(f"[{''.join(map(str, z))}], {kv:g} kV, {cl:g} mm", fontsize=8)
    return png(fig)


def confusion_plot(names, cols, mat, title) -> bytes:
    """PNG of a confusion matrix, row-normalised: colour = share of the row's patterns, count printed in each
    cell. Rows ``names``, columns ``cols`` (the last one "flagged unknown"), ``mat``: (rows, cols) counts."""
    plt = _pyplot()
    frac = mat / np.maximum(mat[:, :-1].sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(2.0 + 0.7 * len(cols), 0.8 + 0.35 * len(names)))
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02).set_label("share of the row's patterns", fontsize=7)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    for i in range(len(names)):
        for j in range(len(cols)):
            ax.text(j, i, str(mat[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if frac[i, j] > 0.6 else "black")
    ax.set_title(title, fontsize=8)
    return png(fig)


def calibration_plot(curves: dict[str, dict], title: str) -> bytes:
    """PNG of reliability diagrams: fraction correct against mean top-1 probability per bin, one per model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="perfect calibration")
    for i, (name, c) in enumerate(curves.items()):
        xs = [f for f, n in zip(c["confidence"], c["count"]) if n]
        ys = [a for a, n in zip(c["accuracy"], c["count"]) if n]
        ax.plot(xs, ys, "o-", color=f"C{i}", label=f"{name} (ECE {c['ece_pct']:.1f} %, n={c['n']})")
    ax.set_xlabel("top-1 probability")
    ax.set_ylabel("fraction correct")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=8)
    return png(fig)

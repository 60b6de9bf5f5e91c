"""`sadpnet evaluate`'s report: every accuracy with its count and 95 % Wilson interval; the confusion plot."""

from __future__ import annotations


def _res():
    return {"model": "/m/tiny", "dataset": "/d", "split": "test", "n_patterns": 10, "n_correct": 5, "accuracy": 0.5,
            "per_class": {"225": {"n": 6, "n_correct": 5, "accuracy": 5 / 6},
                          "229": {"n": 4, "accuracy": 0.0}},  # written before n_correct was recorded
            "per_zone_axis": {"001": {"n": 10, "n_correct": 5, "accuracy": 0.5}},
            "ensemble_3": {"accuracy": 0.6, "n": 200}, "ensemble_3_lowest": {"accuracy": 0.7, "n": 200},
            "ece": 0.1, "ece_uncalibrated": 0.2, "temperature": 1.5,
            "confusion": {"labels": [225, 229], "counts": [[5, 1], [4, 0]]},
            "unknown": {"chosen_score": "energy", "threshold": 1.0, "auroc": {"energy": {"noise_only": 0.9}},
                        "clean_flagged_unknown": 0.1, "ood_flagged_unknown": {"noise_only": 0.8}}}


def test_evaluate_report_gives_counts_and_wilson_intervals():
    from sadpnet.model.evaluate import report_markdown

    md = report_markdown(_res())
    assert "- accuracy per pattern, % [95 % Wilson interval] (patterns): 50.00 [23.66, 76.34] (10)" in md
    assert "| 225 | 6 | 83.33 [43.65, 96.99] (6) |" in md
    assert "| 229 | 4 | 0.00 [0.00, 48.99] (4) |" in md  # count rebuilt from the accuracy
    assert "| [001] | 10 | 50.00 [23.66, 76.34] (10) |" in md


def test_confusion_plot_is_written(tmp_path):
    from PIL import Image

    from sadpnet.model.evaluate import plot_confusion

    plot_confusion(_res()["confusion"], tmp_path / "c.png", title="t")
    with Image.open(tmp_path / "c.png") as im:
        assert im.width > im.height > 100

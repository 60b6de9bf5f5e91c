"""The study's progress bars end at their total (the classify bar used to stop at 70/71)."""

from sadpnet.study.run import counted


def test_counted_reports_each_item_then_the_total():
    calls = []
    items = [f"set{i}" for i in range(71)]
    out = []
    for x in counted(items, "classify (default)", lambda *a: calls.append(a), str):
        if x == "set5":
            continue  # a skipped set (no patterns) still counts
        out.append(x)
    assert len(out) == 70 and len(calls) == 72
    assert calls[0] == ("classify (default)", 0, 71, "set0") and calls[-1] == ("classify (default)", 71, 71, "done")
    assert [c[1] for c in calls] == list(range(72))


def test_counted_of_nothing_still_ends_at_zero_of_zero():
    calls = []
    assert list(counted([], "simulate", lambda *a: calls.append(a), str)) == []
    assert calls == [("simulate", 0, 0, "done")]

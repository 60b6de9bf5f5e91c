"""The report's example panels lie on the paper's low-index zone axes."""

from __future__ import annotations

import numpy as np


def _sp(key, points):
    from sadpnet.study.testsets import SetPatterns, paper_test_sets

    spec = next(s for s in paper_test_sets(quick=True) if s.key == key)
    return SetPatterns(spec, np.zeros((len(points), 8, 8), np.uint8), points, np.full(len(points), 0.02))


def test_example_point_takes_turns_over_low_index_axes():
    from sadpnet.study.run import EXAMPLE_ZONE_AXES, example_point

    s = _sp("Al-vacancy-3x3x3", [((1, 3, 3), 100.0, 350.0), ((1, 2, 4), 300.0, 300.0)])
    assert [example_point(s, t)[0] for t in range(4)] == list(EXAMPLE_ZONE_AXES)
    assert example_point(s, 5) == ((0, 1, 1), 100.0, 350.0)  # the set's first voltage and camera length
    # a set with its own zone axes: its first simulated point on a low-index axis ([110] is of the [011] family)
    dis = _sp("Al-dislocation-110", [((1, 1, 0), 200.0, 300.0)])
    assert example_point(dis, 0) == ((1, 1, 0), 200.0, 300.0)


def test_examples_simulate_the_low_index_point_for_both_images():
    """Quick mode's standard sets hold no low-index point (seed 0): the example simulates pristine and defected
    crystal there, on a tiny grid."""
    from sadpnet.study.run import _examples
    from sadpnet.study.testsets import Grid, paper_test_sets, simulate_set

    g = Grid.quick(seed=0)
    grid = Grid(g.voltages_kv, g.camera_lengths_mm, g.zone_axes, patterns_per_set=1, size_px=64, cells=(6, 6, 4),
                detector_pixel_size_mm=0.4, seed=0)
    specs = [s for s in paper_test_sets(quick=True) if s.key in ("Al-pristine", "Al-strain-normal-0.0500")]
    sets = [simulate_set(s, grid) for s in specs]
    assert all(s.points[0][0] == (1, 3, 3) for s in sets)
    (ex,) = _examples(sets, grid, 0)
    assert ex["set"] == "Al-strain-normal-0.0500" and ex["point"] == [[0, 0, 1], 100.0, 350.0]
    assert ex["pristine"].shape == ex["defected"].shape == (64, 64)
    assert not np.array_equal(ex["pristine"], ex["defected"])  # 5 % strain moves the spots
    assert not np.array_equal(ex["defected"], sets[1].images[0])  # not the stored [133] pattern

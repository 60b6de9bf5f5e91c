"""Reflection conditions from spglib's operations against the International Tables' rules."""

import itertools

import numpy as np
import pytest

from sadpnet.crystal.reflections import allowed_reflections
from sadpnet.errors import InputError

HKL = np.array([t for t in itertools.product(range(-6, 7), repeat=3) if any(t)])


def _fcc(h, k, l):
    return (h % 2 == k % 2) & (k % 2 == l % 2)


RULES = {
    221: lambda h, k, l: np.ones(len(h), bool),
    229: lambda h, k, l: (h + k + l) % 2 == 0,
    225: _fcc,
    # Fd-3m: F centring; 0kl (and permutations): k + l = 4n; hhl: h + l = 2n (implied by F); h00: h = 4n
    227: lambda h, k, l: _fcc(h, k, l) & ~(((h == 0) & ((k + l) % 4 != 0)) | ((k == 0) & ((h + l) % 4 != 0))
                                          | ((l == 0) & ((h + k) % 4 != 0))),
    # P4_132: h00 (and permutations) present only for h = 4n
    213: lambda h, k, l: ~(((k == 0) & (l == 0) & (h % 4 != 0)) | ((h == 0) & (l == 0) & (k % 4 != 0))
                           | ((h == 0) & (k == 0) & (l % 4 != 0))),
}


@pytest.mark.parametrize("group", sorted(RULES))
def test_cubic_groups_follow_the_international_tables(group):
    h, k, l = HKL.T
    np.testing.assert_array_equal(allowed_reflections(group, HKL), RULES[group](h, k, l))


def test_hexagonal_screw_axis():
    # P6_3/mmc (194): 000l present only for l = 2n
    got = allowed_reflections(194, [[0, 0, 1], [0, 0, 2], [1, 0, 0], [0, 0, 3]])
    assert got.tolist() == [False, True, True, False]


def test_unknown_group_is_refused():
    with pytest.raises(InputError, match="not one of 1-230"):
        allowed_reflections(231, [[1, 0, 0]])

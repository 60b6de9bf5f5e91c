"""The drawn patterns of the spot-index stream: a crystal that cannot be simulated is replaced, reproducibly."""

import numpy as np
import pytest

from sadpnet.errors import InputError, SadpnetError
from sadpnet.model import indexing_data as data


def _cubic_seed() -> int:
    return next(s for s in range(40) if data.draw_pattern(s)[1] < 5)


def test_a_crystal_that_cannot_be_simulated_is_replaced_by_the_next_pick(monkeypatch):
    """A corpus CIF that does not load (or a cell too large for the cell engine) costs the draw one pick of
    the same generator, not the training run; the same seed draws the same pattern again."""
    seed = _cubic_seed()
    clean = data.draw_pattern(seed)
    real, calls = data._pick_crystal, []

    def first_pick_broken(rng, label):
        calls.append(label)
        pick = real(rng, label)
        if len(calls) == 1:
            raise InputError("unknown element 'Ya' in the atom sites", "broken.cif")
        return pick

    monkeypatch.setattr(data, "_pick_crystal", first_pick_broken)
    first = data.draw_pattern(seed)
    assert len(calls) == 2 and first[1] == clean[1]  # one pick skipped, same label
    calls.clear()
    again = data.draw_pattern(seed)
    np.testing.assert_array_equal(np.asarray(again[0].image), np.asarray(first[0].image))
    assert again[1:] == first[1:]


def test_a_stream_of_crystals_that_all_fail_says_so_with_its_seed(monkeypatch):
    seed = _cubic_seed()

    def broken(rng, label):
        raise InputError("too large for the cell engine", "engine")

    monkeypatch.setattr(data, "_pick_crystal", broken)
    with pytest.raises(SadpnetError, match=f"seed {seed}: {data.MAX_REDRAWS} drawn crystals in a row"):
        data.draw_pattern(seed)

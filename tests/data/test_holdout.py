"""The held-out real crystals of classifier v2 stay out of every training path."""

from sadpnet.data.holdout import NAMED, choose_holdout, load_holdout, training_index


def test_held_out_set_meets_the_issue_sizes():
    h = load_holdout()
    cubic, other = h[h.role == "cubic"], h[h.role == "other"]
    assert {"cod/Al", "cod/Fe"} <= set(cubic.material_id)
    assert len(cubic) - 2 >= 50 and len(other) >= 20
    assert set(cubic.space_group) == {213, 221, 225, 227, 229}
    assert set(other.crystal_system) == {"triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal",
                                         "hexagonal"}
    assert set(NAMED) <= set(h.material_id)
    assert h.family_id.is_unique


def test_committed_list_is_what_the_seeded_rule_draws():
    committed = load_holdout()
    drawn = choose_holdout()
    assert list(drawn.material_id) == list(committed.material_id)


def test_training_index_has_no_held_out_family_nor_variant():
    held = set(load_holdout().family_id)
    train = training_index()
    assert not (set(train.family_id) & held)
    assert not any(m in set(load_holdout().material_id) for m in train.material_id)

from __future__ import annotations

import numpy as np

from retention_sim.model.random_streams import Streams


def test_same_seed_same_numbers():
    assert np.array_equal(Streams(3)["purchase"].random(5), Streams(3)["purchase"].random(5))


def test_streams_are_independent_of_each_other_and_of_use_order():
    a = Streams(3)
    a["spend"].random(1000)  # using one stream must not shift another
    b = Streams(3)
    assert np.array_equal(a["purchase"].random(5), b["purchase"].random(5))
    assert not np.array_equal(Streams(3)["spend"].random(5), Streams(3)["purchase"].random(5))


def test_different_seeds_differ():
    assert not np.array_equal(Streams(1)["purchase"].random(5), Streams(2)["purchase"].random(5))

from __future__ import annotations

import numpy as np

from retention_sim.model.rfm import SEGMENT_CODES, rfm_scores, rfm_segments, vip_mask


def test_quintile_scores_split_evenly_and_point_the_right_way():
    rng = np.random.default_rng(0)
    n = 10_000
    rec, freq, mon = rng.integers(0, 400, n), rng.poisson(5, n), rng.gamma(2, 100, n)
    r, f, m, shares = rfm_scores(rec, freq, mon)
    counts = np.bincount(m, minlength=6)[1:]
    assert np.all(np.abs(counts - n / 5) < 50)  # continuous values: exact quintiles
    assert rec[r == 5].max() <= rec[r == 1].min()  # most recent = score 5
    assert mon[m == 5].min() >= mon[m == 4].max()


def test_named_segments_cover_every_score_pair():
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6))
    seg = rfm_segments(r.ravel().astype(np.int8), f.ravel().astype(np.int8))
    names = {v: k for k, v in SEGMENT_CODES.items()}
    by = {(int(a), int(b)): names[s] for a, b, s in zip(r.ravel(), f.ravel(), seg, strict=True)}
    assert by[(5, 5)] == "champions" and by[(1, 1)] == "lost" and by[(5, 1)] == "new"
    assert by[(1, 5)] == "cant_lose" and by[(2, 2)] == "hibernating" and by[(2, 4)] == "at_risk"


def test_vip_is_top_quarter_on_all_three():
    rng = np.random.default_rng(1)
    n = 40_000
    _, _, _, shares = rfm_scores(rng.random(n), rng.random(n), rng.random(n))
    vip = vip_mask(shares)
    # independent uniforms: 0.25^3 of customers are in the top quarter of all three
    assert abs(vip.mean() - 0.25**3) < 4 * np.sqrt(0.25**3 / n)


def test_rank_share_matches_the_sorting_definition_with_ties():
    """Counting (integers) and the sort path (floats) give the share strictly below each value."""
    from retention_sim.model.rfm import _rank_share

    rng = np.random.default_rng(11)
    cases = [
        rng.integers(-400, 3000, 5000),  # recency-like, many ties
        rng.poisson(3, 5000).astype(np.int32) + 1,  # frequency
        np.round(rng.gamma(2.0, 50.0, 5000), 0),  # monetary with ties
        rng.gamma(2.0, 50.0, 5000),  # monetary, distinct
        np.array([10**12, 0, 5, 5], dtype=np.int64),  # a range too wide for counting
    ]
    for v in cases:
        expected = np.searchsorted(np.sort(v), v, side="left") / v.size
        assert np.array_equal(_rank_share(v), expected)
    assert _rank_share(np.zeros(0, dtype=int)).size == 0

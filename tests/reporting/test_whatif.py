"""The what-if: a promo variant against the policy itself, in words, numbers and a figure."""

from __future__ import annotations

import re

from retention_sim.reporting.whatif import describe_change, promo_variant, what_if


def test_the_change_is_named_in_the_policy_the_title_and_a_readable_table():
    r = what_if(
        "default",
        "bau_default",
        every_n_days=3,
        discount=0.1,
        channel="sms",
        customers=200,
        days=20,
    )
    assert r.change == "every 3 days, 10% off, by sms"
    assert r.variant.summary["policy"] == "bau_default · every 3 days, 10% off, by sms"
    title = r.figure()._suptitle.get_text()
    assert "every 3 days, 10% off, by sms" in title and "bau_default" in title
    html = r.styled_table().to_html()
    assert not re.search(r"\d[eE][+-]\d", html)  # no e-notation
    assert "VND" in html and "%" in html
    profit = r.table().loc["profit", "original"]
    assert f"{profit:,.0f} VND" in html  # whole currency units with thousands separators


def test_describe_change_and_the_variant_it_names():
    assert describe_change(every_n_days=1) == "every 1 day"
    assert describe_change(every_n_days=14, holdout_share=0.05) == "every 14 days, 5% holdout"
    from retention_sim import load_policy

    v = promo_variant(load_policy("bau_default"), every_n_days=5, discount=0.2)
    assert v.name == "bau_default · every 5 days, 20% off"
    promo = next(c for c in v.campaigns if c.cadence is not None and c.cadence.every_n_days == 5)
    assert promo.offer is not None and promo.offer.discount == 0.2

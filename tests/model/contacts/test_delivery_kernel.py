"""The compiled delivery kernel against its NumPy reference, on random states.

For one send, both take the fatigue ratio before the messages, add the messages' fatigue and
draw the responses; they must give the same response masks and the same fatigue stocks. The
kernel's counter hash gives the reference's uniforms bit for bit. (The open probability's
``exp`` is the C library's in the kernel and NumPy's in the reference: they may differ by one
unit in the last place, which turns a draw with probability of order 1e-16.)
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from retention_sim.model import kernels
from retention_sim.model.build import build_world
from retention_sim.model.contacts.responses import deliver_responses
from retention_sim.model.random_streams import counter_uniforms, counter_uniforms_compiled
from retention_sim.model.simulation import assemble, run_world
from retention_sim.vocabulary import CHANNELS

from ...conftest import ROOT, SCENARIOS

POLICIES = ROOT / "params" / "policies"
STREAMS = ("open", "click", "unsubscribe", "complaint", "reply")

pytestmark = pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")


def _random_state(seed: int, scenario: str, policy: str):
    """A run stopped after 20 days, then scrambled: fatigue stocks (some zero), tolerances
    (some zero: the 1e-9 floor), a send to random unique rows on random channels (those the
    scenario lacks too) with random counts of earlier messages today."""
    from retention_sim import load_policy, load_scenario

    sc = load_scenario(SCENARIOS / f"{scenario}.yaml")
    pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc)
    world = build_world(sc, seed=seed, customers=3000, days=21)
    mech = assemble(world, pol)
    run_world(world, mech)
    rng = np.random.default_rng(seed)
    pop, n = world.pop, world.pop.capacity
    shape = pop.fatigue.shape
    stock = rng.exponential(2.0, shape) * (rng.random(shape) < 0.6)
    pop.fatigue[:] = stock.astype(np.float32)  # in place: float32, Fortran order kept
    tol = rng.exponential(4.0, n) * (rng.random(n) < 0.97)
    pop.fatigue_tolerance[:] = tol.astype(np.float32)
    rows = rng.choice(n, size=2000, replace=False)
    ch = rng.integers(0, len(CHANNELS), rows.size)
    nth = rng.integers(0, 4, rows.size)
    return world, mech, rows, ch, nth, 20


def _both(world, mech, rates, params, **send):
    """The reference's and the kernel's responses and fatigue stocks, from the same state,
    and that state's stocks."""
    start = world.pop.fatigue.copy(order="F")
    out = []
    for compiled in (False, True):
        world.pop.fatigue[:] = start
        x = deliver_responses(mech.fatigue, world.seed, rates, params, compiled=compiled, **send)
        assert world.pop.fatigue.dtype == np.float32 and world.pop.fatigue.flags.f_contiguous
        out.append((x, world.pop.fatigue.copy()))
    return out + [start]


def _loud(rates):
    """The scenario's rates with unsubscribes, complaints and replies made common, so that a
    few thousand messages tell a wrong draw apart."""
    loud = copy.copy(rates)
    loud.unsub_rate = np.minimum(rates.unsub_rate * 20, 0.3)
    loud.complaint_rate = rates.complaint_rate * 50 + 0.01
    loud.reply_rate = rates.reply_rate * 30
    return loud


@pytest.mark.parametrize(
    ("seed", "scenario", "policy", "content", "relevance"),
    [
        (1, "default", "bau_default", "offer", 1.0),
        (2, "default", "bau_default", "info", 3.0),
        (3, "saas", "bau_saas", "service", 0.6),
        (4, "saas", "bau_saas", "info", 1.7),
    ],
)
def test_the_kernel_delivers_what_the_reference_delivers(
    seed, scenario, policy, content, relevance
):
    world, mech, rows, ch, nth, day = _random_state(seed, scenario, policy)
    engine = mech.contacts
    rates = _loud(engine.rates)
    assert rates.replies
    params = engine.resp
    if content == "info":  # an info message valued on click
        params = params.model_copy(update={"info_valued_on": "click"})
    send = dict(rows=rows, day=day, channels=ch, nth=nth, relevance=relevance, content=content)
    (ref, stock_r), (got, stock_c), start = _both(world, mech, rates, params, **send)

    for name in ref._fields:
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
    np.testing.assert_array_equal(stock_c, stock_r)
    assert np.count_nonzero(stock_c != start) > rows.size // 2  # the messages added fatigue
    # the state is informative: every response happens and does not happen
    for name in ("opened", "clicked", "unsubscribed", "complained", "replied"):
        mask = getattr(ref, name)
        assert 0 < mask.sum() < mask.size, name
    assert (ref.valued is ref.clicked) == (content == "info")


def test_without_replies_nobody_replies_and_the_rest_is_the_same():
    world, mech, rows, ch, nth, day = _random_state(5, "default", "bau_default")
    rates = _loud(mech.contacts.rates)
    rates.replies = False
    send = dict(rows=rows, day=day, channels=ch, nth=nth, relevance=1.0, content="reward")
    (ref, stock_r), (got, stock_c), _ = _both(world, mech, rates, mech.contacts.resp, **send)
    for name in ref._fields:
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)
    np.testing.assert_array_equal(stock_c, stock_r)
    assert not got.replied.any() and ref.opened.any()


@pytest.mark.parametrize("seed", [0, 7, 2**31 + 11, 2**32 - 1])
def test_the_kernels_hash_gives_the_references_uniforms_bit_for_bit(seed):
    rng = np.random.default_rng(seed % 1000)
    rows = rng.integers(0, 2**40, 5000)
    ch = rng.integers(0, len(CHANNELS), rows.size)
    nth = rng.integers(0, 5, rows.size)
    for day in (0, 1, 365, 10_000):
        ref = counter_uniforms(seed, STREAMS, rows, day, ch, nth)
        got = counter_uniforms_compiled(seed, STREAMS, rows, day, ch, nth)
        for r, g in zip(ref, got, strict=True):
            assert g.dtype == np.float64
            np.testing.assert_array_equal(g, r)  # bit for bit: same floats, no tolerance
        assert np.all((got[0] >= 0) & (got[0] < 1))


@pytest.mark.parametrize(("scenario", "policy"), [("default", "bau_default"), ("saas", "bau_saas")])
def test_a_whole_run_is_the_same_with_the_kernel_and_with_the_reference(
    monkeypatch, scenario, policy
):
    from retention_sim import load_policy, load_scenario, simulate

    sc = load_scenario(SCENARIOS / f"{scenario}.yaml")
    pol = load_policy(POLICIES / f"{policy}.yaml", scenario=sc)
    monkeypatch.setenv(kernels.ENV, "numpy")
    ref = simulate(sc, pol, seed=6, customers=2000, days=200)
    monkeypatch.setenv(kernels.ENV, "numba")
    got = simulate(sc, pol, seed=6, customers=2000, days=200)
    assert got.summary == ref.summary


def test_the_kernel_reads_the_reference_s_ratios_to_the_last_bit():
    """The ratios the delivery kernel draws with (its open probability's ``exp`` is then
    NumPy's, the reference's) are :meth:`Fatigue.ratio`'s, bit for bit."""
    from retention_sim.model.contacts.responses import _ratio_kernel

    world, mech, rows, _, _, _ = _random_state(2, "default", "bau_default")
    got = np.empty(rows.size)
    _ratio_kernel(rows, world.pop.fatigue, world.pop.fatigue_tolerance, got)
    np.testing.assert_array_equal(got, mech.fatigue.ratio(rows))
    assert (world.pop.fatigue_tolerance[rows] == 0).any()  # the 1e-9 floor is exercised

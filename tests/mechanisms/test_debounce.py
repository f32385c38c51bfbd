"""tutormax.debounce on the real Redis: one owner per key, coalescing, one trailing run, expiry."""

from __future__ import annotations

from tutormax.debounce import Debounce


def test_a_burst_has_one_owner_and_one_trailing_run(stack, uid):
    from tutormax.redis_client import get_redis

    debounce = Debounce(f"test-{uid}", ttl=lambda: 60)
    taken, coalesced = debounce.request(["k1", "k2"])
    assert sorted(taken) == ["k1", "k2"] and coalesced == 0
    again, coalesced = debounce.request(["k1", "k1", "k2"])
    assert again == {} and coalesced == 3
    # The run begins: requests before it are read by it, so the mark is cleared.
    assert debounce.begin("k1", taken["k1"])
    assert get_redis().get(debounce.dirty_key("k1")) is None
    # A request during the run asks for exactly one more run, which keeps the lock.
    assert debounce.request(["k1"]) == ({}, 1)
    assert debounce.finish("k1", taken["k1"]) is True
    assert get_redis().get(debounce.lock_key("k1")) == taken["k1"]
    # The trailing run finds nothing new and releases: the next request owns the key again.
    assert debounce.begin("k1", taken["k1"])
    assert debounce.finish("k1", taken["k1"]) is False
    fresh, _ = debounce.request(["k1"])
    assert list(fresh) == ["k1"]


def test_a_stale_owner_is_superseded_and_cannot_release_the_new_lock(stack, uid):
    from tutormax.redis_client import get_redis

    debounce = Debounce(f"test-{uid}", ttl=lambda: 60)
    old, _ = debounce.request(["k"])
    get_redis().delete(debounce.lock_key("k"))  # its lock expired
    new, _ = debounce.request(["k"])
    assert not debounce.begin("k", old["k"])
    debounce.release("k", old["k"])
    assert get_redis().get(debounce.lock_key("k")) == new["k"]
    assert debounce.finish("k", old["k"]) is False
    assert get_redis().ttl(debounce.lock_key("k")) > 0  # locks always expire

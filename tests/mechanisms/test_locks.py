"""tutormax.locks on the real PostgreSQL: a held name blocks another transaction, other names do not."""

from __future__ import annotations

import threading

from tutormax.locks import lock_all, lock_key


def test_keys_are_stable_signed_64_bit_and_namespaced():
    key = lock_key("learning:class", "c-1")
    assert key == lock_key("learning:class", "c-1")
    assert -(2 ** 63) <= key < 2 ** 63
    assert key != lock_key("essays:batch", "c-1")


def test_a_held_name_makes_another_transaction_wait_until_commit(stack):
    from tutormax.db import session_scope

    order: list[str] = []
    taken = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with session_scope() as session:
            lock_all(session, "test:thing", ["b", "a"])
            taken.set()
            release.wait(10)
            order.append("holder commits")

    def waiter() -> None:
        with session_scope() as session:
            lock_all(session, "test:thing", ["a"])
            order.append("waiter has the lock")

    first = threading.Thread(target=holder)
    first.start()
    assert taken.wait(10)
    second = threading.Thread(target=waiter)
    second.start()
    # A different name is free while "a" and "b" are held.
    with session_scope() as session:
        lock_all(session, "test:thing", ["c"])
    second.join(0.5)
    assert second.is_alive() and order == []
    release.set()
    first.join(10)
    second.join(10)
    assert order == ["holder commits", "waiter has the lock"]

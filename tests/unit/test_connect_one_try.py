"""live.connect's one try: redis-py gets a Retry of no retries and no backoff, which
it copies (twice per client) by its attributes instead of a deep copy (issue 12)."""

from __future__ import annotations

from borgconf import live


def test_one_try_is_copied_as_a_deep_copy_would_be():
    import copy

    from redis.backoff import NoBackoff
    from redis.retry import Retry

    one = live._one_try()()
    assert one == Retry(NoBackoff(), 0) and one.get_retries() == 0
    twin = copy.deepcopy(one)
    assert twin == one and twin is not one
    twin.update_supported_errors([ValueError])
    twin.update_retries(3)
    assert one == Retry(NoBackoff(), 0) and one.get_retries() == 0  # the original is untouched
    assert ValueError in twin._supported_errors and twin.get_retries() == 3


def test_a_client_of_connect_tries_once():
    from borgconf.spec.schema import Target

    client = live.connect(Target(name="t", url="redis://127.0.0.1:1"))
    retry = client.connection_pool.connection_kwargs["retry"]
    assert retry.get_retries() == 0
    conn = client.connection_pool.make_connection()
    assert conn.retry.get_retries() == 0 and conn.retry is not retry

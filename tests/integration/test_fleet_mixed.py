"""A mixed fleet through the CLI (issue 12 item 3): Redis 7.0 and 8.2 as two
targets, one with its own server: block. A parameter only 8.2 knows is an
error for the 7.0 target alone, named with its flavour and version; the 8.2
target is still planned and applied. No output on stderr beyond the errors
when not on a terminal (no progress lines)."""

from __future__ import annotations

import pytest

from cli_helpers import run
from redis_servers import RedisServer

pytestmark = pytest.mark.server


@pytest.fixture
def two_versions(tmp_path):
    from conftest import _binary_for

    servers = [RedisServer(_binary_for(v), tmp_path / v) for v in ("redis-7.0", "redis-8.2")]
    try:
        for s in servers:
            s.start()
        yield servers
    finally:
        for s in servers:
            s.stop()


def test_mixed_versions_and_a_target_of_its_own(two_versions, tmp_path, capsys):
    old, new = two_versions
    spec = tmp_path / "s.yaml"
    spec.write_text(f"""version: 1
targets:
  - name: cache-old
    url: {old.url}
  - name: cache-new
    url: {new.url}
    server:
      maxmemory: 200mb
      locale-collate: C
server:
  maxmemory: 100mb
  hz: 15
""")
    rc, out, err = run(capsys, "apply", "--auto-approve", spec)
    assert rc == 0, err
    assert old.client().config_get("maxmemory")["maxmemory"] == str(100 * 1024 * 1024)
    assert new.client().config_get("maxmemory")["maxmemory"] == str(200 * 1024 * 1024)
    assert not any(line.startswith("[") for line in err.splitlines())  # no progress when piped
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", spec)
    assert rc == 0, out + err
    # the shared block names what only 8.2 knows: 7.0 fails alone, 8.2 is planned
    spec.write_text(spec.read_text().replace("  hz: 15\n", "  hz: 16\n  locale-collate: C\n"))
    rc, out, err = run(capsys, "plan", spec)
    assert rc == 1
    assert f"target cache-old: {old.label} at 127.0.0.1:{old.port} does not know parameter 'locale-collate'" in err
    assert "Target cache-new (" in out and "hz: 15 -> 16" in out and "Target cache-old" not in out
    # --target globs: one of them, or both
    rc, out, err = run(capsys, "plan", "--target", "cache-n*", spec)
    assert rc == 0 and "Target cache-new" in out and "cache-old" not in out + err
    rc, out, err = run(capsys, "apply", "--auto-approve", "--target", "cache-*", "--parallel", "2", spec)
    assert rc == 3 and "cache-old" in err  # 3: changed some targets, failed on others
    assert new.client().config_get("hz")["hz"] == "16" and old.client().config_get("hz")["hz"] == "15"
    new.restart()
    rc, out, err = run(capsys, "plan", "--detailed-exitcode", "--target", "cache-new", spec)
    assert rc == 0, out + err

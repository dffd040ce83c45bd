"""Options the README names, exercised where no other test does: --target and
--parallel on plan and apply of a fleet, import's --output (long form)."""

from __future__ import annotations

import json

from cli_helpers import run


def _fleet(tmp_path, a, b, hz: int):
    spec = tmp_path / "fleet.yaml"
    spec.write_text(f'version: 1\ntargets:\n  - {{name: a, url: "{a.url}"}}\n  - {{name: b, url: "{b.url}"}}\nserver:\n  hz: {hz}\n')
    return spec


def test_target_and_parallel_on_plan_and_apply(redis_factory, tmp_path, capsys):
    a, b = redis_factory(), redis_factory()
    spec = _fleet(tmp_path, a, b, 17)

    rc, out, err = run(capsys, "plan", spec, "--target", "a", "--format", "json")
    assert rc == 0, err
    assert [t["name"] for t in json.loads(out)["targets"]] == ["a"]
    rc, out, err = run(capsys, "plan", spec, "--target", "nope")
    assert rc == 1 and "no target named 'nope'" in err and "a, b" in err

    # --parallel 1 reads one target at a time: the same plan as all at once
    docs = []
    for parallel in ("1", "8"):
        rc, out, err = run(capsys, "plan", spec, "--parallel", parallel, "--format", "json")
        assert rc == 0, err
        docs.append([(t["name"], [(c["parameter"], c["before"], c["after"]) for c in t["changes"]]) for t in json.loads(out)["targets"]])
    assert docs[0] == docs[1] == [("a", [("hz", "10", "17")]), ("b", [("hz", "10", "17")])]
    rc, out, err = run(capsys, "plan", spec, "--parallel", "0")
    assert rc == 1 and "--parallel" in err

    rc, out, err = run(capsys, "apply", spec, "--target", "b", "--parallel", "1", "--auto-approve")
    assert rc == 0, err
    assert a.client().config_get("hz")["hz"] == "10" and b.client().config_get("hz")["hz"] == "17"
    rc, out, err = run(capsys, "plan", spec, "--detailed-exitcode", "--format", "json")
    assert rc == 2 and [t["name"] for t in json.loads(out)["targets"] if t["changes"]] == ["a"]
    assert run(capsys, "apply", spec, "--auto-approve")[0] == 0
    for server in (a, b):
        server.restart()
    assert run(capsys, "plan", spec, "--detailed-exitcode")[0] == 0


def test_import_output_long_form(redis_factory, tmp_path, capsys):
    server = redis_factory(["hz 19"])
    out_file = tmp_path / "adopted.yaml"
    rc, out, err = run(capsys, "import", "--url", server.url, "--output", out_file)
    assert rc == 0, err
    assert out == "" or "wrote" in out
    assert "hz: 19" in out_file.read_text()
    rc, out, err = run(capsys, "import", "--url", server.url, "--output", out_file)
    assert rc == 1 and "--force" in err

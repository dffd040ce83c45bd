"""Regenerates tests/cases/plans/*.json (run from the repo root: .venv/bin/python tests/cases/plans/_make.py).
A valid plan written by borgconf.plan, and one hand-edit per file; _expect.json maps each file to what the error must say."""
import copy, json, pathlib, sys
sys.path.insert(0, ".")  # the checkout
from borgconf.plan import Plan, TargetPlan, Change

RUN_ID = "c920877301db09d2bd63542003fda77f4db43f66"
tp = TargetPlan(name="default", address="127.0.0.1:6379", flavour="redis", version="7.0.15", run_id=RUN_ID,
    changes=[Change("maxmemory", "live", "0", "1073741824"),
             Change("requirepass", "live", None, None, sensitive=True),
             Change("databases", "restart", "16", "8", reason="restart required", requires=["allow-hide-data"], warnings=["db12 (1 keys) would be hidden"]),
             Change("user app", "live", None, "on ~app:* +@read", kind="user", reason="creates the user", password_change=True),
             Change("rename-command FLUSHALL", "restart", "enabled", "disabled", kind="command")],
    warnings=["CONFIG REWRITE writes the server's redis.conf"], in_sync=["hz"])
p = Plan(spec_path="redis.yaml", spec_sha256="a" * 64, targets=[tp])
base = p.to_json()
out = pathlib.Path("tests/cases/plans")
expect = {}

def case(name, doc, why, raw=None):
    path = out / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(json.dumps(doc, indent=2) + "\n")
    expect[name] = why

def mod(fn):
    d = copy.deepcopy(base); fn(d); return d

def ch(i, **kw):
    def f(d):
        d["targets"][0]["changes"][i].update(kw)
    return f

def setp(path, value):
    def f(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return f

def delp(path):
    def f(d):
        node = d
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]
    return f

text = json.dumps(base, indent=2)
case("valid.json", base, "")
case("truncated.json", None, "not JSON", raw=text[: len(text) // 2].encode())
case("empty.json", None, "not JSON", raw=b"")
case("non_utf8.json", None, "not UTF-8", raw=text.replace('"redis.yaml"', '"redis\xe9.yaml"').encode("latin-1"))
case("utf16.json", None, "not UTF-8", raw=text.encode("utf-16"))
case("not_an_object.json", [base], "no format_version")
case("format_version_major_2.json", mod(setp(["format_version"], "2")), "format_version '2' is not supported")
case("format_version_int.json", mod(setp(["format_version"], 1)), "format_version must be a string")
case("format_version_missing.json", mod(delp(["format_version"])), "no format_version")
case("run_id_empty.json", mod(setp(["targets", 0, "server", "run_id"], "")), "targets[0].server.run_id")
case("run_id_missing.json", mod(delp(["targets", 0, "server", "run_id"])), "targets[0].server.run_id: is missing")
case("address_missing.json", mod(delp(["targets", 0, "address"])), "targets[0].address: is missing")
case("spec_missing.json", mod(delp(["spec"])), "spec: is missing")
case("spec_sha_bad.json", mod(setp(["spec", "sha256"], "xyz")), "spec.sha256")
case("spec_path_newline.json", mod(setp(["spec", "path"], "/etc/shadow\nroot")), "spec.path: the spec path holds a control character")
case("after_int.json", mod(ch(0, after=12345678)), "targets[0].changes[0].after")
case("after_list.json", mod(ch(0, after=["1gb"])), "targets[0].changes[0].after")
case("after_bool.json", mod(ch(0, after=True)), "targets[0].changes[0].after")
case("after_object.json", mod(ch(0, after={"v": "1"})), "targets[0].changes[0].after")
case("before_float.json", mod(ch(0, before=1.5)), "targets[0].changes[0].before")
case("after_nan.json", None, "NaN is not a JSON value", raw=text.replace('"after": "1073741824"', '"after": NaN').encode())
case("before_infinity.json", None, "Infinity is not a JSON value", raw=text.replace('"before": "0"', '"before": -Infinity').encode())
case("value_newline.json", mod(ch(3, after="on ~* +@all\nuser evil on nopass ~* +@all")), "targets[0].changes[3].after: the value holds a control character")
case("sensitive_with_value.json", mod(ch(1, after="hunter2")), "a sensitive change must have before and after null")
case("sensitive_flipped.json", mod(ch(1, sensitive=False, before="x", after="y")), "summary")  # placeholder, replaced below
case("sensitive_string.json", mod(ch(1, sensitive="true")), "targets[0].changes[1].sensitive")
case("class_unknown.json", mod(ch(0, **{"class": "now"})), "targets[0].changes[0].class")
case("kind_unknown.json", mod(ch(0, kind="module")), "targets[0].changes[0].kind")
case("action_unknown.json", mod(ch(0, action="delete")), "targets[0].changes[0].action")
case("requires_unknown.json", mod(ch(2, requires=["allow-anything"])), "targets[0].changes[2].requires[0]")
case("change_unknown_key.json", mod(ch(0, apply_anyway=True)), "targets[0].changes[0].apply_anyway: is not a field")
case("top_unknown_key.json", mod(setp(["extra"], 1)), "extra: is not a field")
case("duplicated_change.json", mod(lambda d: d["targets"][0]["changes"].append(copy.deepcopy(d["targets"][0]["changes"][0]))), "more than one change")
case("duplicate_key.json", None, "same key twice", raw=text.replace('"format_version": "1",', '"format_version": "1", "format_version": "1",').encode())
case("summary_edited.json", mod(lambda d: d["targets"][0]["changes"].pop(0)), "summary does not count")
case("summary_string.json", mod(setp(["summary", "live"], "3")), "summary.live")
case("warnings_not_list.json", mod(setp(["targets", 0, "warnings"], "none")), "targets[0].warnings")
case("flavour_unknown.json", mod(setp(["targets", 0, "server", "flavour"], "keydb")), "targets[0].server.flavour")
case("user_kind_wrong_name.json", mod(ch(3, parameter="requirepass")), "a change of kind user")
case("parameter_with_space.json", mod(ch(0, parameter="maxmemory 1")), "a parameter name has no spaces")
case("deep_nesting.json", None, "nested", raw=('{"format_version": "1", "x": ' + "[" * 5000 + "]" * 5000 + "}").encode())
case("targets_null.json", mod(setp(["targets"], None)), "targets")
# flipped sensitive with no value: the summary still counts, the model is consistent -> must be caught by re-planning (not here)
(out / "sensitive_flipped.json").unlink(); del expect["sensitive_flipped.json"]
(out / "_expect.json").write_text(json.dumps(expect, indent=1, sort_keys=True) + "\n")
print(len(expect))

"""borgconf: keep Redis servers exactly as a YAML spec in git says.

The public API, for tools that embed borgconf rather than run its CLI. Data
flows one way: spec -> live facts -> plan -> view / apply.

    spec = borgconf.load_spec("redis.yaml")
    read = borgconf.read_targets(spec, spec.targets)           # live facts, failures as data
    plan = borgconf.build_plan(spec, read.states)               # pure
    done = borgconf.apply_fleet(spec, plan, spec.targets, read.clients)

Names are imported on first use (PEP 562), so ``import borgconf`` stays as
cheap as the CLI's ``--version`` needs it to be.
"""

__version__ = "0.1.0"

# name -> the module that defines it
_API = {
    # spec
    "load_spec": "spec", "Spec": "spec", "ServerValue": "spec",
    # live facts
    "LiveState": "live", "connect": "live", "read_state": "live",
    # fleet
    "read_targets": "fleet", "select_targets": "fleet", "load_saved_plan": "fleet", "apply_fleet": "fleet",
    "FleetRead": "fleet", "FleetApply": "fleet", "SavedPlan": "fleet",
    # plan
    "build_plan": "planner", "Plan": "plan", "TargetPlan": "plan", "Change": "plan", "ChangeId": "plan",
    # apply
    "apply_target": "apply", "ApplyResult": "apply",
    # findings (lint itself is borgconf.lint.lint: the name is its module's)
    "Finding": "findings",
    # render
    "render_files": "render", "render_redis_conf": "render",
    # errors
    "BorgconfError": "errors", "SpecError": "errors", "PlanError": "errors", "StalePlan": "errors",
    "ApplyError": "errors", "Refused": "errors", "RenderError": "errors", "Problem": "errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'borgconf' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

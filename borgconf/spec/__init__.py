"""The spec: what the user wants, read from YAML and checked offline.

Data flows one way through the modules of this package, with no cycle:
``yamlread`` (positions, limits) -> ``extends`` -> ``interpolation`` ->
``schema`` (pydantic) -> ``checks`` (domain rules) -> ``types.Spec``;
``load.load_spec`` runs them in order. ``names`` holds every name rule.
"""

from __future__ import annotations

from .interpolation import interpolate, load_env_file
from .load import load_spec, referenced_variables
from .names import COMMAND_NAME, ENV_NAME, SERVICE_NAME, USER_NAME
from .types import ServerValue, Spec, file_digest
from .yamlread import MAX_DEPTH, MAX_EXTENDS_DEPTH, MAX_NODES, MAX_SPEC_BYTES, MAX_YAML_EVENTS

__all__ = [
    "Spec", "ServerValue", "load_spec", "interpolate", "load_env_file", "file_digest", "referenced_variables",
    "SERVICE_NAME", "ENV_NAME", "USER_NAME", "COMMAND_NAME",
    "MAX_SPEC_BYTES", "MAX_YAML_EVENTS", "MAX_NODES", "MAX_DEPTH", "MAX_EXTENDS_DEPTH",
]

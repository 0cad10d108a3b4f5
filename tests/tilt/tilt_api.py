"""Signatures and argument checking of the Tilt builtins the TaskPilot Tiltfiles use.

Names, parameter order and defaults follow tilt-dev/tilt `internal/tiltfile/api/__init__.py`
(plus `api/config`, `api/os`, `api/v1alpha1`). Binding mimics starlark-go's UnpackArgs: an
unknown keyword, a missing required argument, too many positionals or a wrong type is an error
naming the builtin and the parameter, the way Tilt reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REQUIRED = object()


class TiltfileError(Exception):
    """What Tilt would report as a Tiltfile load error."""


# ---- Value types that only exist inside Tilt -------------------------------------------------
@dataclass
class Blob:
    text: str


@dataclass(frozen=True)
class TriggerMode:
    name: str


@dataclass
class Sync:
    local_path: str
    remote_path: str


@dataclass
class Run:
    cmd: list[str]
    triggers: list[str]
    echo_off: bool = False


@dataclass
class FallBackOn:
    files: list[str]


@dataclass
class InitialSync:
    pass


@dataclass
class RestartContainer:
    pass


LIVE_UPDATE_STEP = (Sync, Run, FallBackOn, InitialSync, RestartContainer)


@dataclass
class PortForward:
    local_port: int
    container_port: int | None = None
    name: str | None = None
    link_path: str | None = None
    host: str | None = None


@dataclass
class Link:
    url: str
    name: str | None = None


@dataclass
class ApiObject:
    """A v1alpha1 helper value (ui_component_location, start_on_spec, ui_input_spec, ...)."""

    kind: str
    fields: dict = field(default_factory=dict)


# ---- Type names used in the signature tables ------------------------------------------------
def _is_str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_str_dict(v):
    return isinstance(v, dict) and all(isinstance(k, str) and isinstance(x, str) for k, x in v.items())


TYPES = {
    "str": (lambda v: isinstance(v, str), "string"),
    "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "int"),
    "bool": (lambda v: isinstance(v, bool), "bool"),
    "str_list": (_is_str_list, "list of strings"),
    "str_dict": (_is_str_dict, "dict of string to string"),
    "dict": (lambda v: isinstance(v, dict), "dict"),
    "list": (lambda v: isinstance(v, list), "list"),
    "any": (lambda v: True, "value"),
    "blob": (lambda v: isinstance(v, Blob), "Blob"),
    "trigger_mode": (lambda v: isinstance(v, TriggerMode), "TriggerMode"),
    "live_update": (
        lambda v: isinstance(v, list) and all(isinstance(s, LIVE_UPDATE_STEP) for s in v),
        "list of LiveUpdateSteps",
    ),
    "port_forwards": (lambda v: _each(v, (int, str, PortForward)), "int, string, PortForward or a list of them"),
    "links": (lambda v: _each(v, (str, Link)), "string, Link or a list of them"),
    "api_object": (lambda v: isinstance(v, ApiObject), "API object"),
    "api_object_list": (
        lambda v: isinstance(v, list) and all(isinstance(x, ApiObject) for x in v),
        "list of API objects",
    ),
}


def _each(value, kinds):
    items = value if isinstance(value, list) else [value]
    return all(isinstance(x, kinds) and not isinstance(x, bool) for x in items)


@dataclass
class P:
    """One parameter: name, accepted type names (a union), default (REQUIRED if none)."""

    name: str
    types: tuple[str, ...]
    default: object = REQUIRED


def bind(fname: str, params: list[P], args: tuple, kwargs: dict) -> dict:
    """Bind call arguments to `params` like starlark-go's UnpackArgs, then type-check them."""
    if len(args) > len(params):
        raise TiltfileError(f"{fname}: got {len(args)} arguments, want at most {len(params)}")
    bound = {}
    for param, value in zip(params, args, strict=False):  # fewer args than params: the rest are keywords
        bound[param.name] = value
    names = {p.name for p in params}
    for key, value in kwargs.items():
        if key not in names:
            raise TiltfileError(f'{fname}: unexpected keyword argument "{key}"')
        if key in bound:
            raise TiltfileError(f'{fname}: got multiple values for parameter "{key}"')
        bound[key] = value
    for param in params:
        if param.name not in bound:
            if param.default is REQUIRED:
                raise TiltfileError(f"{fname}: missing argument for {param.name}")
            bound[param.name] = param.default
            continue
        value = bound[param.name]
        if value is None and param.default is None:
            continue
        if not any(TYPES[t][0](value) for t in param.types):
            want = " or ".join(TYPES[t][1] for t in param.types)
            raise TiltfileError(f"{fname}: for parameter {param.name}: got {type(value).__name__}, want {want}")
    return bound


S, INT, B = ("str",), ("int",), ("bool",)
STR_OR_LIST = ("str", "str_list")

SIGNATURES: dict[str, list[P]] = {
    "docker_build": [
        P("ref", S),
        P("context", S),
        P("build_args", ("str_dict",), {}),
        P("dockerfile", S, "Dockerfile"),
        P("dockerfile_contents", ("str", "blob"), ""),
        P("live_update", ("live_update",), []),
        P("match_in_env_vars", B, False),
        P("ignore", STR_OR_LIST, []),
        P("only", STR_OR_LIST, []),
        P("entrypoint", STR_OR_LIST, []),
        P("target", S, ""),
        P("ssh", STR_OR_LIST, ""),
        P("network", S, ""),
        P("secret", STR_OR_LIST, ""),
        P("extra_tag", STR_OR_LIST, ""),
        P("container_args", ("str_list",), None),
        P("cache_from", STR_OR_LIST, []),
        P("pull", B, False),
        P("platform", S, ""),
        P("extra_hosts", STR_OR_LIST, []),
    ],
    "k8s_yaml": [P("yaml", ("str", "str_list", "blob"), REQUIRED), P("allow_duplicates", B, False)],
    "helm": [
        P("pathToChartDir", S),
        P("name", S, ""),
        P("namespace", S, ""),
        P("values", STR_OR_LIST, []),
        P("set", STR_OR_LIST, []),
        P("kube_version", S, ""),
        P("skip_crds", B, False),
    ],
    "k8s_resource": [
        P("workload", S, ""),
        P("new_name", S, ""),
        P("port_forwards", ("port_forwards",), []),
        P("extra_pod_selectors", ("dict", "list"), []),
        P("trigger_mode", ("trigger_mode",), None),
        P("resource_deps", ("str_list",), []),
        P("objects", ("str_list",), []),
        P("auto_init", B, True),
        P("pod_readiness", S, ""),
        P("links", ("links",), []),
        P("labels", STR_OR_LIST, []),
        P("discovery_strategy", S, ""),
    ],
    "local_resource": [
        P("name", S),
        P("cmd", STR_OR_LIST),
        P("deps", STR_OR_LIST, None),
        P("trigger_mode", ("trigger_mode",), None),
        P("resource_deps", ("str_list",), []),
        P("ignore", STR_OR_LIST, []),
        P("auto_init", B, True),
        P("serve_cmd", STR_OR_LIST, ""),
        P("cmd_bat", STR_OR_LIST, ""),
        P("serve_cmd_bat", STR_OR_LIST, ""),
        P("allow_parallel", B, False),
        P("links", ("links",), []),
        P("labels", STR_OR_LIST, []),
        P("env", ("str_dict",), {}),
        P("serve_env", ("str_dict",), {}),
        P("readiness_probe", ("any",), None),
        P("dir", S, ""),
        P("serve_dir", S, ""),
    ],
    "port_forward": [
        P("local_port", INT),
        P("container_port", INT, None),
        P("name", S, None),
        P("link_path", S, None),
        P("host", S, None),
    ],
    "link": [P("url", S), P("name", S, None)],
    "sync": [P("local_path", S), P("remote_path", S)],
    "run": [P("cmd", STR_OR_LIST), P("trigger", STR_OR_LIST, []), P("echo_off", B, False)],
    "fall_back_on": [P("files", STR_OR_LIST)],
    "initial_sync": [],
    "restart_container": [],
    "update_settings": [
        P("max_parallel_updates", INT, 3),
        P("k8s_upsert_timeout_secs", INT, 30),
        P("suppress_unused_image_warnings", STR_OR_LIST, None),
        P("k8s_server_side_apply", S, "auto"),
    ],
    "ci_settings": [P("k8s_grace_period", S, ""), P("timeout", S, "30m"), P("readiness_timeout", S, "5m")],
    "version_settings": [P("check_updates", B, True), P("constraint", S, "")],
    "k8s_context": [],
    "k8s_namespace": [],
    "allow_k8s_contexts": [P("contexts", STR_OR_LIST)],
    "read_yaml": [P("path", S), P("default", ("any",), None)],
    "read_file": [P("file_path", S), P("default", S, None)],
    "watch_file": [P("file_path", S)],
    "decode_yaml_stream": [P("yaml", ("str", "blob"))],
    "encode_yaml_stream": [P("objs", ("list",))],
    "decode_yaml": [P("yaml", ("str", "blob"))],
    "encode_yaml": [P("obj", ("dict", "list"))],
    "blob": [P("contents", S)],
    "warn": [P("msg", S)],
    "local": [
        P("command", STR_OR_LIST),
        P("quiet", B, False),
        P("command_bat", STR_OR_LIST, ""),
        P("echo_off", B, False),
        P("env", ("str_dict",), {}),
        P("dir", S, ""),
        P("stdin", ("str", "blob"), None),
    ],
    # config module
    "config.define_bool": [P("name", S), P("args", B, False), P("usage", S, "")],
    "config.define_string": [P("name", S), P("args", B, False), P("usage", S, "")],
    "config.define_string_list": [P("name", S), P("args", B, False), P("usage", S, "")],
    "config.parse": [],
    "config.set_enabled_resources": [P("resources", ("str_list",))],
    # os module
    "os.getenv": [P("key", S), P("default", ("any",), None)],
    "os.getcwd": [],
    "os.path.exists": [P("path", S)],
    "os.path.join": [],  # variadic, checked separately
    "os.path.abspath": [P("path", S)],
    "os.path.dirname": [P("path", S)],
    "os.path.basename": [P("path", S)],
    # v1alpha1 module (the parts the buttons extension uses)
    "v1alpha1.ui_button": [
        P("name", S),
        P("labels", ("str_dict",), None),
        P("annotations", ("str_dict",), None),
        P("location", ("api_object",), None),
        P("text", S, ""),
        P("icon_name", S, ""),
        P("icon_svg", S, ""),
        P("disabled", B, False),
        P("requires_confirmation", B, False),
        P("show_inputs_as_modal", B, False),
        P("inputs", ("api_object_list",), None),
    ],
    "v1alpha1.cmd": [
        P("name", S),
        P("labels", ("str_dict",), None),
        P("annotations", ("str_dict",), None),
        P("args", ("str_list",), None),
        P("dir", S, ""),
        P("env", ("str_list",), None),
        P("readiness_probe", ("api_object",), None),
        P("restart_on", ("api_object",), None),
        P("start_on", ("api_object",), None),
        P("disable_source", ("api_object",), None),
    ],
    "v1alpha1.ui_component_location": [P("component_id", S, ""), P("component_type", S, "")],
    "v1alpha1.start_on_spec": [P("ui_buttons", ("str_list",), None)],
    "v1alpha1.ui_input_spec": [
        P("name", S, ""),
        P("label", S, ""),
        P("text", ("api_object",), None),
        P("bool", ("api_object",), None),
        P("hidden", ("api_object",), None),
    ],
    "v1alpha1.ui_text_input_spec": [P("default_value", S, ""), P("placeholder", S, "")],
}

"""Evaluate a real Tiltfile in starlark-pyo3 against a Python model of Tilt's builtins.

No Tilt binary exists here, so this plays Tilt's part: it runs the Tiltfile (and every file it
`load()`s) with the builtins of `tilt_api.SIGNATURES`, records what each call declares, and
then assembles resources the way Tilt does (one per workload, Services attached by selector,
`k8s_resource` renames/groupings, image injection, resource_deps). `helm()` runs real
`helm template` through dev/tools.py, with Tilt's filter for chart test templates.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import starlark as sl
import yaml
from tilt_api import (
    SIGNATURES,
    ApiObject,
    Blob,
    FallBackOn,
    InitialSync,
    Link,
    PortForward,
    RestartContainer,
    Run,
    Sync,
    TiltfileError,
    TriggerMode,
    bind,
)
from tilt_modules import ConfigHelp, ModuleBuiltins

from taskpilot_dev import tools

TRIGGER_MODE_AUTO = TriggerMode("auto")
TRIGGER_MODE_MANUAL = TriggerMode("manual")
HELM_TEST_SOURCE = re.compile(r"^# Source: .*/tests/", re.M)  # internal/tiltfile/helm.go
LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
GLOBALS = sl.Globals.extended_by([sl.LibraryExtension.StructType, sl.LibraryExtension.Print, sl.LibraryExtension.Json])
PRELUDE = """
config = struct(define_bool=_config_define_bool, define_string=_config_define_string,
                define_string_list=_config_define_string_list, parse=_config_parse,
                set_enabled_resources=_config_set_enabled_resources,
                tilt_subcommand=_tilt_subcommand, main_path=_main_path, main_dir=_main_dir)
os = struct(getenv=_os_getenv, getcwd=_os_getcwd, environ=_os_environ, name='posix',
            path=struct(exists=_os_path_exists, join=_os_path_join, abspath=_os_path_abspath,
                        dirname=_os_path_dirname, basename=_os_path_basename))
v1alpha1 = struct(ui_button=_v1_ui_button, cmd=_v1_cmd, ui_component_location=_v1_ui_component_location,
                  start_on_spec=_v1_start_on_spec, ui_input_spec=_v1_ui_input_spec,
                  ui_text_input_spec=_v1_ui_text_input_spec)
"""


@dataclass
class Resource:
    name: str
    type: str  # 'k8s' or 'local'
    objects: list = field(default_factory=list)
    images: list = field(default_factory=list)
    port_forwards: list = field(default_factory=list)
    links: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    resource_deps: list = field(default_factory=list)
    auto_init: bool = True
    trigger_mode: TriggerMode = TRIGGER_MODE_AUTO
    local: dict = field(default_factory=dict)  # local_resource arguments


def _opaque(value):
    return sl.OpaquePythonObject(value)


def listify(value):
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def image_name(ref: str) -> str:
    """Repository part of an image ref (no tag/digest, docker.io/library/ prefix removed)."""
    name = ref.split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name


def pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def containers(obj: dict) -> list[dict]:
    spec = pod_spec(obj)
    return list(spec.get("initContainers") or []) + list(spec.get("containers") or [])


WORKLOAD_KINDS = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
    "CronJob",
    "Pod",
    "ReplicationController",
}


class TiltModel(ModuleBuiltins):
    """One Tiltfile execution: `TiltModel(path, subcommand='up', args=[...], context='minikube').load()`."""

    def __init__(
        self,
        tiltfile: str | Path,
        subcommand: str = "up",
        args: list[str] | None = None,
        context: str = "minikube",
        env: dict | None = None,
    ):
        self.tiltfile = Path(tiltfile).resolve()
        self.main_dir = self.tiltfile.parent
        self.subcommand, self.args, self.context = subcommand, list(args or []), context
        self.env = dict(os.environ if env is None else env)
        self.docker_builds: list[dict] = []
        self.k8s_objects: list[dict] = []
        self.k8s_resource_calls: list[dict] = []
        self.local_resources: dict[str, dict] = {}
        self.ui_buttons: dict[str, dict] = {}
        self.cmds: dict[str, dict] = {}
        self.settings: dict[str, dict] = {}
        self.allowed_contexts: list[str] = []
        self.flags: dict[str, dict] = {}
        self.warnings: list[str] = []
        self.helm_calls: list[list[str]] = []
        self._modules: dict[Path, sl.FrozenModule] = {}
        self._loading: list[Path] = []
        self._last_error: TiltfileError | None = None

    # ---- evaluation ------------------------------------------------------------------------
    def load(self) -> TiltModel:
        """Execute the Tiltfile; a Starlark error or fail() becomes TiltfileError."""
        try:
            self._exec(self.tiltfile)
        except sl.StarlarkError as err:
            if isinstance(self._last_error, ConfigHelp):  # Tilt prints the usage and stops
                raise ConfigHelp(str(err)) from None
            raise TiltfileError(str(err)) from None
        return self

    def _exec(self, path: Path) -> sl.Module:
        module = sl.Module()
        self._install_builtins(module, path)
        sl.eval(module, sl.parse("<prelude>", PRELUDE), GLOBALS)
        self._loading.append(path)
        try:
            ast = sl.parse(str(path), path.read_text(), sl.Dialect.extended())
            sl.eval(module, ast, GLOBALS, sl.FileLoader(self._load_module))
        finally:
            self._loading.pop()
        return module

    def _load_module(self, name: str) -> sl.FrozenModule:
        if name.startswith("ext://"):
            raise TiltfileError(f"load {name}: this model only supports local extensions")
        path = (self._loading[-1].parent / name).resolve()
        if not path.is_file():
            raise TiltfileError(f"load: cannot load {name}: no such file {path}")
        if path not in self._modules:  # Tilt runs each loaded Tiltfile once
            self._modules[path] = self._exec(path).freeze()
        return self._modules[path]

    def _install_builtins(self, module: sl.Module, path: Path) -> None:
        for name in SIGNATURES:
            attr = "_b_" + name.replace(".", "_")
            target = (
                (
                    "_"
                    + name.replace("config.", "config_")
                    .replace("os.path.", "os_path_")
                    .replace("os.", "os_")
                    .replace("v1alpha1.", "v1_")
                )
                if "." in name
                else name
            )
            module.add_callable(target, self._checked(name, getattr(self, attr)))
        module["TRIGGER_MODE_AUTO"] = _opaque(TRIGGER_MODE_AUTO)
        module["TRIGGER_MODE_MANUAL"] = _opaque(TRIGGER_MODE_MANUAL)
        module["_tilt_subcommand"] = self.subcommand
        module["_main_path"] = str(self.tiltfile)
        module["_main_dir"] = str(self.main_dir)
        module["_os_environ"] = dict(self.env)
        module["__file__"] = str(path)

    def _checked(self, name, impl):
        def call(*args, **kwargs):
            if name == "os.path.join":
                return impl(*args)
            try:
                result = impl(**bind(name, SIGNATURES[name], args, kwargs))
            except TiltfileError as err:
                self._last_error = err
                raise
            return (
                _opaque(result)
                if isinstance(
                    result,
                    (
                        Blob,
                        TriggerMode,
                        Sync,
                        Run,
                        FallBackOn,
                        InitialSync,
                        RestartContainer,
                        PortForward,
                        Link,
                        ApiObject,
                    ),
                )
                else result
            )

        return call

    def _abs(self, path: str) -> str:
        return path if os.path.isabs(path) else str(self.main_dir / path)

    # ---- builtins: images --------------------------------------------------------------------
    def _b_docker_build(self, **a):
        context = self._abs(a["context"])
        dockerfile = self._abs(a["dockerfile"])
        if a["dockerfile_contents"] and a["dockerfile"] != "Dockerfile":
            raise TiltfileError("docker_build: Cannot specify both dockerfile and dockerfile_contents")
        if not Path(dockerfile).is_file():
            raise TiltfileError(f"docker_build: error reading dockerfile: open {dockerfile}: no such file or directory")
        if any(image_name(b["ref"]) == image_name(a["ref"]) for b in self.docker_builds):
            raise TiltfileError(f"Image for ref {a['ref']!r} has already been defined")
        self._validate_live_update(a["live_update"], context)
        self.docker_builds.append(
            dict(a, context=context, dockerfile=dockerfile, only=listify(a["only"]), ignore=listify(a["ignore"]))
        )

    def _validate_live_update(self, steps, context):
        """Tilt's live_update ordering rules (internal/tiltfile/live_update.go)."""
        phase = 0  # 0 initial_sync, 1 fall_back_on, 2 sync, 3 run, 4 restart_container
        order = {InitialSync: 0, FallBackOn: 1, Sync: 2, Run: 3, RestartContainer: 4}
        for step in steps:
            rank = order[type(step)]
            if rank < phase or (rank == 0 and phase == 0 and step is not steps[0]):
                raise TiltfileError(
                    f"live_update: {type(step).__name__} step is out of order "
                    "(initial_sync, fall_back_on, sync, run, restart_container)"
                )
            phase = rank
            if isinstance(step, RestartContainer):
                raise TiltfileError("live_update: restart_container() is only for Docker Compose resources")
            paths = step.files if isinstance(step, FallBackOn) else [step.local_path] if isinstance(step, Sync) else []
            for p in paths:
                if not (p + "/").startswith(context.rstrip("/") + "/"):
                    raise TiltfileError(f"live_update: {p} is outside the docker_build context {context}")
            if isinstance(step, Sync) and not step.remote_path.startswith("/"):
                raise TiltfileError(f"sync: remote path {step.remote_path!r} must be absolute")

    def _b_sync(self, local_path, remote_path):
        return Sync(self._abs(local_path), remote_path)

    def _b_run(self, cmd, trigger, echo_off):
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else cmd
        return Run(argv, [self._abs(t) for t in listify(trigger)], echo_off)

    def _b_fall_back_on(self, files):
        return FallBackOn([self._abs(f) for f in listify(files)])

    def _b_initial_sync(self):
        return InitialSync()

    def _b_restart_container(self):
        return RestartContainer()

    # ---- builtins: Kubernetes ----------------------------------------------------------------
    def _b_k8s_yaml(self, yaml, allow_duplicates):
        texts = [yaml.text] if isinstance(yaml, Blob) else [Path(self._abs(p)).read_text() for p in listify(yaml)]
        for text in texts:
            for obj in self._decode_stream(text):
                key = (obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", ""))
                if not allow_duplicates and any(
                    (o["kind"], o["metadata"]["name"], o["metadata"].get("namespace", "")) == key
                    for o in self.k8s_objects
                ):
                    raise TiltfileError(f"k8s_yaml: duplicate resource {key}")
                self.k8s_objects.append(obj)

    def _b_helm(self, pathToChartDir, name, namespace, values, set, kube_version, skip_crds):
        chart = self._abs(pathToChartDir)
        if not Path(chart, "Chart.yaml").is_file():
            raise TiltfileError(f"helm: no chart found at {chart}")
        argv = [tools.helm_bin(), "template", name or "chart", chart]
        if not skip_crds:
            argv.append("--include-crds")
        if namespace:
            argv += ["--namespace", namespace]
        for v in listify(values):
            argv += ["--values", self._abs(v)]
        for s in listify(set):
            argv += ["--set", s]
        if kube_version:
            argv += ["--kube-version", kube_version]
        self.helm_calls.append(argv)
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=self.main_dir)
        if proc.returncode:
            raise TiltfileError(f"helm: {proc.stderr.strip()}")
        docs = proc.stdout.split("---\n")
        return Blob("---\n".join(d for d in docs if not HELM_TEST_SOURCE.search(d)))

    def _b_k8s_resource(self, **a):
        self.k8s_resource_calls.append(a)

    def _b_local_resource(self, **a):
        if a["name"] in self.local_resources:
            raise TiltfileError(f"local_resource named {a['name']!r} already exists")
        if not a["cmd"] and not a["serve_cmd"]:
            raise TiltfileError(f"local_resource {a['name']}: cmd or serve_cmd is required")
        self.local_resources[a["name"]] = a

    def _b_port_forward(self, local_port, container_port, name, link_path, host):
        return PortForward(local_port, container_port, name, link_path, host)

    def _b_link(self, url, name):
        return Link(url, name)

    def _b_k8s_context(self):
        return self.context

    def _b_k8s_namespace(self):
        return "default"

    def _b_allow_k8s_contexts(self, contexts):
        self.allowed_contexts += listify(contexts)

    # ---- builtins: settings ------------------------------------------------------------------
    def _b_update_settings(self, **a):
        if a["max_parallel_updates"] < 1 or a["k8s_upsert_timeout_secs"] < 1:
            raise TiltfileError("update_settings: values must be positive")
        self.settings["update_settings"] = a

    def _b_ci_settings(self, **a):
        self.settings["ci_settings"] = a

    def _b_version_settings(self, **a):
        self.settings["version_settings"] = a

    # ---- builtins: files and data ------------------------------------------------------------
    def _b_read_yaml(self, path, default):
        p = Path(self._abs(path))
        if not p.exists():
            if default is None:
                raise TiltfileError(f"read_yaml: {p}: no such file")
            return default
        return yaml.safe_load(p.read_text())

    def _b_read_file(self, file_path, default):
        p = Path(self._abs(file_path))
        if not p.exists() and default is not None:
            return Blob(default)
        return Blob(p.read_text())

    def _b_watch_file(self, file_path):
        pass

    @staticmethod
    def _decode_stream(text):
        return [d for d in yaml.safe_load_all(text) if d is not None]

    def _b_decode_yaml_stream(self, yaml):
        # Empty documents come back as None (as from Tilt's decoder): callers must skip them.
        return list(__import__("yaml").safe_load_all(yaml.text if isinstance(yaml, Blob) else yaml))

    def _b_decode_yaml(self, yaml):
        return __import__("yaml").safe_load(yaml.text if isinstance(yaml, Blob) else yaml)

    def _b_encode_yaml_stream(self, objs):
        return Blob(yaml.safe_dump_all(objs, sort_keys=False))

    def _b_encode_yaml(self, obj):
        return Blob(yaml.safe_dump(obj, sort_keys=False))

    def _b_blob(self, contents):
        return Blob(contents)

    def _b_warn(self, msg):
        self.warnings.append(msg)

    def _b_local(self, **a):
        raise TiltfileError(
            "local(): the TaskPilot Tiltfile must not shell out at load time (use k8s_context() and friends)"
        )

    # ---- assembly (what Tilt does after the Tiltfile ran) ----------------------------------------
    def resources(self) -> dict[str, Resource]:
        """Tilt's resource assembly; raises TiltfileError where Tilt would refuse the Tiltfile."""
        from tilt_assembly import assemble

        return assemble(self)


def dumps(value) -> str:
    return json.dumps(value, indent=1, default=str)

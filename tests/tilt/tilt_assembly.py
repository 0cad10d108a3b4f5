"""Tilt's resource assembly, modelled: what `tilt up` builds from the recorded Tiltfile calls.

- every workload object becomes a resource named after it; Services join the workload whose
  pod template labels their selector matches; `k8s_resource(objects=..., new_name=...)` groups
  the rest; anything left over is "uncategorized";
- `k8s_resource(workload=...)` must name an existing resource; renames, port forwards, links,
  labels and deps are applied; every docker_build ref is injected where a container uses it;
- resource_deps must name existing resources and form a DAG.
"""

from __future__ import annotations

from tilt_api import Link, PortForward, TiltfileError
from tilt_model import LABEL_RE, TRIGGER_MODE_AUTO, WORKLOAD_KINDS, Resource, containers, image_name, listify


def _matches_selector(selector: str, obj: dict) -> bool:
    """Tilt object selector 'name[:kind[:namespace]]' (kind/namespace case-insensitive)."""
    parts = selector.split(":")
    meta = obj["metadata"]
    if parts[0] != meta["name"]:
        return False
    if len(parts) > 1 and parts[1].lower() != obj["kind"].lower():
        return False
    return len(parts) < 3 or parts[2].lower() == meta.get("namespace", "default").lower()


def _pod_labels(obj: dict) -> dict:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels") or {}
    spec = obj.get("spec") or {}
    if obj["kind"] == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}


def _parse_port_forward(pf) -> PortForward:
    if isinstance(pf, PortForward):
        return pf
    if isinstance(pf, int):
        return PortForward(pf)
    parts = pf.split(":")
    if not all(p.isdigit() for p in parts[-2:]) or len(parts) > 3:
        raise TiltfileError(f"k8s_resource: invalid port forward {pf!r}")
    return PortForward(
        int(parts[-2]) if len(parts) > 1 else int(parts[0]),
        int(parts[-1]) if len(parts) > 1 else None,
        host=parts[0] if len(parts) == 3 else None,
    )


def _check_labels(owner: str, labels: list[str]) -> None:
    for label in labels:
        if not LABEL_RE.match(label):
            raise TiltfileError(f"{owner}: invalid label {label!r}")


def assemble(model) -> dict[str, Resource]:
    resources: dict[str, Resource] = {}
    assigned: set[int] = set()
    objects = model.k8s_objects
    for i, obj in enumerate(objects):
        if obj["kind"] in WORKLOAD_KINDS:
            name = obj["metadata"]["name"]
            if name in resources:
                raise TiltfileError(f"two workloads named {name}: the model expects unique names")
            resources[name] = Resource(name, "k8s", objects=[obj])
            assigned.add(i)
    for i, obj in enumerate(objects):  # Services follow the pods they select
        selector = (obj.get("spec") or {}).get("selector") or {}
        if obj["kind"] != "Service" or not selector:
            continue
        for res in resources.values():
            labels = _pod_labels(res.objects[0])
            if all(labels.get(k) == v for k, v in selector.items()):
                res.objects.append(obj)
                assigned.add(i)
                break

    for call in model.k8s_resource_calls:
        workload, new_name = call["workload"], call["new_name"]
        if workload:
            if workload not in resources:
                raise TiltfileError(
                    f'k8s_resource: no workload found with name "{workload}"; known: {sorted(resources)}'
                )
            res = resources.pop(workload)
        else:
            if not (new_name and call["objects"]):
                raise TiltfileError("k8s_resource: a new resource needs both objects and new_name")
            res = Resource(new_name, "k8s")
        for selector in call["objects"]:
            hits = [i for i, o in enumerate(objects) if _matches_selector(selector, o)]
            if len(hits) != 1:
                raise TiltfileError(f"k8s_resource: object selector {selector!r} matched {len(hits)} objects")
            if hits[0] in assigned:
                raise TiltfileError(f"k8s_resource: object {selector!r} already belongs to a resource")
            assigned.add(hits[0])
            res.objects.append(objects[hits[0]])
        res.name = new_name or res.name
        if res.name in resources:
            raise TiltfileError(f"k8s_resource: a resource named {res.name!r} already exists")
        res.port_forwards += [_parse_port_forward(p) for p in listify(call["port_forwards"])]
        res.links += [lk if isinstance(lk, Link) else Link(lk) for lk in listify(call["links"])]
        res.labels += listify(call["labels"])
        _check_labels(f"k8s_resource {res.name}", res.labels)
        res.resource_deps += call["resource_deps"]
        res.auto_init = call["auto_init"]
        res.trigger_mode = call["trigger_mode"] or TRIGGER_MODE_AUTO
        resources[res.name] = res

    leftovers = [o for i, o in enumerate(objects) if i not in assigned]
    if leftovers:
        resources["uncategorized"] = Resource("uncategorized", "k8s", objects=leftovers)

    for name, lr in model.local_resources.items():
        if name in resources:
            raise TiltfileError(f"local_resource {name!r} collides with a Kubernetes resource")
        labels = listify(lr["labels"])
        _check_labels(f"local_resource {name}", labels)
        resources[name] = Resource(
            name,
            "local",
            links=listify(lr["links"]),
            labels=labels,
            resource_deps=lr["resource_deps"],
            auto_init=lr["auto_init"],
            trigger_mode=lr["trigger_mode"] or TRIGGER_MODE_AUTO,
            local=lr,
        )

    for build in model.docker_builds:  # image injection
        for res in resources.values():
            if any(image_name(c["image"]) == image_name(build["ref"]) for o in res.objects for c in containers(o)):
                res.images.append(build["ref"])

    for res in resources.values():
        for dep in res.resource_deps:
            if dep not in resources:
                raise TiltfileError(f"resource {res.name} specified a dependency on unknown resource {dep}")
    _check_acyclic(resources)
    return resources


def _check_acyclic(resources: dict[str, Resource]) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name, path):
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise TiltfileError("resource_deps cycle: " + " -> ".join([*path, name]))
        state[name] = 1
        for dep in resources[name].resource_deps:
            visit(dep, [*path, name])
        state[name] = 2

    for name in resources:
        visit(name, [])

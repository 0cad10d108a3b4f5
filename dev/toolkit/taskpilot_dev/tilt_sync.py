"""Tilt's live_update, performed the way Tilt performs it against a Kubernetes pod.

The steps come from the repo's Tiltfile itself (its `docker_build(..., live_update=[...])` calls,
read with Python's `ast`: Starlark shares Python's expression syntax), so the emulation follows the
Tiltfile when it changes. For a set of changed files Tilt:
  1. gives up (full image rebuild) when a file matches `fall_back_on` or no `sync`;
  2. removes deleted files with `rm -rf` through the exec API;
  3. streams a tar archive of the changed files, named by their container paths, into
     `tar -C / -x -f -` through the exec API — running as the container's own user. Entries carry
     uid/gid 0 and the local mode and mtime (USTAR, as Go's archive/tar writes them);
  4. runs each `run()` step whose trigger matched (or that has none) as `sh -c <cmd>`, also via exec.
Here the exec API is `docker exec` (same user, same working directory).
"""

from __future__ import annotations

import ast
import io
import os
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from taskpilot_dev.paths import REPO_ROOT

TILT_RUNTIME = "<tilt-runtime:"  # prefix of values a Tiltfile computes at run time (no cluster here)


class NeedsRebuild(RuntimeError):
    """Tilt would rebuild the image instead of live-updating (fall_back_on, or a path outside every sync)."""


@dataclass
class LiveUpdate:
    image: str
    fall_back_on: list[str] = field(default_factory=list)
    syncs: list[tuple[str, str]] = field(default_factory=list)  # (repo path, container path)
    runs: list[tuple[str, list[str]]] = field(default_factory=list)  # (command, trigger paths)


def tiltfile_live_updates(tiltfile: Path = REPO_ROOT / "Tiltfile") -> dict[str, LiveUpdate]:
    """image name -> its live_update steps (the dev branch of a conditional list)."""
    tree = ast.parse(tiltfile.read_text(), filename=str(tiltfile))
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }
    found = {}
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "docker_build"):
            continue
        first = call.args[0]
        image = constants[first.id] if isinstance(first, ast.Name) else ast.literal_eval(first)
        steps = next((k.value for k in call.keywords if k.arg == "live_update"), None)
        if isinstance(steps, ast.IfExp):  # `[] if PROD_IMAGES else [...]`: the dev branch
            steps = next(b for b in (steps.body, steps.orelse) if isinstance(b, ast.List) and b.elts)
        update = LiveUpdate(image)
        for step in getattr(steps, "elts", []):
            name = step.func.id
            args = [ast.literal_eval(a) for a in step.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in step.keywords}
            if name == "fall_back_on":
                update.fall_back_on += [args[0]] if isinstance(args[0], str) else list(args[0])
            elif name == "sync":
                update.syncs.append((args[0], args[1]))
            elif name == "run":
                trigger = kwargs.get("trigger", args[1] if len(args) > 1 else [])
                update.runs.append((args[0], [trigger] if isinstance(trigger, str) else list(trigger)))
            else:
                raise NeedsRebuild(f"live_update step {name}() is not emulated")
        found[image] = update
    return found


def tiltfile_python_checks(
    names: tuple[str, ...], tiltfile: Path = REPO_ROOT / "Tiltfile"
) -> list[tuple[str, list[str], dict]]:
    """(name, python argv, env) of the Tiltfile's `python_check(...)` resources, in the order asked.

    argv may be a list literal, a list-valued name, or a `+` of those (module-level assignments and
    conditional `+=` are ignored, so `health_args` is read as the Tiltfile builds it without flags)."""
    tree = ast.parse(tiltfile.read_text(), filename=str(tiltfile))
    assigned = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
    }

    def value(node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return value(node.left) + value(node.right)
        if isinstance(node, ast.Name):
            return value(assigned[node.id])
        if isinstance(node, ast.List):
            return [value(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {value(k): value(v) for k, v in zip(node.keys, node.values, strict=True)}
        if isinstance(node, ast.Call):  # known only while Tilt runs (e.g. the kube context)
            return f"{TILT_RUNTIME}{ast.unparse(node.func)}()>"
        return ast.literal_eval(node)

    found = {}
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "python_check":
            name = ast.literal_eval(call.args[0])
            if name in names:
                env: dict = next((value(k.value) for k in call.keywords if k.arg == "env"), {})
                found[name] = (name, value(call.args[1]), {"PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **env})
    return [found[name] for name in names]


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/")
    return path == root or path.startswith(root + "/")


def container_path(update: LiveUpdate, repo_path: str) -> str:
    for local, remote in update.syncs:
        if _under(repo_path, local):
            rel = PurePosixPath(repo_path).relative_to(local.rstrip("/")) if repo_path != local.rstrip("/") else ""
            return str(PurePosixPath(remote) / rel) if rel else remote.rstrip("/")
    raise NeedsRebuild(f"{repo_path} is under no sync() of {update.image}")


def archive(entries: dict[str, Path]) -> bytes:
    """Tar of container path -> local file or directory (recursively), as Tilt's ArchiveBuilder makes it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for target, source in entries.items():
            walk = [(target, source)]
            if source.is_dir():
                walk += [(f"{target}/{p.relative_to(source).as_posix()}", p) for p in sorted(source.rglob("*"))]
            for name, path in walk:
                info = tar.gettarinfo(str(path), arcname=name.lstrip("/"))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = int(info.mtime)
                if info.isreg():
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                else:
                    tar.addfile(info)
    return buffer.getvalue()


def live_update(runner, pod, update: LiveUpdate, changes: dict[str, Path | None]) -> list[str]:
    """Apply changed files (repo path -> where its new content is, None = deleted) to a running pod.

    Returns the run() commands that ran. Raises NeedsRebuild where Tilt would rebuild, and
    RuntimeError when an exec step fails (Tilt marks the resource failed)."""
    for repo_path in changes:
        if any(_under(repo_path, f) for f in update.fall_back_on):
            raise NeedsRebuild(f"{repo_path} matches fall_back_on")
    deleted = [container_path(update, p) for p, src in changes.items() if src is None]
    if deleted:
        _exec(runner, pod, ["rm", "-rf", *deleted])
    present = {container_path(update, p): src for p, src in changes.items() if src is not None}
    if present:
        _exec(runner, pod, ["tar", "-C", "/", "-x", "-f", "-"], archive(present))
    ran = []
    for command, triggers in update.runs:
        if not triggers or any(_under(p, t) for p in changes for t in triggers):
            _exec(runner, pod, ["sh", "-c", command])
            ran.append(command)
    return ran


def _exec(runner, pod, argv: list[str], stdin: bytes | None = None) -> None:
    started = time.monotonic()
    proc = runner.exec(pod, *argv, input=stdin)
    if proc.returncode != 0:
        raise RuntimeError(
            f"live update step {argv[:3]} failed in {pod.name} (exit {proc.returncode}, "
            f"{time.monotonic() - started:.1f}s):\n{proc.stdout.decode()[-2000:]}{proc.stderr.decode()[-2000:]}"
        )


def sandbox_copy(tmp: Path, repo_path: str) -> Path:
    """A copy of a repo file under tmp, to edit without touching the working tree."""
    source = REPO_ROOT / repo_path
    target = tmp / repo_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    os.chmod(target, source.stat().st_mode & 0o777)
    return target

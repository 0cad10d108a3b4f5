"""What is (and is not) inside the two runtime images, and how they run."""

from __future__ import annotations

import json
import re

import pytest

from taskpilot_dev import docker as ds

pytestmark = pytest.mark.docker

COMPILERS = ("gcc", "cc", "c++", "g++", "clang", "make", "ld", "as", "rustc", "go")
# Package-manager caches and leftovers that must never ship in a runtime layer.
CACHE_PATHS = (
    "/root/.cache",
    "/root/.npm",
    "/tmp/.npm",
    "/tmp/.cache",
    "/home/node/.npm",
    "/usr/local/share/.cache",
    "/opt/venv/.cache",
)


def _sh(image: str, script: str, user: str | None = None):
    return ds.run_in_image(image, "-c", script, entrypoint="sh", user=user)


@pytest.mark.parametrize("which, uid", [("backend", 1000), ("frontend", 1001)])
def test_runtime_user_is_numeric_non_root(which, uid, backend_image, frontend_image):
    image = backend_image if which == "backend" else frontend_image
    configured = ds.inspect(image)["Config"]["User"]
    assert configured == f"{uid}:{uid}", f"image User must be numeric {uid}:{uid} (runAsNonRoot), got {configured!r}"
    proc = ds.run_in_image(image, "id", "-u", entrypoint="")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(uid)


@pytest.mark.parametrize("which", ["backend", "frontend"])
def test_no_compilers_or_package_caches(which, backend_image, frontend_image):
    image = backend_image if which == "backend" else frontend_image
    found = _sh(
        image,
        f"for c in {' '.join(COMPILERS)}; do command -v $c; done; "
        f"for p in {' '.join(CACHE_PATHS)}; do [ -e $p ] && echo $p; done; "
        "ls /var/cache/apt/archives/*.deb /var/lib/apt/lists/*_Packages* 2>/dev/null; true",
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [], f"compilers or caches in the {which} runtime image: {found.stdout.split()}"


def test_backend_venv_is_trimmed(backend_image):
    proc = _sh(
        backend_image,
        "python -c 'import pip' 2>/dev/null && echo pip-importable; "
        "python -c 'import setuptools' 2>/dev/null && echo setuptools-importable; "
        "find /opt/venv \\( -name __pycache__ -o -name tests -o -name '*.pyi' \\) | head -n 5; "
        "ls /app/tests /app/.env /app/requirements-dev.txt 2>/dev/null; true",
    )
    assert proc.stdout.split() == [], f"untrimmed runtime venv or test/dev files in /app: {proc.stdout.split()}"
    # ...and still complete: the app imports and alembic is on PATH.
    proc = ds.run_in_image(
        backend_image,
        "python",
        "-c",
        "import main, alembic, uvicorn; print(main.app.title)",
        entrypoint="",
        extra=("-e", "APP_ENV=dev"),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_frontend_runtime_has_only_standalone_output(frontend_image):
    package = json.loads((ds.REPO_ROOT / "frontend" / "package.json").read_text())
    dev_only = sorted(set(package.get("devDependencies", {})) - set(package.get("dependencies", {})))
    listing = _sh(
        frontend_image,
        "ls -A /app; echo ---; ls -A /app/node_modules 2>/dev/null; echo ---; "
        "ls /app/.next/static >/dev/null && echo static-ok; ls -d /app/public >/dev/null && echo public-ok",
    )
    top, modules, checks = (part.split() for part in listing.stdout.split("---"))
    assert "server.js" in top and "static-ok" in checks and "public-ok" in checks, listing.stdout
    assert not {"src", "app", "package-lock.json", "tsconfig.json", ".env"} & set(top), (
        f"sources leaked into runtime: {top}"
    )
    leaked = [name for name in dev_only if name in modules or name.split("/")[0] in modules]
    assert leaked == [], f"devDependencies present in the runtime image: {leaked}"
    # The Dockerfile drops sharp/libvips (next/image optimisation): keep it that way only while unused.
    assert "sharp" not in modules and "@img" not in modules
    users = [p for p in (ds.REPO_ROOT / "frontend" / "src").rglob("*.tsx") if "next/image" in p.read_text()]
    assert users == [], f"next/image is used by {users}: keep sharp in docker/Dockerfile.frontend"


def test_images_declare_healthchecks(backend_image, frontend_image):
    for image, probe in ((backend_image, "/health"), (frontend_image, ":3000/")):
        check = ds.inspect(image)["Config"].get("Healthcheck") or {}
        assert check.get("Test") and probe in " ".join(check["Test"]), f"{image}: HEALTHCHECK missing or not on {probe}"


def test_healthchecks_reach_healthy_under_chart_hardening(stack):
    """The stack fixture already waited for Docker's verdict; re-check it and how the containers run."""
    for name, uid in ((stack.backend, "1000"), (stack.frontend, "1001")):
        assert ds.health_status(name).startswith("healthy|running"), ds.logs(name)
        host = ds.inspect(name)["HostConfig"]
        assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert ds.docker("exec", name, "id", "-u").stdout.strip() == uid
        write = ds.docker("exec", name, "sh", "-c", "touch /app/should-not-write", check=False)
        assert write.returncode != 0, f"{name}: /app is writable"


@pytest.mark.parametrize(
    "which, interpreter, expected",
    [("backend", "python", ("uvicorn",)), ("frontend", "node", ("server.js", "next-server"))],
)
def test_app_process_is_pid_1(which, interpreter, expected, stack):
    """No shell or npm wrapper: PID 1 is the interpreter running the app (Next renames its process title)."""
    name = stack.backend if which == "backend" else stack.frontend
    exe = ds.docker("exec", name, "readlink", "/proc/1/exe").stdout.strip()
    cmdline = ds.docker("exec", name, "cat", "/proc/1/cmdline").stdout.replace("\0", " ")
    assert exe.rsplit("/", 1)[-1].startswith(interpreter), f"PID 1 is {exe}"
    assert any(e in cmdline for e in expected) and "npm" not in cmdline, cmdline


def test_backend_stops_cleanly_on_sigterm(stack):
    """PID 1 uvicorn handles SIGTERM itself: exit code 0, not the 137 of a SIGKILL after the grace period."""
    name = f"{stack.prefix}-sigterm"
    try:
        ds.docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            stack.network,
            "-p",
            "127.0.0.1::8000",
            *ds.HARDENING,
            *stack._env_args(stack.backend_env()),
            stack.backend_image,
        )
        ds.wait_http(f"http://127.0.0.1:{ds.published_port(name, 8000)}/health", timeout=60)
        ds.docker("stop", "-t", "30", name)
        assert ds.inspect(name)["State"]["ExitCode"] == 0, ds.logs(name)
    finally:
        ds.remove(name)


def test_migrations_run_from_the_same_image_and_are_idempotent(stack):
    stack.migrate()  # second run: must be a no-op, not an error
    current = ds.docker(
        "run",
        "--rm",
        "--network",
        stack.network,
        *ds.HARDENING,
        *stack._env_args(stack.backend_env()),
        stack.backend_image,
        "alembic",
        "current",
    )
    assert "(head)" in current.stdout, current.stdout + current.stderr


@pytest.fixture(scope="session")
def dev_images(backend_image, frontend_image):
    """Tilt's `dev` targets (cached layers after the prod builds: the classic builder builds every stage)."""
    return ds.app_image("backend", "dev"), ds.app_image("frontend", "dev")


def test_dev_targets_let_live_update_write(dev_images):
    backend_dev, frontend_dev = dev_images
    assert ds.inspect(backend_dev)["Config"]["User"] == "1000:1000"
    assert ds.inspect(frontend_dev)["Config"]["User"] == "1001:1001"
    # Tilt syncs files with tar into /app; the backend dev loop may `pip install -r requirements.txt`.
    backend = _sh(
        backend_dev,
        "set -e; touch /app/synced.py /opt/venv/lib/new-file; tar --version >/dev/null; "
        "pip --version >/dev/null; test -f /app/requirements.txt; id -u",
    )
    assert backend.returncode == 0 and backend.stdout.strip() == "1000", backend.stderr
    assert ds.inspect(backend_dev)["Config"]["Cmd"] == ["backend-dev-server"]
    start = _sh(backend_dev, "cat \"$(command -v backend-dev-server)\"; python -c 'import debugpy'")
    assert start.returncode == 0 and "--reload" in start.stdout, start.stderr
    frontend = _sh(
        frontend_dev,
        "set -e; touch /app/src/synced.tsx /app/.next-probe; "
        "tar --version >/dev/null 2>&1 || tar --help >/dev/null 2>&1; "
        'test -d /app/node_modules/next; echo "polling=$WATCHPACK_POLLING"; id -u',
    )
    # no polling: live-update writes happen inside the container, where inotify sees them
    assert frontend.returncode == 0 and frontend.stdout.split() == ["polling=", "1001"], frontend.stderr
    assert ds.inspect(frontend_dev)["Config"]["Cmd"] == ["frontend-dev-server"]
    start = _sh(frontend_dev, 'cat "$(command -v frontend-dev-server)"')
    assert start.returncode == 0 and "dev --hostname 0.0.0.0 --port 3000" in start.stdout, start.stderr


def test_backend_dev_target_serves_with_reload(dev_images, stack):
    name = f"{stack.prefix}-dev"
    env = dict(stack.backend_env(), APP_ENV="dev")
    try:
        ds.docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            stack.network,
            "-p",
            "127.0.0.1::8000",
            *stack._env_args(env),
            dev_images[0],
        )
        ds.wait_http(f"http://127.0.0.1:{ds.published_port(name, 8000)}/health", timeout=90)
        assert "reloader" in ds.logs(name).lower() or "watchfiles" in ds.logs(name).lower(), ds.logs(name)
    finally:
        ds.remove(name)


def test_build_context_is_only_app_sources(backend_image):
    """.dockerignore is an allow-list: what `COPY . ` would see from the repo-root context."""
    probe = f"taskpilot-context-probe:{ds.TEST_TAG}"
    try:
        ds.docker("build", "-t", probe, "-f", "-", str(ds.REPO_ROOT), input=f"FROM {ds.BACKEND_BASE}\nCOPY . /ctx\n")
        listing = ds.run_in_image(
            probe, "sh", "-c", "cd /ctx && find . -mindepth 1 | sort", entrypoint=""
        ).stdout.split()
    finally:
        ds.docker("rmi", "-f", probe, check=False)
    assert "./backend/main.py" in listing and "./frontend/package.json" in listing
    forbidden = re.compile(
        r"(^|/)(\.git|\.venv|\.cache|node_modules|\.next|__pycache__|tests|e2e|\.env(\..*)?|helm|dev)(/|$)"
    )
    leaked = [path for path in listing if forbidden.search(path[2:])]
    assert leaked == [], f"build context carries local state / non-app files: {leaked[:20]}"

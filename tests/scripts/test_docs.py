"""The guides stay true to the scripts: every `./script.sh --flag` they show exists, and every
relative link points at a file."""

import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDES = ("kubernetes-setup.md", "helm-deployment.md", "troubleshooting.md", "backup.md")
SCRIPTS = ("setup.sh", "setup-minikube.sh", "port-forward.sh", "cleanup.sh")


def accepted(script: str) -> set[str]:
    text = subprocess.run([str(REPO_ROOT / script), "--help"], capture_output=True, text=True, check=True).stdout
    options = text.split("Options:", 1)[1].split("Environment:", 1)[0]
    return set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", options))


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_exists_and_mentions_only_real_flags(guide):
    text = (REPO_ROOT / "docs" / guide).read_text()
    assert text.startswith("# ")
    for script in SCRIPTS:
        flags = accepted(script)
        for invocation in re.findall(rf"\./{re.escape(script)}((?:\s+--?[a-z][a-z-]*(?:\s+\d+)?)+)", text):
            for flag in re.findall(r"--?[a-z][a-z-]*", invocation):
                assert flag in flags, f"{guide}: ./{script} {flag} is not an option of the script"


@pytest.mark.parametrize("guide", GUIDES)
def test_relative_links_resolve(guide):
    text = (REPO_ROOT / "docs" / guide).read_text()
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (REPO_ROOT / "docs" / target).exists(), f"{guide} links to missing {target}"


def test_troubleshooting_covers_the_known_traps():
    text = (REPO_ROOT / "docs" / "troubleshooting.md").read_text()
    for topic in (
        "ErrImageNeverPull",
        "ImagePullBackOff",
        "minikube tunnel",
        "Port-forward drops",
        "PGDATA",
        "SSE buffering",
        "tilt doctor",
    ):
        assert topic in text, topic

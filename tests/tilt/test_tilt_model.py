"""The Tilt API model itself refuses what Tilt refuses (so a passing Tiltfile test means something)."""

from __future__ import annotations

import pytest
from tilt_api import TiltfileError
from tilt_model import TiltModel

from taskpilot_dev.paths import CHART_DIR

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: web-image, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web-svc}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""


def run(tmp_path, body, **kwargs):
    (tmp_path / "Dockerfile").write_text("FROM scratch AS dev\n")
    (tmp_path / "app").mkdir(exist_ok=True)
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    (tmp_path / "Tiltfile").write_text(body)
    model = TiltModel(tmp_path / "Tiltfile", env={}, **kwargs).load()
    return model, model.resources()


def test_a_valid_tiltfile_assembles_resources(tmp_path):
    _, resources = run(
        tmp_path,
        """
docker_build('web-image', '.', target='dev', live_update=[sync('app', '/app'), run('true', trigger=['app/x'])])
k8s_yaml('web.yaml')
k8s_resource('web', port_forwards=8080, labels=['app'])
local_resource('check', cmd='true', resource_deps=['web'])
""",
    )
    assert resources["web"].images == ["web-image"]
    assert [o["kind"] for o in resources["web"].objects] == ["Deployment", "Service"]
    assert resources["web"].port_forwards[0].local_port == 8080
    assert resources["check"].resource_deps == ["web"]


@pytest.mark.parametrize(
    "call,message",
    [
        ("docker_build('web-image', '.', targt='dev')", 'unexpected keyword argument "targt"'),
        ("docker_build('web-image', '.', target=1)", "for parameter target: got int, want string"),
        ("docker_build('web-image')", "missing argument for context"),
        ("k8s_resource('web', port_forwards=[True])", "for parameter port_forwards"),
        ("local_resource('x', cmd='true', auto_init='no')", "for parameter auto_init: got str, want bool"),
        ("ci_settings(timeout=30)", "for parameter timeout: got int, want string"),
        ("config.define_bool('x', usage=3)", "for parameter usage"),
        ("v1alpha1.ui_button(name='b', location='backend')", "for parameter location"),
        ("helm('chart', name='x', values_files=['v.yaml'])", 'unexpected keyword argument "values_files"'),
    ],
)
def test_wrong_arguments_fail_like_tilt(tmp_path, call, message):
    with pytest.raises(TiltfileError, match=message):
        run(tmp_path, call + "\n")


@pytest.mark.parametrize(
    "steps,message",
    [
        ("[sync('app', '/app'), fall_back_on(['app/x'])]", "out of order"),
        ("[run('true'), sync('app', '/app')]", "out of order"),
        ("[sync('app', 'app')]", "must be absolute"),
        ("[sync('/etc', '/app')]", "outside the docker_build context"),
        ("[sync('app', '/app'), restart_container()]", "only for Docker Compose"),
    ],
)
def test_invalid_live_update_is_refused(tmp_path, steps, message):
    with pytest.raises(TiltfileError, match=message):
        run(tmp_path, f"docker_build('web-image', '.', live_update={steps})\n")


@pytest.mark.parametrize(
    "body,message",
    [
        ("k8s_resource('nope')", 'no workload found with name "nope"'),
        ("local_resource('a', cmd='true', resource_deps=['ghost'])", "unknown resource ghost"),
        (
            "local_resource('a', cmd='true', resource_deps=['b'])\n"
            "local_resource('b', cmd='true', resource_deps=['a'])",
            "resource_deps cycle",
        ),
        ("k8s_resource(new_name='x', objects=['missing:configmap'])", "matched 0 objects"),
        ("k8s_resource('web', labels=['-bad'])", "invalid label"),
        ("k8s_yaml('web.yaml')", "duplicate resource"),
    ],
)
def test_assembly_errors(tmp_path, body, message):
    with pytest.raises(TiltfileError, match=message):
        run(tmp_path, "k8s_yaml('web.yaml')\n" + body + "\n")


def test_unknown_builtin_and_fail_surface_as_load_errors(tmp_path):
    with pytest.raises(TiltfileError, match="not_a_tilt_builtin"):
        run(tmp_path, "not_a_tilt_builtin()\n")
    with pytest.raises(TiltfileError, match="stop here"):
        run(tmp_path, "fail('stop here')\n")


def test_config_flags_parse_like_go_flag(tmp_path):
    body = (
        "config.define_bool('fast')\nconfig.define_string('mode')\ncfg = config.parse()\nprint(cfg)\n"
        "local_resource('r', cmd='true', labels=['x'] if cfg.get('fast', False) else [])\n"
    )
    _, resources = run(tmp_path, body, args=["--fast", "--mode", "quick"])
    assert resources["r"].labels == ["x"]
    _, resources = run(tmp_path, body, args=["--fast=false"])
    assert resources["r"].labels == []


def test_load_resolves_relative_extensions_and_runs_them_once(tmp_path):
    ext = tmp_path / "ext" / "Tiltfile"
    ext.parent.mkdir()
    ext.write_text("local_resource('from-ext', cmd='true')\ndef hello():\n  return 'hi'\n")
    model, _ = run(
        tmp_path,
        "load('./ext/Tiltfile', 'hello')\nload('./ext/Tiltfile', 'hello')\nlocal_resource(hello(), cmd='true')\n",
    )
    assert set(model.local_resources) == {"from-ext", "hi"}


def test_helm_runs_real_helm_and_drops_chart_test_templates(tmp_path):
    chart = CHART_DIR
    # The dev values: the chart refuses to generate secrets in a render that cannot see the cluster.
    dev_values = CHART_DIR / "values-dev.yaml"
    model, _ = run(
        tmp_path, f"k8s_yaml(helm('{chart}', name='taskpilot-ai', namespace='taskpilot', values=['{dev_values}']))\n"
    )
    kinds = {o["kind"] for o in model.k8s_objects}
    assert "StatefulSet" in kinds
    assert "Pod" not in kinds, "the chart's `helm test` pods are filtered out, as Tilt does"
    with pytest.raises(TiltfileError, match="no chart found"):
        run(tmp_path, f"k8s_yaml(helm('{tmp_path}', name='x'))\n")

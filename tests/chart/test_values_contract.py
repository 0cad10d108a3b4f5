"""The values contract: schema strictness, comments on every value, bad values fail loudly."""

from __future__ import annotations

import json
import re

import chart_support as cs
import pytest
import yaml

SCHEMA = json.loads((cs.CHART_DIR / "values.schema.json").read_text())


def walk_schema(node, path="$"):
    if isinstance(node, dict):
        yield path, node
        for key, child in node.items():
            yield from walk_schema(child, f"{path}.{key}")
    elif isinstance(node, list):
        for i, child in enumerate(node):
            yield from walk_schema(child, f"{path}[{i}]")


def test_schema_is_draft_07_and_has_no_remote_ref():
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    for path, node in walk_schema(SCHEMA):
        ref = node.get("$ref")
        assert ref is None or ref.startswith("#"), f"{path}: remote $ref {ref}"


def test_every_object_in_the_schema_forbids_unknown_keys():
    objects = [(p, n) for p, n in walk_schema(SCHEMA) if n.get("type") == "object"]
    assert len(objects) > 30
    for path, node in objects:
        if "properties" in node:
            assert node.get("additionalProperties") is False, path
        else:  # free-form maps (annotations, nodeSelector, namespace labels) hold strings only
            assert node.get("additionalProperties") == {"type": "string"}, path


def leaf_paths(values, prefix=()):
    for key, value in values.items():
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


def schema_at(path):
    node = SCHEMA
    for key in path:
        if "properties" not in node:  # a string map: its keys are free
            return node["additionalProperties"]
        node = node["properties"][key]
    return node


@pytest.mark.parametrize("values_file", ["values.yaml", "values-dev.yaml", "values-prod.yaml"])
def test_every_value_is_in_the_schema_and_commented(values_file):
    text = (cs.CHART_DIR / values_file).read_text()
    values = yaml.safe_load(text)
    lines = text.splitlines()
    for path in leaf_paths(values):
        assert schema_at(path), path

    # every value line has a comment right above it, or its section header has one (e.g. resources.requests)
    def commented(number):  # a comment line with words in it right above
        above = lines[number - 1].strip() if number > 0 else ""
        return above.startswith("#") and bool(above.lstrip("#- ").strip())

    def parent(number):
        indent = len(lines[number]) - len(lines[number].lstrip())
        for back in range(number - 1, -1, -1):
            text = lines[back]
            if text.strip() and not text.strip().startswith("#") and len(text) - len(text.lstrip()) < indent:
                return back
        return None

    for number, line in enumerate(lines):
        match = re.match(r"^(\s*)([A-Za-z][A-Za-z0-9]*):(.*)$", line)
        if not match or match.group(3).strip() == "":
            continue  # section header: checked through its values
        header = parent(number)
        assert commented(number) or (header is not None and commented(header)), (
            f"{values_file}:{number + 1} `{line.strip()}` has no comment"
        )


def test_default_values_define_every_schema_property():
    values = cs.load_values()

    def check(node, value, path):
        if "properties" in node:
            assert set(node["properties"]) == set(value), path
            for key, child in node["properties"].items():
                check(child, value[key], f"{path}.{key}")

    check(SCHEMA, values, "$")


def _template(profile, *extra):
    return cs.run_helm("template", cs.RELEASE, *cs.template_args(profile, extra)[2:])


@pytest.mark.parametrize(
    "assignment,message",
    [
        ("frontend.replicas=three", "at '/frontend/replicas': got string, want integer"),
        ("backend.image.pullPolicy=Sometimes", "/backend/image/pullPolicy"),
        ("postgresql.persistence.size=ten", "/postgresql/persistence/size"),
        # trusting everyone would let any client choose the address the login limits count
        ("trustedProxies={*}", "/trustedProxies/0"),
        ("trustedProxies={0.0.0.0/0}", "/trustedProxies/0"),
        ("trustedProxies={10.0.0.0/8,::/0}", "/trustedProxies/1"),
    ],
)
def test_wrong_type_is_rejected_with_the_path(assignment, message):
    proc = _template("default", assignment)
    assert proc.returncode != 0
    assert message in proc.stderr


@pytest.mark.parametrize(
    "assignment,message",
    [
        ("frontend.replica=3", "at '/frontend': additional properties 'replica' not allowed"),
        ("databasePassword=x", "additional properties 'databasePassword' not allowed"),
        ("postgresql.persistence.sise=1Gi", "at '/postgresql/persistence': additional properties 'sise' not allowed"),
    ],
)
def test_unknown_key_is_rejected(assignment, message):
    proc = _template("default", assignment)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_prod_without_secrets_fails_with_a_clear_message():
    proc = cs.run_helm("template", cs.RELEASE, str(cs.CHART_DIR), "--values", str(cs.CHART_DIR / "values-prod.yaml"))
    assert proc.returncode != 0
    assert "secrets.jwtSecret is required" in proc.stderr
    proc = cs.run_helm(
        "template",
        cs.RELEASE,
        str(cs.CHART_DIR),
        "--values",
        str(cs.CHART_DIR / "values-prod.yaml"),
        "--set",
        "secrets.jwtSecret=" + "j" * 40,
    )
    assert proc.returncode != 0
    assert "secrets.databasePassword is required" in proc.stderr


def test_prod_with_existing_secret_needs_no_secret_values():
    proc = cs.run_helm(
        "template",
        cs.RELEASE,
        str(cs.CHART_DIR),
        "--values",
        str(cs.CHART_DIR / "values-prod.yaml"),
        "--set",
        "existingSecret=taskpilot-secrets",
    )
    assert proc.returncode == 0, proc.stderr


def test_prod_rejects_a_short_jwt_secret():
    proc = _template("prod", "secrets.jwtSecret=short")
    assert proc.returncode != 0
    assert "secrets.jwtSecret must be at least 32 characters" in proc.stderr


def test_grace_period_must_cover_prestop_and_drain():
    proc = _template("default", "backend.preStopSleepSeconds=20", "backend.config.shutdownDrainSeconds=10")
    assert proc.returncode != 0
    assert "backend.terminationGracePeriodSeconds (30) must exceed" in proc.stderr


def test_chart_readme_documents_every_value_and_variable():
    readme = (cs.CHART_DIR / "README.md").read_text()
    values = cs.load_values()
    for path in leaf_paths(values):
        # a leaf is documented itself or through its documented section (e.g. `frontend.resources.requests`)
        candidates = [".".join(path[:n]) for n in range(len(path), 0, -1)]
        assert any(f"| `{c}` |" in readme for c in candidates[:2]), ".".join(path)
    import chart_app_env

    # backend.config's variables are documented where they are set (values.yaml, next test)
    from_config = {env_name(key) for key in values["backend"]["config"]}
    for name in (chart_app_env.backend_env_names() - from_config) | chart_app_env.frontend_env_names():
        assert f"`{name}`" in readme, name


def env_name(key: str) -> str:
    """The variable a backend.config key becomes (the chart's `snakecase | upper`)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).upper()


def test_every_backend_setting_is_commented_in_values_yaml_with_its_variable():
    text = (cs.CHART_DIR / "values.yaml").read_text()
    for key in cs.load_values()["backend"]["config"]:
        comment = re.search(rf"((?:^    #.*\n)+)^    {key}:", text, re.M)
        assert comment and env_name(key) in comment.group(1), f"backend.config.{key}: no comment naming {env_name(key)}"


def test_the_configmap_carries_every_backend_setting_under_its_variable(rendered):
    data = cs.find(rendered["default"], "ConfigMap", f"{cs.RELEASE}-config")["data"]
    for key, value in cs.load_values()["backend"]["config"].items():
        expected = str(value).lower() if isinstance(value, bool) else str(value)
        assert data[env_name(key)] == expected, key


def test_whole_numbers_from_values_files_stay_whole_in_the_configmap():
    """Numbers from values files (and --set-json) arrive as floats: 1048576 must not become 1.048576e+06."""
    proc = cs.run_helm(
        *cs.template_args("default"),
        "--set-json",
        "backend.config.httpMaxHeaderBytes=1048576",
        "--set-json",
        "backend.config.dbStatementTimeoutMs=2500000",
    )
    assert proc.returncode == 0, proc.stderr
    (config,) = [d for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "ConfigMap"]
    assert config["data"]["HTTP_MAX_HEADER_BYTES"] == "1048576"
    assert config["data"]["DB_STATEMENT_TIMEOUT_MS"] == "2500000"


def test_values_are_validated_from_one_place_notes_txt():
    templates = cs.CHART_DIR / "templates"
    callers = sorted(
        p.name for p in templates.rglob("*") if p.is_file() and 'include "taskpilot-ai.validate"' in p.read_text()
    )
    assert callers == ["NOTES.txt"]


@pytest.mark.parametrize("only", [(), ("--show-only", "templates/configmap.yaml")])
def test_contradicting_values_fail_the_render_even_when_notes_are_not_shown(only):
    """`helm template` renders NOTES.txt (and fails with it) although it never prints it."""
    proc = cs.run_helm(
        *cs.template_args("default", ("backend.preStopSleepSeconds=20", "backend.config.shutdownDrainSeconds=10")),
        *only,
    )
    assert proc.returncode != 0
    assert "templates/NOTES.txt" in proc.stderr and "must exceed" in proc.stderr

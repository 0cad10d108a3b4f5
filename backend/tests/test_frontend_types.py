"""The frontend's API types and limits (frontend/src/lib/types.ts) match the OpenAPI document.

Each interface names its schema in a `/** SchemaName */` comment; every field's TypeScript type must be
what the schema says (nullable -> `| null`, not required -> `?`, arrays, references by interface name).
The numeric constants there (field lengths, list page size) must be the document's limits.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.core.config import Settings
from app.main import create_app

TYPES_FILE = Path(__file__).resolve().parents[2] / "frontend" / "src" / "lib" / "types.ts"
INTERFACE = re.compile(r"/\*\*\s*(\w+)[^*]*\*/\s*export interface (\w+) \{([^}]*)\}", re.S)
FIELD = re.compile(r"^\s*(\w+)(\?)?: (.+);\s*$", re.M)
CONSTANT = re.compile(r"^export const (\w+) = (\d+);$", re.M)


def interfaces() -> dict[str, tuple[str, dict[str, str]]]:
    """interface name -> (schema name, {field: TypeScript type, with "?" suffix on the name when optional})."""
    found = {}
    for schema, name, body in INTERFACE.findall(TYPES_FILE.read_text()):
        found[name] = (schema, {f"{field}{optional}": ts_type for field, optional, ts_type in FIELD.findall(body)})
    return found


def ts_type(schema: dict, schema_to_interface: dict[str, str]) -> str:
    if "$ref" in schema:
        return schema_to_interface[schema["$ref"].rsplit("/", 1)[-1]]
    if "anyOf" in schema:
        members = [ts_type(member, schema_to_interface) for member in schema["anyOf"]]
        if all(" " not in member for member in members):
            return " | ".join(members)
        return " | ".join(f"({member})" if " " in member else member for member in members)
    kind = schema.get("type")
    if kind == "array":
        item = ts_type(schema["items"], schema_to_interface)
        return f"({item})[]" if " " in item else f"{item}[]"
    if kind == "object":
        return "Record<string, unknown>"
    return {"integer": "number", "number": "number", "string": "string", "boolean": "boolean", "null": "null"}[kind]


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(Settings(jwt_secret="x" * 40)).openapi()


def test_every_interface_matches_its_schema(document):
    schemas = document["components"]["schemas"]
    declared = interfaces()
    expected_interfaces = {"User", "Task", "TaskChanges", "ChatReply", "ChatAction", "ApiErrorBody", "ValidationIssue"}
    assert expected_interfaces <= set(declared)
    schema_to_interface = {schema: name for name, (schema, _) in declared.items()}
    for name, (schema_name, fields) in declared.items():
        schema = schemas[schema_name]
        required = set(schema.get("required", []))
        expected = {
            f"{field}{'' if field in required else '?'}": ts_type(spec, schema_to_interface)
            for field, spec in schema["properties"].items()
        }
        assert fields == expected, f"{name} in types.ts differs from the {schema_name} schema"


def test_the_documented_responses_use_these_types(document):
    """The operations the frontend calls answer exactly these schemas (so the types are the right ones)."""
    paths = document["paths"]

    def body_schema(path: str, method: str, status: str) -> dict:
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]

    assert body_schema("/api/auth/me", "get", "200") == {"$ref": "#/components/schemas/UserRead"}
    assert body_schema("/api/tasks", "post", "201") == {"$ref": "#/components/schemas/TaskRead"}
    assert body_schema("/api/tasks", "get", "200")["items"] == {"$ref": "#/components/schemas/TaskRead"}
    assert body_schema("/api/chat", "post", "200") == {"$ref": "#/components/schemas/ChatResponse"}
    assert paths["/api/tasks/{task_id}"]["patch"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TaskUpdate"
    }
    for path, item in paths.items():
        for method, operation in item.items():
            for status in operation["responses"]:
                if int(status) >= 400:
                    assert body_schema(path, method, status) == {"$ref": "#/components/schemas/ErrorResponse"}, (
                        f"{method.upper()} {path} {status} is not the one error shape"
                    )


def string_max_length(schema: dict) -> int:
    """maxLength of a string field, nullable (anyOf string | null) or not."""
    strings = [member for member in schema.get("anyOf", [schema]) if member.get("type") == "string"]
    assert len(strings) == 1, schema
    return strings[0]["maxLength"]


def test_the_limits_match_the_document(document):
    constants = {name: int(value) for name, value in CONSTANT.findall(TYPES_FILE.read_text())}
    assert set(constants) == {"TITLE_MAX_LENGTH", "DESCRIPTION_MAX_LENGTH", "TASK_LIST_LIMIT"}
    schemas = document["components"]["schemas"]
    for schema in ("TaskCreate", "TaskUpdate"):
        fields = schemas[schema]["properties"]
        assert string_max_length(fields["title"]) == constants["TITLE_MAX_LENGTH"], schema
        assert string_max_length(fields["description"]) == constants["DESCRIPTION_MAX_LENGTH"], schema
    (limit,) = [p for p in document["paths"]["/api/tasks"]["get"]["parameters"] if p["name"] == "limit"]
    assert limit["schema"]["maximum"] == constants["TASK_LIST_LIMIT"]

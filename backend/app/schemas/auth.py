from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from app.core.body_limits import json_body_budget
from app.schemas.text import STORABLE_PATTERN, text_field

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024  # argon2 is fine with long input; the cap only bounds work per request

EMAIL_MAX_LENGTH = 320
NAME_MAX_LENGTH = 200

# Largest valid bodies of the account routes.
SIGNUP_BODY_BYTES = json_body_budget(EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH, NAME_MAX_LENGTH)
LOGIN_BODY_BYTES = json_body_budget(EMAIL_MAX_LENGTH, PASSWORD_MAX_LENGTH)
ACCOUNT_DELETION_BODY_BYTES = json_body_budget(PASSWORD_MAX_LENGTH)

# Passwords are hashed, never stored, but must still be encodable text.
if TYPE_CHECKING:  # see app.schemas.tasks
    Password = str
    Name = str
else:
    Password = text_field(PASSWORD_MAX_LENGTH, required=False, strip=False)
    Name = text_field(NAME_MAX_LENGTH, required=False, strip=True)
NewPassword = Annotated[Password, Field(min_length=PASSWORD_MIN_LENGTH)]


class SignupRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    email: Annotated[EmailStr, Field(max_length=EMAIL_MAX_LENGTH, json_schema_extra={"pattern": STORABLE_PATTERN})]
    password: NewPassword
    name: Name | None = None


class LoginRequest(BaseModel):
    model_config = ConfigDict(strict=True)

    # Plain strings: a malformed email or short password simply does not match (same 401 as a wrong one).
    email: text_field(EMAIL_MAX_LENGTH, required=False, strip=False)  # type: ignore[valid-type]
    password: Password


class AccountDeletionRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    password: Password | None = Field(
        default=None, description="The account's password; may be left out right after a login"
    )


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str | None
    created_at: datetime


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # the OAuth token type name, not a secret
    user: UserRead

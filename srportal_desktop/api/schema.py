"""The v1 wire schema, shared by the portal server and the desktop client.

Field names are the contract of DESIGN.md section 7: add fields freely, never rename or drop.
Input models carry the validation bounds, so the server refuses bad input with field errors and
the client can check a form before it sends anything.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

MAX_COUNT = 100_000
MAX_COPIES = 1000
MAX_NAME_LENGTH = 100
MAX_NOTES_LENGTH = 2000
# A bulk template name leaves room for at least the "_1" suffix; how much more depends on the
# number of copies (see BulkCreate), so that every created name fits MAX_NAME_LENGTH.
MAX_BULK_TEMPLATE_NAME_LENGTH = MAX_NAME_LENGTH - len("_1")


def max_bulk_template_name_length(copies: int) -> int:
    """The longest template name whose last copy `[Name]_{copies}` still fits a name."""
    return MAX_NAME_LENGTH - len(f"_{copies}")


def _printable_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("must contain only printable characters")
    return value


def _optional_printable_name(value: str) -> str:
    return _printable_name(value) if value.strip() else ""


def _printable_text(value: str) -> str:
    """Free text: line breaks and tabs are fine, other control characters are not."""
    if any(unicodedata.category(ch).startswith("C") and ch not in "\n\t" for ch in value):
        raise ValueError("must contain only printable characters")
    return value


# Surrounding spaces are not part of a name, nor of its length.
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_printable_name),
]
BulkTemplateName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_BULK_TEMPLATE_NAME_LENGTH
    ),
    AfterValidator(_printable_name),
]


def _null_as_empty(value: object) -> object:
    """An optional text field sent as JSON null means the same as leaving it out."""
    return "" if value is None else value


DisplayName = Annotated[
    str,
    BeforeValidator(_null_as_empty),
    Field(max_length=MAX_NAME_LENGTH),
    AfterValidator(_optional_printable_name),
]
MAX_EMAIL_LOCAL_PART_LENGTH = 64  # RFC 5321


# How pydantic's own email errors begin; the UI and the server turn it into a sentence.
EMAIL_PROBLEM_PREFIX = "value is not a valid email address: "


def plain_address(value: object) -> object:
    """Only the address itself: EmailStr alone also takes `Name <address>` and drops the name.
    The part before the @ is limited in octets, as RFC 5321 counts it."""
    if isinstance(value, str):
        if "<" in value or ">" in value:
            raise ValueError(
                f"{EMAIL_PROBLEM_PREFIX}Enter the address alone, without a name or <>."
            )
        local = value.strip().rpartition("@")[0]
        if len(local.encode("utf-8")) > MAX_EMAIL_LOCAL_PART_LENGTH:
            raise ValueError(
                f"{EMAIL_PROBLEM_PREFIX}The part before the @ can be at most "
                f"{MAX_EMAIL_LOCAL_PART_LENGTH} characters long."
            )
    return value


Email = Annotated[EmailStr, BeforeValidator(plain_address)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT, strict=True)]
SensorCount = Annotated[int, Field(ge=1, le=MAX_COUNT, strict=True)]
Copies = Annotated[int, Field(ge=1, le=MAX_COPIES, strict=True)]
SensorId = Annotated[str, Field(min_length=1, max_length=64)]
Notes = Annotated[
    str,
    BeforeValidator(_null_as_empty),
    Field(max_length=MAX_NOTES_LENGTH),
    AfterValidator(_printable_text),
]
Password = Annotated[str, Field(min_length=1, max_length=256)]
# The portal refuses a new password (accept-invite, create-reseller) shorter than this.
MIN_PASSWORD_LENGTH = 8


class WireModel(BaseModel):
    """Answers: tolerant of fields added by a newer server."""

    model_config = ConfigDict(extra="ignore")


class InputModel(BaseModel):
    """Requests: unknown fields are a mistake, not something to drop silently."""

    model_config = ConfigDict(extra="forbid")


# --- enums -------------------------------------------------------------------------------------


class Role(StrEnum):
    VENDOR_ADMIN = "vendor_admin"
    RESELLER = "reseller"
    SUB_USER = "sub_user"


class SubUserStatus(StrEnum):
    INVITED = "invited"
    ACTIVE = "active"
    DISABLED = "disabled"


class LicenseStatus(StrEnum):
    NOT_ACTIVATED = "not_activated"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "validation_failed"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    QUOTA_EXCEEDED = "quota_exceeded"
    NAME_TAKEN = "name_taken"
    EMAIL_TAKEN = "email_taken"
    INVALID_STATE = "invalid_state"
    RATE_LIMITED = "rate_limited"
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405
    MAIL_UNAVAILABLE = "mail_unavailable"  # 503: the invitation email could not be sent
    SERVICE_UNAVAILABLE = "service_unavailable"  # 503: not ready (database down or behind)
    INTERNAL_ERROR = "internal_error"  # 500


# --- errors ------------------------------------------------------------------------------------


class FieldError(WireModel):
    field: str
    message: str


class Problem(WireModel):
    """RFC 9457 problem details, with the portal's stable `code` and field `errors`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    # A code this client does not know yet stays a plain string and still carries the server's
    # `detail`; a known one becomes its `ErrorCode` (left to right: the enum is tried first).
    code: ErrorCode | str = Field(union_mode="left_to_right")
    errors: list[FieldError] = Field(default_factory=list)


# --- auth --------------------------------------------------------------------------------------


class LoginRequest(InputModel):
    # Any well-formed address: signing in must never be stricter than how accounts were made.
    email: EmailStr
    password: Password


class RefreshRequest(InputModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class AcceptInviteRequest(InputModel):
    token: str = Field(min_length=1, max_length=512)
    password: Password


class TokenPair(WireModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


# --- accounts ----------------------------------------------------------------------------------


class Pool(WireModel):
    """The quota summed over an account's grants."""

    lpu_total: int = 0
    lpu_used: int = 0
    lpu_available: int = 0
    sensor_total: int = 0
    sensor_used: int = 0
    sensor_available: int = 0
    supported_sensors: list[str] = Field(default_factory=list)
    gpu_preset: bool = False


class Me(WireModel):
    id: str
    email: str
    display_name: str
    role: Role
    parent_id: str | None
    pool: Pool


class Sensor(WireModel):
    id: str
    make: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.make} {self.model}"


class SubUser(WireModel):
    id: str
    email: str
    display_name: str
    status: SubUserStatus
    created_at: datetime
    pool: Pool
    # Only in the answers of create and resend-invite: False when the invitation email could
    # not be sent (the sub-user exists; resend the invite later). None elsewhere.
    invite_email_sent: bool | None = None

    @property
    def label(self) -> str:
        """What a person calls this sub-user: the display name, else the address."""
        return self.display_name or self.email


class SubUserCreate(InputModel):
    email: Email
    display_name: DisplayName = ""


class SubUserPatch(InputModel):
    display_name: DisplayName | None = None
    status: SubUserStatus | None = None


# --- grants ------------------------------------------------------------------------------------


class Grant(WireModel):
    id: str
    grantor_id: str | None
    grantee_id: str
    supported_sensors: list[str]
    gpu_preset: bool
    lpu_total: int
    lpu_used: int
    sensor_total: int
    sensor_used: int
    created_at: datetime
    parent_grant_id: str | None = None

    @property
    def lpu_available(self) -> int:
        return self.lpu_total - self.lpu_used

    @property
    def sensor_available(self) -> int:
        return self.sensor_total - self.sensor_used


class GrantCreate(InputModel):
    grantee_id: str = Field(min_length=1, max_length=64)
    supported_sensors: list[SensorId] = Field(min_length=1, max_length=200)
    lpu: Count
    sensors: Count
    gpu_preset: StrictBool = False
    # Which of the grantor's grants to carve this out of; the server picks one when absent.
    parent_grant_id: str | None = Field(default=None, max_length=64)


class ReclaimRequest(InputModel):
    lpu: Count
    sensors: Count


# --- licenses ----------------------------------------------------------------------------------


class License(WireModel):
    id: str
    name: str
    owner_id: str
    sensor_models: list[str]
    sensor_count: int
    gpu_preset: bool
    notes: str
    status: LicenseStatus
    machine_id: str | None
    issued_at: datetime
    activated_at: datetime | None
    expires_at: datetime | None
    grant_id: str | None = None
    # Rehosts so far (each deactivation frees the machine binding), and when it was revoked.
    deactivation_count: int = 0
    revoked_at: datetime | None = None


class LicenseCreate(InputModel):
    name: Name
    sensor_models: list[SensorId] = Field(min_length=1, max_length=200)
    sensor_count: SensorCount
    gpu_preset: StrictBool = False
    notes: Notes = ""
    grant_id: str | None = Field(default=None, max_length=64)


class LicenseTemplate(InputModel):
    name: BulkTemplateName
    sensor_models: list[SensorId] = Field(min_length=1, max_length=200)
    sensor_count: SensorCount
    gpu_preset: StrictBool = False
    notes: Notes = ""
    grant_id: str | None = Field(default=None, max_length=64)


class BulkCreate(InputModel):
    template: LicenseTemplate
    copies: Copies

    @model_validator(mode="after")
    def _last_name_fits(self) -> Self:
        longest = max_bulk_template_name_length(self.copies)
        if len(self.template.name) > longest:
            # Reported on the template's name, where the person can shorten it.
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "bulk_name_too_long",
                            "Must be at most {max_length} characters long for {copies} copies: "
                            "the last name ends in _{copies}.",
                            {"max_length": longest, "copies": self.copies},
                        ),
                        loc=("template", "name"),
                        input=self.template.name,
                    )
                ],
            )
        return self


class TransferRequest(InputModel):
    to_sub_user_id: str = Field(min_length=1, max_length=64)


class ActivateRequest(InputModel):
    machine_id: str = Field(min_length=1, max_length=200)


class KeyFile(WireModel):
    payload: str
    signature: str
    algorithm: str = "Ed25519"
    key_id: str


class Activation(WireModel):
    license: License
    key_file: KeyFile


class SigningKey(WireModel):
    key_id: str
    algorithm: str = "Ed25519"
    public_key: str


class HistoryEntry(WireModel):
    at: datetime
    actor_id: str | None
    action: str
    details: dict[str, object] = Field(default_factory=dict)


class History(WireModel):
    items: list[HistoryEntry]


# --- lists and sync ----------------------------------------------------------------------------

ItemT = TypeVar("ItemT")


class Page(WireModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


class BulkResult(WireModel):
    items: list[License]


class Change(WireModel):
    kind: str
    id: str
    op: str
    data: dict[str, object] | None = None


class ChangeSet(WireModel):
    changes: list[Change]
    cursor: str
    has_more: bool


class ChangeKind(StrEnum):
    """What a `Change` is about; `data` is then what that kind's list/get endpoint returns."""

    LICENSE = "license"  # GET /v1/licenses
    GRANT = "grant"  # GET /v1/grants
    SUB_USER = "sub_user"  # GET /v1/sub-users (managers only)
    ME = "me"  # GET /v1/me


class ChangeOp(StrEnum):
    UPSERT = "upsert"
    REMOVE = "remove"


# `GET /v1/changes?cursor=latest`: no changes, just the cursor of now.
LATEST_CHANGES_CURSOR = "latest"


def bulk_names(template_name: str, copies: int) -> list[str]:
    """The names a bulk creation gives its licenses: `[Name]_1 … [Name]_N`."""
    return [f"{template_name}_{n}" for n in range(1, copies + 1)]

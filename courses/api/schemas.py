"""The API's documents, as pydantic models: they serialise every response and, through
`model_json_schema`, describe it in the OpenAPI document, so the two cannot drift apart.

Times are written in UTC with an explicit offset ("2023-07-21T04:00:00+00:00"), phones in
E.164, and every object carries a stable id (database ids never change or get reused).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

#: An instant, written as ISO 8601 / RFC 3339 in UTC with the "+00:00" offset.
Instant = Annotated[
    datetime,
    PlainSerializer(lambda value: value.astimezone(UTC).isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]

Status = Literal["registered", "confirmed", "in_progress", "completed", "certified", "waiting"]
CertificateState = Literal["valid", "revoked", "superseded"]
EditionState = Literal["upcoming", "open", "closed"]
#: "<microseconds since 1970>-<id>": every string of this shape is a cursor the API accepts.
CURSOR_PATTERN = r"^([0-9]{1,16})-([0-9]{1,9})$"


class Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(Document):
    """A text in each language it exists in (Spanish always)."""

    es: str
    en: str | None = None


class CourseRef(Document):
    id: int
    slug: str
    title: Localized


class Edition(Document):
    """An edition of a course, as far as the token's coordinator may see it."""

    id: int
    slug: str
    course: CourseRef
    state: EditionState = Field(description="Registration state at the time of the request.")
    registration_opens: Instant | None
    registration_closes: Instant
    complete_by: Instant | None
    capacity: int = Field(ge=0, description="0 means unlimited.")
    modules: int = Field(ge=0, description="Number of modules in the course.")
    timezone: str = Field(description="IANA time zone the course's dates are read in.")
    enrollments_url: str


class EditionList(Document):
    data: list[Edition]


class ModuleCompletion(Document):
    position: int = Field(ge=1, description="Module number, from 1.")
    completed_at: Instant
    source: Literal["self", "quiz", "coordinator", "import"]


class Progress(Document):
    completed: int = Field(ge=0)
    total: int = Field(ge=0)


class CertificateRef(Document):
    code: str = Field(description="Verification code as printed: XXXXX-XXXXX.")
    state: CertificateState
    issued_at: Instant
    verify_url: str


class Enrollment(Document):
    """One person's registration, progress and certificate. Erased personal data is null."""

    id: int
    name: str | None
    email: str | None
    phone: str | None = Field(description="E.164, e.g. +56912345678.")
    country: str = Field(description="ISO 3166-1 alpha-2.")
    organization: str | None
    status: Status
    registered_at: Instant
    confirmed_at: Instant | None
    completed_at: Instant | None
    erased_at: Instant | None
    updated_at: Instant = Field(
        description="Last change to anything shown here; what `updated_since` compares."
    )
    progress: Progress
    modules: list[ModuleCompletion]
    certificate: CertificateRef | None = Field(
        description="The latest certificate (valid, revoked or superseded), if any."
    )


class Links(Document):
    next: str | None = Field(description="The next page, or null on the last one.")


class EnrollmentPage(Document):
    data: list[Enrollment]
    links: Links


class Verification(Document):
    """What anyone learns by checking a certificate's code (the same as /verify/<code>)."""

    code: str
    state: CertificateState
    holder_name: str
    course: CourseRef
    edition: str
    issued_at: Instant
    revoked_at: Instant | None
    superseded_at: Instant | None
    superseded_by: str | None = Field(description="Code of the certificate that replaced it.")
    verify_url: str


class InvalidParam(Document):
    name: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details, sent as application/problem+json."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True)

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    invalid_params: list[InvalidParam] | None = Field(default=None, alias="invalid-params")


class EnrollmentQuery(BaseModel):
    """Query parameters of the enrollment list (also validated by this model)."""

    model_config = ConfigDict(extra="ignore")

    country: str | None = Field(
        default=None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2 code."
    )
    status: Status | None = None
    updated_since: AwareDatetime | None = Field(
        default=None,
        description="Only enrollments changed at or after this instant (ISO 8601 with offset).",
    )
    limit: int = Field(default=100, ge=1, le=500, description="Enrollments per page.")
    cursor: str | None = Field(
        default=None,
        pattern=CURSOR_PATTERN,
        description="Where the previous page ended; take it from the `next` link.",
    )

    @field_validator("updated_since")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        # An offset that pushes the instant past year 9999 cannot be compared with anything.
        try:
            return value.astimezone(UTC) if value is not None else None
        except OverflowError:
            raise ValueError("instant out of range") from None


# --- webhooks ----------------------------------------------------------------------------

EventType = Literal[
    "registration.created", "enrollment.completed", "certificate.issued", "certificate.revoked"
]


class EventEnrollment(Document):
    id: int
    course: str = Field(description="The course's slug.")
    edition: str = Field(description="The edition's slug.")
    name: str
    email: str
    phone: str | None = Field(description="E.164.")
    country: str
    organization: str
    waiting: bool = Field(description="On the waiting list (no seat yet).")
    registered_at: Instant
    completed_at: Instant | None


class EventCertificate(Document):
    code: str
    state: CertificateState
    issued_at: Instant
    revoked_at: Instant | None
    verify_url: str


class EventData(Document):
    enrollment: EventEnrollment
    certificate: EventCertificate | None


class WebhookEvent(Document):
    """The body POSTed to a webhook's URL. Signed: see the X-Webhook-Signature header."""

    id: str = Field(description="The event's id; the same in every retry, to drop repeats.")
    type: EventType
    created_at: Instant
    data: EventData

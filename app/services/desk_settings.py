"""What admins set on a desk: name, jurisdictions, languages, retention, automatic
acknowledgement, the canned status sentences tipsters read, and the guidance beside the form.

Every change is audited (with the desk's id and which setting; texts themselves stay out of
the log, the desk row holds them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import InvalidInput
from app.models import (
    Desk,
    DeskGuidance,
    DeskJurisdiction,
    DeskStatusText,
    StaffUser,
    TipsterStatus,
)
from app.services import audit
from app.services.audit import AuditAction
from app.services.desks import normalise_country_codes
from app.services.markdown import MAX_MARKDOWN_CHARS, render_safe_markdown

LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
MAX_STATUS_TEXT_CHARS = 1000
MAX_RETENTION_DAYS = 36_500


def parse_languages(text: str) -> list[str]:
    """:raises InvalidInput: not a list of BCP 47 language tags."""
    tags = [tag.strip() for tag in re.split(r"[,\s]+", text) if tag.strip()]
    if not tags or any(not LANGUAGE_TAG.match(tag) for tag in tags):
        raise InvalidInput("List the desk's languages as tags such as 'en, sw, fr'.")
    return list(dict.fromkeys(tags))


def check_language(tag: str) -> str:
    """:raises InvalidInput:"""
    tag = tag.strip()
    if not LANGUAGE_TAG.match(tag):
        raise InvalidInput("Choose a language tag such as 'en' or 'zh_Hans'.")
    return tag


def update_desk(
    session: Session,
    desk: Desk,
    actor: StaffUser,
    *,
    name: str,
    country_codes: Sequence[str],
    languages: Sequence[str],
    retention_days: int,
    auto_acknowledge: bool,
    now: datetime,
) -> None:
    """:raises InvalidInput: an empty name, unknown country, bad retention period."""
    if not name.strip() or len(name.strip()) > 200:
        raise InvalidInput("A desk needs a name (up to 200 characters).")
    codes = normalise_country_codes(country_codes)
    if not codes and not desk.is_triage:
        raise InvalidInput("A desk needs at least one country (or must be the triage desk).")
    if not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"Retention is 1 to {MAX_RETENTION_DAYS} days after closing.")
    changed = []
    if desk.name != name.strip():
        desk.name = name.strip()
        changed.append("name")
    if sorted(j.country_code for j in desk.jurisdictions) != codes:
        desk.jurisdictions = [DeskJurisdiction(country_code=code) for code in codes]
        changed.append("jurisdictions")
    if list(desk.languages) != list(languages):
        desk.languages = list(languages)
        changed.append("languages")
    if desk.retention_days != retention_days:
        desk.retention_days = retention_days
        changed.append("retention_days")
    if desk.auto_acknowledge != auto_acknowledge:
        desk.auto_acknowledge = auto_acknowledge
        changed.append("auto_acknowledge")
    if changed:
        audit.record(
            session,
            action=AuditAction.DESK_UPDATED,
            now=now,
            actor_user_id=actor.id,
            details={
                "desk_id": desk.id,
                "changed": changed,
                "jurisdictions": codes,
                "languages": list(languages),
                "retention_days": retention_days,
                "auto_acknowledge": auto_acknowledge,
            },
        )
    session.flush()


def status_texts(session: Session, desk_id: int) -> dict[tuple[TipsterStatus, str], str]:
    return {
        (row.status, row.language): row.text
        for row in session.scalars(select(DeskStatusText).where(DeskStatusText.desk_id == desk_id))
    }


def set_status_text(
    session: Session,
    desk: Desk,
    actor: StaffUser,
    *,
    status: TipsterStatus,
    language: str,
    text: str,
    now: datetime,
) -> None:
    """Set (or, with an empty text, reset to the default) a canned sentence tipsters read.

    :raises InvalidInput: a bad language tag or a text over the limit.
    """
    language = check_language(language)
    text = text.strip()
    if len(text) > MAX_STATUS_TEXT_CHARS:
        raise InvalidInput(f"Keep a status sentence under {MAX_STATUS_TEXT_CHARS} characters.")
    row = session.get(DeskStatusText, (desk.id, status, language))
    if not text:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(DeskStatusText(desk_id=desk.id, status=status, language=language, text=text))
    else:
        row.text = text
    audit.record(
        session,
        action=AuditAction.DESK_STATUS_TEXT_SET,
        now=now,
        actor_user_id=actor.id,
        details={
            "desk_id": desk.id,
            "status": status.value,
            "language": language,
            "reset": not text,
        },
    )
    session.flush()


def guidance_texts(session: Session, desk_id: int) -> dict[str, str]:
    return {
        row.language: row.markdown
        for row in session.scalars(select(DeskGuidance).where(DeskGuidance.desk_id == desk_id))
    }


def set_guidance(
    session: Session, desk: Desk, actor: StaffUser, *, language: str, markdown: str, now: datetime
) -> None:
    """Set (or, empty, remove) the guidance shown beside the report form in one language.

    :raises InvalidInput: a bad language tag or a text over the limit.
    """
    language = check_language(language)
    markdown = markdown.strip()
    if len(markdown) > MAX_MARKDOWN_CHARS:
        raise InvalidInput(f"Keep the guidance under {MAX_MARKDOWN_CHARS} characters.")
    row = session.get(DeskGuidance, (desk.id, language))
    if not markdown:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(DeskGuidance(desk_id=desk.id, language=language, markdown=markdown))
    else:
        row.markdown = markdown
    audit.record(
        session,
        action=AuditAction.DESK_GUIDANCE_SET,
        now=now,
        actor_user_id=actor.id,
        details={"desk_id": desk.id, "language": language, "removed": not markdown},
    )
    session.flush()


def guidance_html(session: Session, desk_id: int, language: str) -> str | None:
    """The desk's guidance for the tipster's language (else English), as cleaned HTML."""
    texts = guidance_texts(session, desk_id)
    markdown = texts.get(language) or texts.get(language.split("_")[0]) or texts.get("en")
    return render_safe_markdown(markdown) if markdown else None

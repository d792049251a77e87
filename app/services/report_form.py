"""The tip form: its fields (docs/DOMAIN.md "What a good report contains") and their validation.

Everything here becomes encrypted content; none of it is ever a cleartext column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

MAX_FIELD_CHARS = 20_000
MAX_URLS = 50
MAX_FILES_PER_REQUEST = 50


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def _choices(*pairs: tuple[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in pairs)


PLATFORM_TYPES = _choices(
    ("marketplace", "Marketplace or classifieds"),
    ("auction", "Auction site"),
    ("social_public", "Social media, public post"),
    ("closed_group", "Closed or private group"),
    ("messaging", "Messaging app"),
    ("forum", "Forum"),
    ("shop", "Standalone online shop"),
    ("dark_web", "Dark web"),
    ("other", "Other or not sure"),
)
SPECIES_GROUPS = _choices(
    ("elephants", "Elephants / ivory"),
    ("rhinos", "Rhinos"),
    ("pangolins", "Pangolins"),
    ("big_cats", "Big cats"),
    ("bears", "Bears"),
    ("primates", "Primates"),
    ("parrots", "Parrots"),
    ("raptors", "Raptors"),
    ("hornbills", "Hornbills"),
    ("songbirds", "Songbirds"),
    ("tortoises_turtles", "Tortoises and turtles"),
    ("snakes", "Snakes"),
    ("lizards", "Lizards"),
    ("amphibians", "Amphibians"),
    ("sharks_rays", "Sharks and rays"),
    ("corals_shells", "Corals and shells"),
    ("orchids", "Orchids"),
    ("timber", "Timber"),
    ("cacti_succulents", "Cacti and succulents"),
    ("other", "Other or not sure"),
)
COMMODITIES = _choices(
    ("live_animal", "Live animal"),
    ("skin_fur", "Skin or fur"),
    ("ivory_tusk", "Ivory or tusk"),
    ("horn", "Horn"),
    ("scales", "Scales"),
    ("bones_teeth_claws", "Bones, teeth or claws"),
    ("meat", "Meat"),
    ("medicine", "Medicine"),
    ("carving_jewellery", "Carving or jewellery"),
    ("trophy", "Trophy"),
    ("feathers", "Feathers"),
    ("eggs", "Eggs"),
    ("shells", "Shells"),
    ("timber", "Timber"),
    ("other", "Other or not sure"),
)
YES_NO_UNKNOWN = _choices(("yes", "Yes"), ("no", "No"), ("unknown", "I don't know"))
YES_NO = _choices(("yes", "Yes"), ("no", "No"))


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # text | textarea | url | urls | date | select
    hint: str = ""
    choices: tuple[Choice, ...] = ()


REPORT_FIELDS: tuple[FormField, ...] = (
    FormField("description", "What did you see?", "textarea",
              "Describe the offer in your own words: what is sold, by whom, and how."),
    FormField("listing_urls", "Links to the listings or posts", "urls",
              "One link per line. Copy them from the address bar."),
    FormField("platform_name", "Website or app", "text", "For example the marketplace or app."),
    FormField("platform_type", "Type of platform", "select", choices=PLATFORM_TYPES),
    FormField("seller_handle", "Seller's name or handle", "text"),
    FormField("seller_profile_url", "Link to the seller's profile", "url"),
    FormField("seller_contacts", "Phone numbers or messaging IDs", "textarea",
              "Numbers or IDs the seller gives for WhatsApp, WeChat, Telegram, etc."),
    FormField("seller_location", "Where the seller says they are", "text"),
    FormField("ships_to", "Where they ship to", "text"),
    FormField("species", "Species", "text", "As precisely as you can, e.g. 'African grey parrot'."),
    FormField("species_group", "Group of species", "select", choices=SPECIES_GROUPS),
    FormField("commodity", "What is sold", "select", choices=COMMODITIES),
    FormField("quantity", "Quantity", "text"),
    FormField("price", "Price and currency", "text", "For example '1,200 USD per kg'."),
    FormField("code_words", "Code words used", "text",
              "Sellers often disguise goods, e.g. 'white plastic' for ivory."),
    FormField("date_seen", "Date you saw it", "date"),
    FormField("still_online", "Is the listing still online?", "select", choices=YES_NO_UNKNOWN),
    FormField("how_known", "How do you know about this? (optional)", "textarea",
              "Only what you are comfortable sharing. Do not write your name."),
    FormField("contact_ok", "May the prosecutors ask you questions through this site?",
              "select", choices=YES_NO),
    FormField("reward_interest", "Would you like to be considered for a reward, if one exists?",
              "select", choices=YES_NO),
)  # fmt: skip
FIELD_NAMES = frozenset(field.name for field in REPORT_FIELDS)
_FIELDS_BY_NAME = {field.name: field for field in REPORT_FIELDS}
_URL_SCHEMES = ("http", "https")
_BARE_HOST = re.compile(r"^[\w.-]+\.[a-z]{2,}(?:[/?#]\S*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class ValidatedReport:
    """Clean field values (only non-empty ones) ready to be encrypted."""

    fields: dict[str, str | list[str]]


@dataclass(frozen=True)
class ReportErrors:
    """Per-field messages; ``general`` for the form as a whole."""

    by_field: dict[str, str]
    general: list[str]


def _valid_url(text: str) -> bool:
    parts = urlsplit(text)
    if parts.scheme.lower() in _URL_SCHEMES and parts.netloc:
        return True
    return not parts.scheme and bool(_BARE_HOST.match(text))


def validate_report(
    raw: Mapping[str, str], *, file_count: int, today: date
) -> ValidatedReport | ReportErrors:
    """Check what the tipster typed; on errors nothing is lost (the caller re-renders ``raw``)."""
    by_field: dict[str, str] = {}
    clean: dict[str, str | list[str]] = {}
    for name in FIELD_NAMES:
        value = raw.get(name, "").replace("\r\n", "\n").strip()
        if not value:
            continue
        field = _FIELDS_BY_NAME[name]
        if len(value) > MAX_FIELD_CHARS:
            by_field[name] = f"Please shorten this to at most {MAX_FIELD_CHARS} characters."
        elif field.kind == "select" and value not in {c.value for c in field.choices}:
            by_field[name] = "Please choose one of the options."
        elif field.kind == "url" and not _valid_url(value):
            by_field[name] = "This does not look like a web address (https://…)."
        elif field.kind == "urls":
            links = [line.strip() for line in value.split("\n") if line.strip()]
            bad = [str(i + 1) for i, link in enumerate(links) if not _valid_url(link)]
            if bad:
                by_field[name] = "Line(s) " + ", ".join(bad) + " do not look like web addresses."
            elif len(links) > MAX_URLS:
                by_field[name] = f"Please give at most {MAX_URLS} links."
            else:
                clean[name] = links
                continue
        elif field.kind == "date":
            try:
                seen = date.fromisoformat(value)
            except ValueError:
                by_field[name] = "Please give the date as year-month-day, e.g. 2026-03-01."
            else:
                if seen > today:
                    by_field[name] = "This date is in the future."
        clean[name] = value
    general = []
    if not (clean.get("description") or clean.get("listing_urls") or file_count):
        general.append(
            "Your report is empty. Please describe what you saw, give a link, or attach a file."
        )
    if file_count > MAX_FILES_PER_REQUEST:
        general.append(f"Please attach at most {MAX_FILES_PER_REQUEST} files at a time.")
    if by_field or general:
        return ReportErrors(by_field=by_field, general=general)
    return ValidatedReport(fields=clean)

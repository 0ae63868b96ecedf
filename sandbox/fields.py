"""Contact field catalogue: system fields 0..48, custom fields, translations, languages."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# Kept apart from the tap's own list on purpose: the sandbox stands in for Emarsys and
# imports nothing from the tap, so a mistake in one cannot hide the same mistake in the other.
LANGUAGES: frozenset[str] = frozenset(
    (
        "ar",
        "bg",
        "bp",
        "cn",
        "cz",
        "de",
        "dk",
        "el",
        "en",
        "es",
        "et",
        "fi",
        "fr",
        "he",
        "hi",
        "hr",
        "hu",
        "it",
        "jp",
        "ko",
        "lt",
        "lv",
        "mk",
        "mo",
        "mx",
        "nl",
        "no",
        "pl",
        "pr",
        "ro",
        "ru",
        "sc",
        "sk",
        "sl",
        "sr",
        "sv",
        "th",
        "tr",
        "uk",
        "vi",
    )
)
"""The 40 language codes Emarsys accepts (lowercase, as in the OpenAPI enum)."""

NOT_EXPORTABLE: frozenset[int] = frozenset({27, 28, 29, 32, 33})
"""System fields that exports reject with ``Invalid contact field id``."""

MAX_EXPORT_FIELDS = 20


@dataclass(frozen=True)
class Field:
    """One contact field as listed by ``GET /field``."""

    id: int
    name: str
    application_type: str
    string_id: str | None
    name_de: str

    def name_in(self, language: str) -> str:
        """Return the field name in ``language`` (only German is translated)."""
        return self.name_de if language == "de" else self.name

    def as_json(self, language: str = "en") -> dict[str, object]:
        """Return the ``/field`` reply item for this field."""
        return {
            "id": self.id,
            "name": self.name_in(language),
            "application_type": self.application_type,
            "string_id": self.string_id,
        }


# id, English name, application_type, string_id, German name
_SYSTEM: tuple[tuple[int, str, str, str | None, str], ...] = (
    (0, "Interests", "interests", "interests", "Interessen"),
    (1, "First Name", "shorttext", "first_name", "Vorname"),
    (2, "Last Name", "shorttext", "last_name", "Nachname"),
    (3, "E-Mail", "longtext", "email", "E-Mail"),
    (4, "Date of Birth", "birthdate", "birth_date", "Geburtsdatum"),
    (5, "Gender", "singlechoice", "gender", "Geschlecht"),
    (6, "Marital Status", "singlechoice", "marital_status", "Familienstand"),
    (7, "Children", "singlechoice", "children", "Kinder"),
    (8, "Education", "singlechoice", "education", "Ausbildung"),
    (9, "Title", "singlechoice", "title", "Titel"),
    (10, "Address", "longtext", "address", "Adresse"),
    (11, "City", "shorttext", "city", "Ort"),
    (12, "State", "shorttext", "state", "Bundesland"),
    (13, "ZIP Code", "shorttext", "zip_code", "PLZ"),
    (14, "Country", "singlechoice", "country", "Land"),
    (15, "Phone", "shorttext", "phone", "Telefon"),
    (16, "Fax", "fax", "fax", "Fax"),
    (17, "Job Position", "singlechoice", "company_position", "Position"),
    (18, "Company", "longtext", "company_name", "Firma"),
    (19, "Department", "singlechoice", "company_department", "Abteilung"),
    (20, "Industry", "singlechoice", "company_industry", "Branche"),
    (21, "Phone (office)", "shorttext", "company_phone", "Telefon (Büro)"),
    (22, "Fax (office)", "fax", "company_fax", "Fax (Büro)"),
    (23, "Number of Employees", "singlechoice", "company_employees", "Anzahl der Mitarbeiter"),
    (
        24,
        "Annual Revenue (in 000 EUR)",
        "singlechoice",
        "company_annual_revenue",
        "Jahresumsatz (in 1000 EUR)",
    ),
    (25, "URL", "url", "url", "URL"),
    (
        26,
        "Preferred e-mail format",
        "singlechoice",
        "preferred_email_format",
        "Bevorzugtes E-Mail-Format",
    ),
    (
        27,
        "Avg. length of visit (minutes)",
        "special",
        "average_visit_duration",
        "Durchschn. Besuchsdauer (Minuten)",
    ),
    (28, "Page views per day", "special", "pageviews_per_day", "Seitenaufrufe pro Tag"),
    (
        29,
        "Days since last e-mail sent",
        "special",
        "days_since_last_email_sent",
        "Tage seit der letzten E-Mail",
    ),
    (
        30,
        "Response rate (% of campaigns sent)",
        "special",
        None,
        "Antwortrate (% der gesendeten Kampagnen)",
    ),
    (31, "Opt-In", "special", "optin", "Opt-In"),
    (32, "User status", "special", "status", "Benutzerstatus"),
    (33, "Contact source", "special", "source", "Kontaktquelle"),
    (34, "Contact form", "special", "form", "Kontaktformular"),
    (35, "Registration Language", "singlechoice", "registration_language", "Registrierungssprache"),
    (36, "Newsletter", "special", "newsletter", "Newsletter"),
    (37, "Mobile", "shorttext", "mobile", "Mobiltelefon"),
    (38, "First Name of Partner", "shorttext", "partner_first_name", "Vorname des Partners"),
    (39, "Birthdate of Partner", "birthdate", "partner_birth_date", "Geburtsdatum des Partners"),
    (40, "Anniversary", "date", "anniversary", "Jahrestag"),
    (41, "Company Address", "longtext", "company_address", "Firmenadresse"),
    (42, "Zip Code (office)", "shorttext", "company_zip_code", "PLZ (Büro)"),
    (43, "City (office)", "shorttext", "company_city", "Ort (Büro)"),
    (44, "State (office)", "shorttext", "company_state", "Bundesland (Büro)"),
    (45, "Country (office)", "singlechoice", "company_country", "Land (Büro)"),
    (46, "Salutation", "singlechoice", "salutation", "Anrede"),
    (47, "E-Mail valid", "special", "email_valid", "E-Mail gültig"),
    (
        48,
        "Date of first registration",
        "special",
        "registration_date",
        "Datum der Erstregistrierung",
    ),
)

_CUSTOM: tuple[tuple[int, str, str, str | None, str], ...] = (
    (5001, "Loyalty points", "numeric", "loyalty_points", "Treuepunkte"),
    (5002, "Last purchase", "date", "last_purchase_date", "Letzter Einkauf"),
    (5003, "Legacy notes", "longtext", None, "Alte Notizen"),
    (5004, "Favourite colour", "singlechoice", "favourite_colour", "Lieblingsfarbe"),
    (5005, "Voucher42", "voucher", None, "Voucher42"),
)
# Enough further custom fields that an account can select more than the 20 an
# export takes (the tap then splits the fields over several exports).
_EXTRA: tuple[tuple[int, str, str, str | None, str], ...] = tuple(
    (6000 + n, f"Custom text {n}", "shorttext", f"custom_text_{n}", f"Eigener Text {n}")
    for n in range(1, 17)
) + tuple(
    (6000 + n, f"Custom number {n}", "numeric", f"custom_number_{n}", f"Eigene Zahl {n}")
    for n in range(17, 21)
)


@cache
def all_fields() -> tuple[Field, ...]:
    """Return every field the account has, system fields first."""
    return tuple(Field(*row) for row in _SYSTEM + _CUSTOM + _EXTRA)


@cache
def fields_by_id() -> dict[int, Field]:
    """Return ``{field id: Field}`` for every field."""
    return {f.id: f for f in all_fields()}


@cache
def exportable_ids() -> frozenset[int]:
    """Return the ids that may appear in an export's ``contact_fields``."""
    return frozenset(fields_by_id()) - NOT_EXPORTABLE

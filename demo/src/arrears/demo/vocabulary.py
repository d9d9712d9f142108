"""The words the demo is made of: countries with their languages, currencies, legal forms and
name patterns; first names and surnames; trades, goods and dispute reasons."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Country:
    code: str
    language: str
    currency: str
    weight: int
    vat: Decimal | None
    tld: str
    phone: str
    methods: tuple[str, ...]
    legal_forms: tuple[str, ...]
    patterns: tuple[str, ...]
    """Name patterns over {word}, {surname}, {trade}, {form}."""
    words: tuple[str, ...]
    trades: tuple[str, ...]
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]


_EN_WORDS = (
    "Northwind", "Blue Ridge", "Summit", "Pioneer", "Harbor", "Cedar", "Granite", "Silver Lake",
    "Redwood", "Atlas", "Beacon", "Crescent", "Evergreen", "Falcon", "Keystone", "Lakeside",
    "Meridian", "Oakridge", "Pinnacle", "Riverbend", "Sterling", "Trident", "Vanguard",
    "Westfield", "Ironwood", "Bayside", "Copperfield", "Highland", "Maple Leaf", "Prairie",
)  # fmt: skip
_EN_TRADES = (
    "Logistics", "Foods", "Manufacturing", "Supply", "Electronics", "Outfitters", "Packaging",
    "Building Products", "Textiles", "Automotive", "Hardware", "Medical Supplies", "Energy",
    "Furniture", "Printing", "Chemicals", "Distribution", "Tools", "Paper", "Plastics",
)  # fmt: skip
_EN_FIRST = (
    "James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen", "Daniel", "Emily",
    "Olivia", "Ethan", "Grace", "Noah", "Chloe", "Samuel", "Hannah", "Lucas", "Megan", "Ryan",
)  # fmt: skip
_EN_SURNAMES = (
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Martin", "Clark", "Lewis", "Walker", "Young", "Allen", "Wright", "Scott", "Baker",
)  # fmt: skip
_DE_WORDS = (
    "Nordlicht", "Alpen", "Rhein", "Elbe", "Sonnen", "Berg", "Tal", "Hansa", "Isar", "Main",
    "Weser", "Donau", "Spree", "Harz", "Eifel", "Mosel",
)  # fmt: skip
_DE_TRADES = (
    "Maschinenbau", "Logistik", "Handel", "Elektrotechnik", "Feinkost", "Verpackung", "Bau",
    "Metallwerke", "Kunststoff", "Druck", "Werkzeuge", "Textil", "Medizintechnik", "Antriebe",
)  # fmt: skip
_DE_FIRST = (
    "Jonas", "Lena", "Lukas", "Anna", "Felix", "Marie", "Paul", "Sophie", "Maximilian", "Laura",
    "Tobias", "Julia", "Florian", "Katharina", "Stefan", "Sabine",
)  # fmt: skip
_DE_SURNAMES = (
    "Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch",
    "Richter", "Krüger", "Wagner", "Schulz", "Zimmermann", "Braun", "Hartmann", "Lange",
)  # fmt: skip
_FR_WORDS = (
    "Atlantique", "Provence", "Loire", "Alpes", "Bretagne", "Méditerranée", "Seine", "Rhône",
    "Garonne", "Vosges", "Normandie", "Azur",
)  # fmt: skip
_FR_TRADES = (
    "Distribution", "Transports", "Industries", "Alimentaire", "Emballages", "Électrique",
    "Textiles", "Matériaux", "Équipements", "Imprimerie", "Mécanique", "Services",
)  # fmt: skip
_FR_FIRST = (
    "Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Gabriel", "Inès", "Arthur",
    "Sarah", "Théo", "Juliette", "Antoine", "Claire", "Nicolas",
)  # fmt: skip
_FR_SURNAMES = (
    "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Bonnet", "Fontaine", "Rousseau",
    "Mercier", "Blanc", "Guerin", "Faure", "Chevalier", "Lambert", "Martin", "Bernard",
)  # fmt: skip
_NL_WORDS = (
    "Noordzee", "Polder", "Delta", "Tulp", "Molen", "Amstel", "Maas", "Waal", "Duin", "Zuider",
    "IJssel", "Kempen",
)  # fmt: skip
_NL_TRADES = (
    "Logistiek", "Techniek", "Handel", "Installatie", "Bouw", "Voeding", "Verpakkingen",
    "Elektro", "Metaal", "Transport", "Groothandel", "Kunststoffen",
)  # fmt: skip
_NL_FIRST = (
    "Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Milan", "Sanne", "Bram", "Lotte", "Thijs",
    "Fleur", "Ruben", "Anouk", "Jesse", "Eva",
)  # fmt: skip
_NL_SURNAMES = (
    "de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
)  # fmt: skip

_EN_PATTERNS = ("{word} {trade} {form}", "{word} {trade} {form}", "{surname} & {surname2} {form}")
COUNTRIES: tuple[Country, ...] = (
    Country("US", "en", "USD", 42, None, "com", "+1", ("ACH", "CHECK", "WIRE"),
             ("Inc.", "LLC", "Corp.", "Co."), _EN_PATTERNS, _EN_WORDS, _EN_TRADES, _EN_FIRST,
             _EN_SURNAMES),
    Country("CA", "en", "USD", 5, None, "ca", "+1", ("WIRE", "CHECK"), ("Ltd.", "Inc."),
             _EN_PATTERNS, _EN_WORDS, _EN_TRADES, _EN_FIRST, _EN_SURNAMES),
    Country("GB", "en", "USD", 8, None, "co.uk", "+44", ("WIRE",), ("Ltd", "PLC"),
             _EN_PATTERNS, _EN_WORDS, _EN_TRADES, _EN_FIRST, _EN_SURNAMES),
    Country("DE", "de", "EUR", 14, Decimal(19), "de", "+49", ("SEPA", "WIRE"),
             ("GmbH", "AG", "GmbH & Co. KG"),
             ("{word} {trade} {form}", "{surname} {trade} {form}", "{word}-{trade} {form}"),
             _DE_WORDS, _DE_TRADES, _DE_FIRST, _DE_SURNAMES),
    Country("AT", "de", "EUR", 4, Decimal(20), "at", "+43", ("SEPA",), ("GmbH", "AG"),
             ("{word} {trade} {form}", "{surname} {trade} {form}"),
             _DE_WORDS, _DE_TRADES, _DE_FIRST, _DE_SURNAMES),
    Country("FR", "fr", "EUR", 12, Decimal(20), "fr", "+33", ("SEPA", "WIRE"),
             ("SARL", "SA", "SAS"),
             ("{trade} {surname} {form}", "Groupe {surname} {form}", "{trade} {word} {form}"),
             _FR_WORDS, _FR_TRADES, _FR_FIRST, _FR_SURNAMES),
    Country("BE", "fr", "EUR", 4, Decimal(21), "be", "+32", ("SEPA",), ("SA", "SRL"),
             ("{trade} {surname} {form}", "{trade} {word} {form}"),
             _FR_WORDS, _FR_TRADES, _FR_FIRST, _FR_SURNAMES),
    Country("NL", "nl", "EUR", 11, Decimal(21), "nl", "+31", ("SEPA",), ("B.V.", "N.V."),
             ("{surname} {trade} {form}", "{word} {trade} {form}"),
             _NL_WORDS, _NL_TRADES, _NL_FIRST, _NL_SURNAMES),
)  # fmt: skip
COUNTRY = {c.code: c for c in COUNTRIES}
SALES_REPS = ("Maria Lopez", "Tom Becker", "Aisha Khan", "Pierre Laurent", "Sven Jansen")
CREDIT_GROUPS = ("Key accounts", "Standard", "Small business", "High risk")
DISPUTE_REASONS = (
    ("PRICE", "Customer says the price differs from the agreed quote."),
    ("QUANTITY", "Customer says fewer units arrived than invoiced."),
    ("DAMAGED", "Customer reports part of the delivery arrived damaged."),
    ("NOT_RECEIVED", "Customer says the goods were never received."),
)
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
GOODS = (
    "Monthly supply", "Spare parts", "Consumables", "Service contract", "Standard order",
    "Replenishment order", "Project delivery", "Maintenance kit",
)  # fmt: skip


def ascii_text(text: str) -> str:
    """`text` in plain ASCII (umlauts spelled out, accents dropped)."""
    for special, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(special, plain).replace(special.upper(), plain.capitalize())
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slug(text: str) -> str:
    """Lower-case ASCII letters and digits only, for e-mail addresses and domains."""
    return re.sub(r"[^a-z0-9]+", "", ascii_text(text).lower())

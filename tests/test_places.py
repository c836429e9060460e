"""Place names from CLDR (extractors/places.py): a country or city in any language and script gives its English
name as the destination's value; names that are ordinary words count only as written, or not at all."""

from __future__ import annotations

import datetime as dt

import pytest

from extractors import places
from extractors.engine import Engine
from extractors.rules import load

DATE = dt.date(2025, 1, 15)
RULESET = load()

# (language of the text, text, the destination's value, or False when there is none)
CASES = [
    ("fr", "Merci de nous coter CIF Allemagne, 2 conteneurs.", "Germany"),
    ("fr", "Prix CIF Le Caire s'il vous plaît.", "Cairo"),
    ("de", "Bitte Angebot DAP Vereinigte Arabische Emirate.", "United Arab Emirates"),
    ("de", "Lieferung DDP Kairo, 300 Stück.", "Cairo"),
    ("ru", "Цена CIF Москва, 500 штук.", "Moscow"),
    ("ru", "Прошу цену CIF Германия.", "Germany"),
    ("ar", "نريد السعر CIF دبي من فضلك", "Dubai"),
    ("ar", "السعر CIF ألمانيا", "Germany"),
    ("zh", "请报CIF开罗的价格。", "Cairo"),
    ("zh", "請報CIF德國價格。", "Germany"),
    ("zh", "货物运到香港。", "Hong Kong"),
    ("tr", "Fiyat CIF Kahire olarak lütfen.", "Cairo"),
    ("tr", "Teslimat DAP Birleşik Arap Emirlikleri.", "United Arab Emirates"),
    ("es", "Cotización CIF Nueva York, por favor.", "New York"),
    ("pt", "Preço CIF Alemanha, por favor.", "Germany"),
    ("it", "Prezzo CIF Stati Uniti per favore.", "United States"),
    ("nl", "Graag een prijs CIF Duitsland.", "Germany"),
    ("pl", "Proszę o cenę DDP Warszawa.", "Warsaw"),
    ("sv", "Pris CIF Tyskland tack.", "Germany"),
    ("id", "Mohon harga CIF Jerman.", "Germany"),
    ("en", "Please quote CIF Burma.", "Myanmar"),
    ("en", "Our price basis is DDP Republic of Korea.", "South Korea"),
    ("en", "Lagos DAP please, 20 cartons.", "Lagos"),
    # near misses: an origin term, a word that is a place name elsewhere, a name written as an ordinary word
    ("en", "Please quote FOB Hamburg.", False),
    ("en", "Frozen turkey and china plates for our hotels.", False),
    ("en", "We export to the island of Rhodes by ferry.", False),
    ("es", "Cajas de madera para envío.", False),
    ("pt", "Caixa de madeira com 20 peças.", False),
    ("tr", "Mısır unu ve pirinç istiyoruz.", False),
    ("ru", "Того же качества, что и раньше.", False),
    ("zh", "中非合作论坛的展会样品。", False),
    ("en", "CIF price please.", False),
    ("de", "Wir brauchen Island-Pullover aus Wolle.", False),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(RULESET)


@pytest.mark.parametrize(("lang", "text", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_destination_place(engine: Engine, lang: str, text: str, expected: str | bool) -> None:
    found = engine.run({"text": text}, lang, DATE).findings.get("destination")
    if expected is False:
        assert found is None, f"{text!r}: {found}"
    else:
        assert found is not None and found.value == expected, f"{text!r}: {found}"


# (CLDR locale, name, its English name)
NAMES = [
    ("fr", "Allemagne", "Germany"), ("de", "Deutschland", "Germany"), ("ru", "Германия", "Germany"),
    ("ar", "ألمانيا", "Germany"), ("zh", "德国", "Germany"), ("zh_Hant", "德國", "Germany"), ("tr", "Almanya", "Germany"),
    ("en", "Myanmar", "Myanmar"), ("en", "Burma", "Myanmar"), ("en", "Hong Kong", "Hong Kong"),
    ("zh", "香港", "Hong Kong"), ("en", "Bosnia and Herzegovina", "Bosnia & Herzegovina"), ("en", "Viet Nam", "Vietnam"),
]


@pytest.mark.parametrize(("locale", "name", "canonical"), NAMES, ids=[f"{n[0]}-{n[1]}" for n in NAMES])
def test_cldr_territory_names(locale: str, name: str, canonical: str) -> None:
    assert dict(places.names("territories", locale)).get(name) == canonical


def test_cities_are_exemplar_cities_without_stations() -> None:
    cities = dict(places.names("cities", "en"))
    assert cities["Dubai"] == "Dubai" and cities["São Paulo"] == "São Paulo" and cities["Kolkata"] == "Kolkata"
    assert "Vostok" not in cities and "Center" not in cities and "GMT+3" not in " ".join(cities)
    assert dict(places.names("cities", "fr"))["Le Caire"] == "Cairo"


def test_case_of_generated_names() -> None:
    terms = RULESET.vocab_terms("countries", "en")
    assert "Turkey" in terms.case_sensitive and "Turkey" not in terms.terms  # a bird in lowercase
    assert "Того" in terms.case_sensitive  # four letters or less: as written ("того" is a Russian pronoun)
    assert "Deutschland" in terms.terms  # matched in any case
    assert "Island" not in terms.terms + terms.case_sensitive  # excluded: Iceland in German, an English word
    assert terms.canonical["allemagne"] == "Germany"


def test_languages_with_rules_take_their_own_names() -> None:
    es = RULESET.vocab_terms("countries", "es")
    assert "Alemania" in es.terms and "Germany" in es.terms  # Spanish and English names
    assert "Niemcy" not in es.terms  # Polish names are for Polish mail ...
    assert "Niemcy" in RULESET.vocab_terms("countries", "en").terms  # ... which the English rules read (no Polish rules)


def test_unknown_locale_is_refused(tmp_path) -> None:
    from extractors.core.errors import RulesError

    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "places.toml").write_text('[vocab.towns]\ncldr = "cities"\nlocales = ["xx_YY"]\n')
    with pytest.raises(RulesError, match="unknown CLDR locale 'xx_YY'"):
        load(overlay=tmp_path)

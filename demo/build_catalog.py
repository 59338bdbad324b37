"""Generate the demo world's catalog (``waypoint/demo/data/catalog.jsonl``).

The catalog is built from the hand-written tables below. There is no randomness:
every variation (prices, tags, regions, caps ...) is derived from table positions,
so running ``python -m demo.build_catalog`` always writes the same bytes.

Everything here is fictional: brands, models, books and authors were invented for
the demo by the Waypoint authors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domain.actions import Action

DATA_DIR = Path(__file__).resolve().parent / "data"
CATALOG_PATH = DATA_DIR / "catalog.jsonl"

Row = dict[str, Any]

# Frequently used region and channel sets.
DACH = ["DE", "AT", "CH"]
EU_STORES = ["DE", "AT", "FR"]
DIGITAL = ["web", "app", "email"]
SELF_SERVICE = ["web", "app", "chat"]
NOT_CONTACT_CENTER = ["web", "app", "email", "store", "chat"]

# Validity windows (the demo "now" is late November 2026).
BLACK_FRIDAY = ("2026-11-20T00:00:00Z", "2026-12-01T23:59:59Z")
CHRISTMAS = ("2026-11-15T00:00:00Z", "2026-12-24T23:59:59Z")
WINTER = ("2026-11-01T00:00:00Z", "2027-02-28T23:59:59Z")
SUMMER_SALE = ("2026-06-15T00:00:00Z", "2026-08-31T23:59:59Z")  # expired
BACK_TO_SCHOOL = ("2026-08-15T00:00:00Z", "2026-09-30T23:59:59Z")  # expired
NEW_YEAR = ("2027-01-02T00:00:00Z", "2027-01-31T23:59:59Z")  # future
SPRING = ("2027-03-01T00:00:00Z", "2027-04-15T23:59:59Z")  # future

DAY = 86_400


def seg(name: str) -> dict[str, Any]:
    return {"field": "profile.segments", "op": "contains", "value": name}


def not_seg(name: str) -> dict[str, Any]:
    return {"field": "profile.segments", "op": "not_contains", "value": name}


def tenure_at_least(months: int) -> dict[str, Any]:
    return {"field": "profile.tenure_months", "op": "gte", "value": months}


def cap(max_impressions: int, per_seconds: int) -> dict[str, int]:
    return {"max_impressions": max_impressions, "per_seconds": per_seconds}


def titles(en: str | None, de: str | None = None, fr: str | None = None) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang, text in (("en", en), ("de", de), ("fr", fr)):
        if text:
            out[lang] = text
    return out


def make(
    id_: str,
    kind: str,
    category: str,
    title: dict[str, str],
    *,
    description: dict[str, str] | None = None,
    tags: Sequence[str] = (),
    channels: Sequence[str] = (),
    regions: Sequence[str] = (),
    window: tuple[str, str] | None = None,
    value: float = 0.0,
    price: float | None = None,
    eligibility: Sequence[dict[str, Any]] = (),
    cap_: dict[str, int] | None = None,
    explore: bool = True,
) -> Row:
    row: Row = {"id": id_, "kind": kind, "category": category, "title": title}
    if description:
        row["description"] = description
    if tags:
        row["tags"] = sorted(set(tags))
    if channels:
        row["channels"] = list(channels)
    if regions:
        row["regions"] = list(regions)
    if window:
        row["valid_from"], row["valid_to"] = window
    row["value"] = round(value, 2)
    if price is not None:
        row["price"] = round(price, 2)
    if eligibility:
        row["eligibility"] = list(eligibility)
    if cap_:
        row["cap"] = cap_
    if not explore:
        row["explore"] = False
    return row


# ---------------------------------------------------------------------------
# Books
# ---------------------------------------------------------------------------

# (en, de, fr, author, extra tags). An empty de/fr means "not available in it".
BookRow = tuple[str, str, str, str, str]

# fmt: off
BOOKS: dict[str, list[BookRow]] = {
    "fiction/crime": [
        ("The Quiet Harbour Murders", "Die Morde am stillen Hafen",
         "Les Meurtres du port tranquille", "Maren Holt", "detective series nordic"),
        ("A Body in the Vineyard", "Eine Leiche im Weinberg", "Un corps dans la vigne",
         "Claude Ferrand", "detective cosy"),
        ("Cold Ledger", "Kaltes Kontobuch", "Registre glacé", "Tobias Reinke",
         "thriller financial"),
        ("The Ninth Witness", "Der neunte Zeuge", "Le Neuvième Témoin", "Ada Winslow",
         "courtroom thriller"),
        ("Night Train to Ostend", "Nachtzug nach Ostende", "Train de nuit pour Ostende",
         "Pieter Vandamme", "thriller spy"),
        ("Inspector Lenz and the Glass Key", "Kommissar Lenz und der gläserne Schlüssel",
         "L'Inspecteur Lenz et la clé de verre", "Hanna Albrecht", "detective series"),
        ("Salt and Silence", "Salz und Schweigen", "Sel et silence", "Maren Holt",
         "detective nordic series"),
        ("The Last Alibi", "Das letzte Alibi", "Le Dernier Alibi", "Ada Winslow", "whodunit"),
        ("Murder at the Alpine Lodge", "Mord in der Berghütte", "Meurtre au chalet",
         "Lukas Brunner", "whodunit cosy"),
        ("Red Tide Rising", "Rote Flut", "Marée rouge", "Jonah Creel", "thriller"),
        ("The Pawnbroker's Daughter", "Die Tochter des Pfandleihers", "La Fille du prêteur",
         "Eliza Marsh", "historical detective"),
        ("Silent Partner", "Stiller Teilhaber", "Associé silencieux", "Tobias Reinke",
         "thriller financial"),
        ("Dead Reckoning on the Seine", "Tod an der Seine", "Mort sur la Seine", "Claude Ferrand",
         "detective paris"),
        ("The Lighthouse Keeper's Secret", "", "", "Gwen Pellow", "cosy whodunit"),
    ],
    "fiction/romance": [
        ("Letters from Lisbon", "Briefe aus Lissabon", "Lettres de Lisbonne", "Sofia Mendel",
         "historical"),
        ("A Summer in Provence", "Ein Sommer in der Provence", "Un été en Provence",
         "Juliette Arnaud", "feelgood"),
        ("The Bookshop on Rosen Lane", "Der Buchladen in der Rosengasse",
         "La Librairie de la rue des Roses", "Clara Weiss", "feelgood"),
        ("Snowbound in Vermont", "Eingeschneit in Vermont", "Bloqués par la neige", "Hailey Brooks",
         "christmas feelgood"),
        ("Second Chances", "Zweite Chancen", "Secondes chances", "Marta Lindqvist", "contemporary"),
        ("The Duke's Wager", "Die Wette des Herzogs", "Le Pari du duc", "Philippa Crane",
         "historical regency"),
        ("Under the Lemon Trees", "Unter den Zitronenbäumen", "Sous les citronniers",
         "Sofia Mendel", "feelgood italy"),
        ("Stay for Dinner", "Bleib zum Essen", "Reste dîner", "Noah Ellery", "contemporary"),
        ("Mistletoe Café", "Café Mistelzweig", "", "Hailey Brooks", "christmas feelgood"),
        ("Between Two Harbours", "Zwischen zwei Häfen", "Entre deux ports", "Marta Lindqvist",
         "contemporary nordic"),
    ],
    "fiction/scifi": [
        ("The Orbit of Small Things", "Die Umlaufbahn der kleinen Dinge",
         "L'Orbite des petites choses", "Ravi Okonkwo", "space literary"),
        ("Colony Nine", "Kolonie Neun", "Colonie Neuf", "Dana Voss", "space adventure"),
        ("Signal from Kepler", "Signal von Kepler", "Signal de Kepler", "Ivo Sterling",
         "first_contact"),
        ("The Memory Merchants", "Die Gedächtnishändler", "Les Marchands de mémoire",
         "Yara Lindholm", "cyberpunk"),
        ("Drift Protocol", "Drift-Protokoll", "Protocole Dérive", "Dana Voss", "space military"),
        ("Glass Cities", "Gläserne Städte", "Villes de verre", "Ravi Okonkwo", "dystopia climate"),
        ("The Long Winter of Mars", "Der lange Winter des Mars", "Le Long Hiver de Mars",
         "Ivo Sterling", "space survival"),
        ("Ghosts in the Lattice", "Geister im Gitter", "Fantômes dans le réseau", "Yara Lindholm",
         "cyberpunk ai"),
        ("Tomorrow's Cartographer", "Der Kartograf von morgen", "Le Cartographe de demain",
         "Mei Aldana", "time_travel"),
        ("Starlight Freight", "", "", "Connor Blake", "space adventure humour"),
    ],
    "fiction/fantasy": [
        ("The Ember Crown", "Die Glutkrone", "La Couronne de braise", "Liora Vance", "epic series"),
        ("Song of the Salt Witch", "Das Lied der Salzhexe", "Le Chant de la sorcière du sel",
         "Bryn Talley", "witches"),
        ("The Clockwork Forest", "Der Uhrwerkwald", "La Forêt mécanique", "Oskar Wendt",
         "steampunk"),
        ("Heir of Nine Rivers", "Erbin der neun Flüsse", "L'Héritière des neuf rivières",
         "Liora Vance", "epic series"),
        ("Dragons of the Pale Coast", "Drachen der bleichen Küste", "Les Dragons de la côte pâle",
         "Mattias Kroll", "dragons epic"),
        ("The Apprentice of Ashfall", "Der Lehrling von Aschfall", "L'Apprenti de Cendrefall",
         "Bryn Talley", "coming_of_age"),
        ("A Court of Lanterns", "Ein Hof aus Laternen", "Une cour de lanternes", "Selene Farrow",
         "romantasy"),
        ("The Map That Lied", "Die Karte, die log", "La Carte qui mentait", "Oskar Wendt",
         "adventure humour"),
        ("Moonwell", "Mondbrunnen", "Puits de lune", "Selene Farrow", "romantasy"),
        ("The Goblin Accountant", "Der Koboldbuchhalter", "Le Comptable gobelin", "Mattias Kroll",
         "humour"),
    ],
    "nonfiction/cooking": [
        ("Thirty-Minute Weeknights", "Feierabendküche in 30 Minuten",
         "Dîners express en 30 minutes", "Lena Hartmann", "quick family"),
        ("The Green Kitchen Table", "Der grüne Küchentisch", "La Table verte", "Anouk Peeters",
         "vegetarian"),
        ("Bread, Simply", "Einfach Brot", "Le Pain, tout simplement", "Jakob Feld", "baking bread"),
        ("One Pot, Many Friends", "Ein Topf, viele Freunde", "Une marmite, des amis", "Rosa Marin",
         "family budget"),
        ("Alpine Comfort Food", "Alpine Wohlfühlküche", "Cuisine réconfortante des Alpes",
         "Lukas Brunner", "regional"),
        ("Plant Power Bowls", "Power-Bowls aus Pflanzen", "Bols végétaux", "Anouk Peeters",
         "vegan healthy"),
        ("The Little Patisserie", "Die kleine Patisserie", "La Petite Pâtisserie", "Camille Roux",
         "baking dessert"),
        ("Spice Route Suppers", "Abendessen entlang der Gewürzstraße",
         "Dîners de la route des épices", "Priya Nair", "world_cuisine"),
        ("Christmas Baking Book", "Das Weihnachtsbackbuch", "Pâtisseries de Noël", "Jakob Feld",
         "baking christmas"),
        ("Air Fryer Every Day", "Heißluftfritteuse für jeden Tag", "Air fryer au quotidien",
         "Rosa Marin", "quick gadget"),
    ],
    "nonfiction/travel": [
        ("Slow Roads through Portugal", "Langsam durch Portugal", "Routes lentes du Portugal",
         "Miguel Sarto", "guide europe"),
        ("Hidden Villages of the Alps", "Verborgene Dörfer der Alpen", "Villages cachés des Alpes",
         "Lukas Brunner", "guide hiking"),
        ("Rail Journeys of Europe", "Bahnreisen durch Europa", "Voyages en train en Europe",
         "Eva Kranz", "rail europe"),
        ("Nordic Light", "Nordisches Licht", "Lumière du Nord", "Maren Holt",
         "photography scandinavia"),
        ("48 Hours in Twenty Cities", "48 Stunden in zwanzig Städten",
         "48 heures dans vingt villes", "Eva Kranz", "city_break"),
        ("The Coast Path Companion", "Begleiter für den Küstenweg", "Le Compagnon du sentier",
         "Gwen Pellow", "hiking coast"),
        ("Japan on a Budget", "Japan mit kleinem Budget", "Le Japon petit budget", "Kenji Ward",
         "guide budget asia"),
        ("Island Hopping in Greece", "Inselhüpfen in Griechenland", "D'île en île en Grèce",
         "Daphne Kallis", "guide islands"),
        ("Van Life Handbook", "Das Vanlife-Handbuch", "Le Guide de la vie en van", "Noah Ellery",
         "camping"),
        ("Weekend Walks around Lyon", "", "Balades autour de Lyon", "Camille Roux",
         "hiking france"),
    ],
    "nonfiction/business": [
        ("The Patient Founder", "Der geduldige Gründer", "Le Fondateur patient", "Helen Strand",
         "startup"),
        ("Small Numbers, Big Decisions", "Kleine Zahlen, große Entscheidungen",
         "Petits chiffres, grandes décisions", "Marc Oberle", "finance management"),
        ("Meetings That Matter", "Meetings mit Wirkung", "Des réunions qui comptent", "Priya Nair",
         "productivity"),
        ("The Quiet Leader", "Die leise Führungskraft", "Le Leader discret", "Helen Strand",
         "leadership"),
        ("Pricing Without Fear", "Preise ohne Angst", "Fixer ses prix sans peur", "Marc Oberle",
         "marketing"),
        ("Remote by Design", "Remote mit System", "Le Télétravail bien pensé", "Sam Okafor",
         "remote_work"),
        ("The Customer Compass", "Der Kundenkompass", "La Boussole client", "Sam Okafor",
         "marketing customer"),
        ("Money Basics for Freelancers", "Finanzen für Freiberufler",
         "Les Bases financières du freelance", "Lea Winter", "finance freelance"),
        ("Negotiating in Good Faith", "Verhandeln mit Vertrauen", "Négocier de bonne foi",
         "Ada Winslow", "negotiation"),
        ("Data for Decision Makers", "", "", "Ravi Okonkwo", "data analytics"),
    ],
    "children/picture_books": [
        ("The Bear Who Couldn't Sleep", "Der Bär, der nicht schlafen konnte",
         "L'Ours qui ne pouvait pas dormir", "Mila Sommer", "bedtime ages_3_5"),
        ("Pip and the Big Red Bus", "Pip und der große rote Bus", "Pip et le grand bus rouge",
         "Tom Hadley", "vehicles ages_2_4"),
        ("A Dragon for Breakfast", "Ein Drache zum Frühstück", "Un dragon au petit-déjeuner",
         "Mila Sommer", "humour ages_4_6"),
        ("Counting Stars", "Sterne zählen", "Compter les étoiles", "Aiko Lund", "bedtime numbers"),
        ("The Snow Fox", "Der Schneefuchs", "Le Renard des neiges", "Aiko Lund",
         "winter animals christmas"),
        ("Grandpa's Garden", "Opas Garten", "Le Jardin de Papi", "Tom Hadley", "family nature"),
        ("Where Do Puddles Go?", "Wohin gehen die Pfützen?", "Où vont les flaques ?", "Nell Barrow",
         "science ages_4_6"),
        ("Little Owl Goes to School", "Kleine Eule kommt in die Schule",
         "Petite Chouette va à l'école", "Nell Barrow", "school ages_4_6"),
    ],
    "children/young_adult": [
        ("The Summer We Ran", "Der Sommer, in dem wir rannten", "L'Été où nous avons couru",
         "Jess Corrigan", "coming_of_age"),
        ("Academy of Storms", "Akademie der Stürme", "L'Académie des tempêtes", "Liora Vance",
         "fantasy school"),
        ("Code Name: Robin", "Deckname: Robin", "Nom de code : Robin", "Finn Aldous",
         "spy adventure"),
        ("Paper Planets", "Papierplaneten", "Planètes de papier", "Jess Corrigan",
         "scifi friendship"),
        ("The Detective Club of Elm Street", "Der Detektivclub aus der Ulmenstraße",
         "Le Club des détectives de la rue des Ormes", "Finn Aldous", "mystery detective"),
        ("Wild Horses of the Moor", "Wilde Pferde im Moor", "Chevaux sauvages de la lande",
         "Nell Barrow", "animals adventure"),
        ("Level Up", "Level Up", "Niveau supérieur", "Kai Brenner", "gaming friendship"),
        ("The Girl Who Mapped the Sky", "Das Mädchen, das den Himmel kartierte",
         "La Fille qui cartographiait le ciel", "Mei Aldana", "science inspiring"),
    ],
}
# fmt: on

BOOK_PRICES = (9.99, 12.99, 14.99, 11.5, 16.99, 19.99, 22.0, 13.49, 24.99, 10.99)
CHILDREN_PRICES = (7.99, 9.99, 12.99, 8.5, 14.99)

GENRE_TAGS = {
    "fiction/crime": ("crime", "fiction"),
    "fiction/romance": ("romance", "fiction"),
    "fiction/scifi": ("scifi", "fiction"),
    "fiction/fantasy": ("fantasy", "fiction"),
    "nonfiction/cooking": ("cooking", "nonfiction"),
    "nonfiction/travel": ("travel", "nonfiction"),
    "nonfiction/business": ("business", "nonfiction"),
    "children/picture_books": ("children", "picture_book"),
    "children/young_adult": ("young_adult", "teen"),
}

BOOK_BLURBS = {
    "fiction/crime": ("A gripping crime novel.", "Ein fesselnder Krimi.", "Un polar captivant."),
    "fiction/romance": (
        "A heart-warming love story.",
        "Eine herzerwärmende Liebesgeschichte.",
        "Une histoire d'amour touchante.",
    ),
    "fiction/scifi": (
        "Science fiction with big ideas.",
        "Science-Fiction voller Ideen.",
        "De la science-fiction pleine d'idées.",
    ),
    "fiction/fantasy": (
        "An immersive fantasy adventure.",
        "Ein mitreißendes Fantasy-Abenteuer.",
        "Une aventure fantastique immersive.",
    ),
    "nonfiction/cooking": (
        "Recipes to cook at home.",
        "Rezepte zum Nachkochen.",
        "Des recettes à cuisiner chez soi.",
    ),
    "nonfiction/travel": ("A travel guide.", "Ein Reiseführer.", "Un guide de voyage."),
    "nonfiction/business": (
        "A business book.",
        "Ein Wirtschaftsbuch.",
        "Un livre d'économie et de management.",
    ),
    "children/picture_books": (
        "A picture book for young children.",
        "Ein Bilderbuch für kleine Kinder.",
        "Un album illustré pour les petits.",
    ),
    "children/young_adult": (
        "For teenage readers.",
        "Für junge Leser im Teenageralter.",
        "Pour les lecteurs adolescents.",
    ),
}


def slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in text.lower())
    return "_".join(part for part in out.split("_") if part)


def build_books() -> list[Row]:
    rows: list[Row] = []
    n = 0
    for category, books in BOOKS.items():
        genre_tags = GENRE_TAGS[category]
        prices = CHILDREN_PRICES if category.startswith("children") else BOOK_PRICES
        blurb = BOOK_BLURBS.get(category)
        for i, (en, de, fr, author, extra) in enumerate(books):
            n += 1
            price = prices[(n * 7) % len(prices)]
            tags = [*genre_tags, *extra.split(), "author_" + slug(author)]
            if n % 6 == 0 or "christmas" in extra:
                tags.append("gift")
            if i == 0:
                tags.append("bestseller")
            title = titles(en, de, fr)
            description = None
            if blurb:
                description = {
                    lang: text
                    for lang, text in zip(("en", "de", "fr"), blurb, strict=True)
                    if lang in title
                }
            rows.append(
                make(
                    f"bk-{n:04d}",
                    "product",
                    f"books/{category}",
                    title,
                    description=description,
                    tags=tags,
                    value=min(8.0, max(2.0, price * 0.3)),
                    price=price,
                )
            )
    # German-only titles from a small regional publisher.
    for en_less_de, author, category, extra in (
        ("Tatort Bodensee", "Hanna Albrecht", "fiction/crime", "regional detective"),
        ("Schwäbische Landküche", "Lena Hartmann", "nonfiction/cooking", "regional"),
        ("Wandern im Allgäu", "Eva Kranz", "nonfiction/travel", "hiking regional"),
    ):
        n += 1
        rows.append(
            make(
                f"bk-{n:04d}",
                "product",
                f"books/{category}",
                titles(None, en_less_de),
                tags=[*GENRE_TAGS[category], *extra.split(), "author_" + slug(author)],
                regions=DACH,
                value=4.0,
                price=15.0,
            )
        )
    # Guides, bundles and seasonal offers.
    # fmt: off
    extras: list[Row] = [
        make("bk-0901", "content", "books/guides/reading_lists",
             titles("Ten crime novels for long winter nights", "Zehn Krimis für lange Winterabende",
                    "Dix polars pour les longues soirées d'hiver"),
             tags=["crime", "reading_list", "winter"], value=1.0),
        make("bk-0902", "content", "books/guides/reading_lists",
             titles("Books to give this Christmas", "Bücher zum Verschenken an Weihnachten",
                    "Des livres à offrir à Noël"),
             tags=["gift", "christmas", "reading_list"], value=1.5, window=CHRISTMAS),
        make("bk-0903", "content", "books/guides/reading_lists",
             titles("Where to start with fantasy", "Der Einstieg in die Fantasy",
                    "Par où commencer en fantasy"),
             tags=["fantasy", "reading_list"], value=1.0),
        make("bk-0904", "offer", "books/deals",
             titles("3 for 2 on all paperbacks", "3 für 2 auf alle Taschenbücher",
                    "3 livres de poche pour le prix de 2"),
             tags=["bundle", "paperback", "gift"], value=6.0, window=CHRISTMAS,
             channels=NOT_CONTACT_CENTER),
        make("bk-0905", "offer", "books/deals",
             titles("Summer reading sale: 20% off", "Sommerlektüre: 20 % Rabatt",
                    "Lectures d'été : -20 %"),
             tags=["sale", "summer"], value=3.0, window=SUMMER_SALE),
        make("bk-0906", "offer", "books/deals",
             titles("New Year, new reads: ebook credit", "Neues Jahr, neue Bücher: E-Book-Guthaben",
                    "Nouvelle année, nouvelles lectures : crédit e-book"),
             tags=["ebook", "new_year"], value=2.5, window=NEW_YEAR),
        make("bk-0907", "offer", "books/deals",
             titles("Student discount: 10% off textbooks and novels",
                    "Studentenrabatt: 10 % auf Fachbücher und Romane",
                    "Réduction étudiante : -10 % sur manuels et romans"),
             tags=["student", "discount"], value=3.0, eligibility=[seg("student")]),
        make("bk-0908", "product", "books/gift_cards",
             titles("Book gift card", "Buch-Geschenkkarte", "Carte cadeau livres"),
             tags=["gift", "gift_card"], value=2.0, price=25.0),
    ]
    # fmt: on
    return rows + extras


# ---------------------------------------------------------------------------
# Home appliances
# ---------------------------------------------------------------------------

# Per category: (en noun, de noun, fr noun) and variants
# (model, en spec, de spec, fr spec, tags, price).
Variant = tuple[str, str, str, str, str, float]

APPLIANCE_BRANDS = ("Nordvik", "Aurelle", "Brightwell", "Kessmann", "Lumo", "Vantor", "Orsay")

# fmt: off
APPLIANCES: dict[str, tuple[tuple[str, str, str], list[Variant]]] = {
    "dishwashers": (
        ("dishwasher", "Geschirrspüler", "Lave-vaisselle"),
        [
            ("DW-450", "fully integrated, 60 cm", "vollintegriert, 60 cm", "tout intégrable, 60 cm",
             "integrated energy_efficient", 649.0),
            ("DW-300", "freestanding, 60 cm", "freistehend, 60 cm", "pose libre, 60 cm",
             "freestanding", 429.0),
            ("Slim 45", "slimline, 45 cm", "schmal, 45 cm", "étroit, 45 cm",
             "slimline small_kitchen", 479.0),
            ("Silence Pro", "extra quiet 39 dB", "extra leise 39 dB", "ultra silencieux 39 dB",
             "quiet energy_efficient", 799.0),
            ("EcoWash A", "energy class A", "Energieklasse A", "classe énergétique A",
             "energy_efficient eco", 899.0),
            ("Compact 6", "countertop, 6 place settings", "Tischgerät, 6 Maßgedecke",
             "compact de table, 6 couverts", "compact small_kitchen", 299.0),
            ("DW-600 Wi", "with app control", "mit App-Steuerung", "avec pilotage par appli",
             "smart connected", 949.0),
        ],
    ),
    "washing_machines": (
        ("washing machine", "Waschmaschine", "Lave-linge"),
        [
            ("WM-8", "8 kg, 1400 rpm", "8 kg, 1400 U/min", "8 kg, 1400 tr/min", "front_loader",
             499.0),
            ("WM-9 Steam", "9 kg with steam care", "9 kg mit Dampfpflege", "9 kg avec soin vapeur",
             "steam energy_efficient", 699.0),
            ("TopLoad 6", "top loader, 6 kg", "Toplader, 6 kg", "top, 6 kg",
             "top_loader small_space", 449.0),
            ("EcoSpin A", "energy class A, 10 kg", "Energieklasse A, 10 kg", "classe A, 10 kg",
             "energy_efficient eco family", 849.0),
            ("Duo 8/5", "washer dryer, 8/5 kg", "Waschtrockner, 8/5 kg", "lavante-séchante, 8/5 kg",
             "washer_dryer", 899.0),
            ("WM-7 Quiet", "7 kg, extra quiet", "7 kg, extra leise", "7 kg, très silencieux",
             "quiet", 459.0),
        ],
    ),
    "dryers": (
        ("tumble dryer", "Wäschetrockner", "Sèche-linge"),
        [
            ("HP-8", "heat pump, 8 kg", "Wärmepumpe, 8 kg", "pompe à chaleur, 8 kg",
             "heat_pump energy_efficient", 699.0),
            ("HP-9 Plus", "heat pump, 9 kg, A+++", "Wärmepumpe, 9 kg, A+++",
             "pompe à chaleur, 9 kg, A+++", "heat_pump energy_efficient", 849.0),
            ("Cond 7", "condenser, 7 kg", "Kondensation, 7 kg", "à condensation, 7 kg", "condenser",
             429.0),
        ],
    ),
    "fridges": (
        ("fridge freezer", "Kühl-Gefrierkombination", "Réfrigérateur-congélateur"),
        [
            ("FF-185", "185 cm, No Frost", "185 cm, No Frost", "185 cm, No Frost", "no_frost",
             699.0),
            ("FF-201 Eco", "201 cm, energy class B", "201 cm, Energieklasse B", "201 cm, classe B",
             "energy_efficient no_frost", 999.0),
            ("Side by Side 90", "American style with ice maker",
             "Side-by-Side mit Eiswürfelbereiter", "américain avec machine à glaçons",
             "side_by_side family", 1499.0),
            ("Undercounter 85", "under-counter, 85 cm", "unterbaufähig, 85 cm", "sous plan, 85 cm",
             "compact small_kitchen", 349.0),
            ("Retro 50", "retro design, mint green", "Retro-Design, mintgrün",
             "design rétro, vert menthe", "design retro gift", 899.0),
            ("FF-178 Int", "built-in, 178 cm", "Einbau, 178 cm", "encastrable, 178 cm",
             "integrated", 1099.0),
        ],
    ),
    "ovens": (
        ("oven", "Backofen", "Four"),
        [
            ("BO-60 Pyro", "built-in with pyrolytic cleaning", "Einbau mit Pyrolyse",
             "encastrable à pyrolyse", "pyrolytic integrated", 749.0),
            ("BO-60 Steam", "built-in with steam assist", "Einbau mit Dampfunterstützung",
             "encastrable avec vapeur", "steam integrated", 899.0),
            ("Range 90", "range cooker, 90 cm", "Standherd, 90 cm", "piano de cuisson, 90 cm",
             "range_cooker family", 1299.0),
            ("Combi 45", "=compact combi microwave oven", "=Kompakt-Kombi-Mikrowelle",
             "=four combiné micro-ondes compact", "compact microwave", 599.0),
            ("Mini 28", "=countertop mini oven, 28 l", "=Minibackofen, 28 l", "=mini-four, 28 l",
             "compact small_kitchen", 129.0),
            ("Induction Set 60", "=oven with induction hob set",
             "=Backofen-Set mit Induktionskochfeld", "=ensemble four et table à induction",
             "induction integrated", 1199.0),
        ],
    ),
    "vacuum_cleaners": (
        ("vacuum cleaner", "Staubsauger", "Aspirateur"),
        [
            ("Stick V12", "cordless stick", "Akku-Stielsauger", "balai sans fil", "cordless",
             299.0),
            ("Robo R5", "robot with mopping", "Saugroboter mit Wischfunktion", "robot laveur",
             "robot smart", 449.0),
            ("Robo R3", "robot, app controlled", "Saugroboter, App-gesteuert",
             "robot, piloté par appli", "robot smart", 249.0),
            ("Classic 700", "bagged, 700 W", "mit Beutel, 700 W", "avec sac, 700 W",
             "bagged energy_efficient", 139.0),
            ("PetPro", "cordless for pet hair", "Akku-Sauger für Tierhaare",
             "sans fil spécial poils d'animaux", "cordless pets", 349.0),
            ("Handy H2", "handheld", "Handstaubsauger", "aspirateur à main",
             "handheld compact gift", 79.0),
        ],
    ),
    "coffee_machines": (
        ("coffee machine", "Kaffeemaschine", "Machine à café"),
        [
            ("Barista B7", "bean to cup", "Kaffeevollautomat", "broyeur automatique", "bean_to_cup",
             599.0),
            ("Barista B9 Milk", "bean to cup with milk system", "Vollautomat mit Milchsystem",
             "broyeur avec système lait", "bean_to_cup milk", 849.0),
            ("Espresso E2", "portafilter espresso machine", "Siebträgermaschine",
             "machine expresso à porte-filtre", "espresso manual", 449.0),
            ("Pod P1", "capsule machine", "Kapselmaschine", "machine à capsules",
             "capsule compact gift", 89.0),
            ("Filter F10", "filter coffee maker with timer", "Filterkaffeemaschine mit Timer",
             "cafetière filtre programmable", "filter", 69.0),
            ("Milk Frother M1", "=milk frother", "=Milchaufschäumer", "=mousseur à lait",
             "accessory gift", 49.0),
        ],
    ),
    "small_appliances": (
        ("kitchen appliance", "Küchengerät", "Appareil de cuisine"),
        [
            ("AirCrisp 5", "air fryer, 5 l", "Heißluftfritteuse, 5 l", "friteuse sans huile, 5 l",
             "air_fryer gift", 119.0),
            ("Blend 1200", "high-speed blender", "Hochleistungsmixer", "blender haute vitesse",
             "blender", 149.0),
            ("Kettle K3", "temperature-control kettle", "Wasserkocher mit Temperaturwahl",
             "bouilloire à température réglable", "kettle gift", 59.0),
            ("ChefMix 6", "stand mixer", "Küchenmaschine", "robot pâtissier", "baking gift", 399.0),
        ],
    ),
}
# fmt: on


# Categories whose variant spec already names the product ("USB-C charger").
SPEC_IS_NOUN = frozenset({"accessories", "small_appliances"})


def product_title(
    brand: str,
    model: str,
    nouns: tuple[str, str, str],
    specs: tuple[str, str, str],
    category: str,
) -> dict[str, str]:
    """Title a branded product in en/de/fr.

    Normally "<brand> <model> <noun>, <spec>" (French puts the noun first). A spec
    starting with "=" (or any spec in SPEC_IS_NOUN categories) is itself the noun phrase.
    """
    (en_noun, de_noun, fr_noun), (en, de, fr) = nouns, specs
    if category in SPEC_IS_NOUN or en.startswith("="):
        en, de, fr = (spec.removeprefix("=") for spec in (en, de, fr))
        fr_head, _, fr_rest = fr.partition(", ")
        return titles(
            f"{brand} {model} {en}",
            f"{brand} {model} {de}",
            f"{fr_head[:1].upper()}{fr_head[1:]} {brand} {model}"
            + (f", {fr_rest}" if fr_rest else ""),
        )
    return titles(
        f"{brand} {model} {en_noun}, {en}",
        f"{brand} {model} {de_noun}, {de}",
        f"{fr_noun} {brand} {model}, {fr}",
    )


# Everyday names of each product category in en/de/fr (the catalog's synonyms: a customer
# types "Spülmaschine", "frigo" or "telly", the titles say "Geschirrspüler", "réfrigérateur"
# and "TV"); they go into the products' descriptions, in the title's languages only.
# fmt: off
SYNONYMS: dict[str, tuple[str, str, str]] = {
    "dishwashers": ("dishwasher, dish washer", "Geschirrspüler, Spülmaschine",
                    "lave-vaisselle"),
    "washing_machines": ("washing machine, washer", "Waschmaschine",
                         "lave-linge, machine à laver"),
    "dryers": ("tumble dryer, clothes dryer", "Wäschetrockner, Trockner", "sèche-linge"),
    "fridges": ("fridge, refrigerator, freezer", "Kühlschrank, Gefrierschrank",
                "réfrigérateur, frigo, congélateur"),
    "ovens": ("oven, cooker", "Backofen, Ofen", "four, cuisinière"),
    "vacuum_cleaners": ("vacuum cleaner, hoover", "Staubsauger, Sauger", "aspirateur"),
    "coffee_machines": ("coffee machine, coffee maker", "Kaffeemaschine",
                        "machine à café, cafetière"),
    "phones": ("smartphone, mobile phone, cell phone", "Smartphone, Handy, Mobiltelefon",
               "smartphone, téléphone portable, mobile"),
    "laptops": ("laptop, notebook computer", "Laptop, Notebook",
                "ordinateur portable, PC portable, ordi"),
    "tvs": ("TV, television, telly", "Fernseher, Fernsehgerät", "téléviseur, télévision, télé"),
    "headphones": ("headphones, headset", "Kopfhörer", "casque audio, écouteurs"),
    "tablets": ("tablet", "Tablet", "tablette"),
    "cameras": ("camera", "Kamera, Fotoapparat", "appareil photo, caméra"),
}
# fmt: on


def synonyms(category: str, title: dict[str, str]) -> dict[str, str] | None:
    """The everyday names of ``category`` as a description, in the title's languages."""
    names = SYNONYMS.get(category)
    if names is None:
        return None
    pairs = zip(("en", "de", "fr"), names, strict=True)
    return {lang: text for lang, text in pairs if lang in title}


def build_appliances() -> list[Row]:
    rows: list[Row] = []
    n = 0
    for category, ((en_noun, de_noun, fr_noun), variants) in APPLIANCES.items():
        for i, (model, en, de, fr, extra, price) in enumerate(variants):
            n += 1
            brand = APPLIANCE_BRANDS[(n * 3 + i) % len(APPLIANCE_BRANDS)]
            title = product_title(brand, model, (en_noun, de_noun, fr_noun), (en, de, fr), category)
            if n in (9, 27):  # a couple of imports only described in English
                title = {"en": title["en"]}
            value = min(200.0, max(40.0, price * 0.14))
            rows.append(
                make(
                    f"ha-{n:04d}",
                    "product",
                    f"home_appliances/{category}",
                    title,
                    description=synonyms(category, title),
                    tags=[category.rstrip("s"), slug(brand), *extra.split()],
                    value=value,
                    price=price,
                )
            )
    # fmt: off
    extras: list[Row] = [
        make("ha-0901", "content", "home_appliances/guides",
             titles("How to choose a dishwasher", "So wählen Sie den richtigen Geschirrspüler",
                    "Comment choisir son lave-vaisselle"),
             tags=["dishwasher", "buying_guide"], value=2.0),
        make("ha-0902", "content", "home_appliances/guides",
             titles("Washing machine buying guide", "Kaufberatung Waschmaschine",
                    "Guide d'achat lave-linge"),
             tags=["washing_machine", "buying_guide"], value=2.0),
        make("ha-0903", "content", "home_appliances/guides",
             titles("Energy labels explained", "Energielabel einfach erklärt",
                    "Les étiquettes énergie expliquées"),
             tags=["energy_efficient", "buying_guide"], value=1.0),
        make("ha-0904", "content", "home_appliances/guides",
             titles("Is it worth repairing? Repair or replace checklist",
                    "Reparieren oder ersetzen? Die Checkliste",
                    "Réparer ou remplacer ? La check-list"),
             tags=["repair", "buying_guide", "sustainability"], value=1.5),
        make("ha-0905", "content", "home_appliances/guides",
             titles("Descaling your coffee machine", "Kaffeemaschine richtig entkalken",
                    "Détartrer sa machine à café"),
             tags=["coffee_machine", "maintenance", "how_to"], value=1.0),
        make("ha-0906", "offer", "home_appliances/financing",
             titles("0% financing over 24 months on large appliances",
                    "0 % Finanzierung über 24 Monate für Großgeräte",
                    "Financement 0 % sur 24 mois pour le gros électroménager"),
             description=titles("Credit subject to approval.", "Vorbehaltlich Bonitätsprüfung.",
                                "Sous réserve d'acceptation du dossier."),
             tags=["financing", "credit"], regions=["DE", "AT", "FR"], value=60.0,
             eligibility=[{"field": "profile.tenure_months", "op": "gte", "value": 3}],
             explore=False),
        make("ha-0907", "offer", "home_appliances/deals",
             titles("Black Friday: up to 30% off dishwashers",
                    "Black Friday: bis zu 30 % auf Geschirrspüler",
                    "Black Friday : jusqu'à -30 % sur les lave-vaisselle"),
             tags=["dishwasher", "black_friday", "sale"], window=BLACK_FRIDAY, value=80.0,
             cap_=cap(3, 7 * DAY)),
        make("ha-0908", "offer", "home_appliances/deals",
             titles("Trade in your old appliance: 50 EUR bonus", "Altgerät abgeben: 50 EUR Bonus",
                    "Reprise de votre ancien appareil : 50 EUR de bonus"),
             tags=["trade_in", "sustainability"], regions=EU_STORES, value=45.0),
        make("ha-0909", "offer", "home_appliances/deals",
             titles("Spring cleaning: vacuum cleaner week", "Frühjahrsputz: Staubsauger-Woche",
                    "Grand ménage de printemps : semaine de l'aspirateur"),
             tags=["vacuum_cleaner", "sale", "spring"], window=SPRING, value=40.0),
        make("ha-0910", "product", "home_appliances/warranty",
             titles("5-year extended warranty for large appliances",
                    "5 Jahre Garantieverlängerung für Großgeräte",
                    "Extension de garantie 5 ans gros électroménager"),
             tags=["warranty", "protection"], value=55.0, price=89.0),
    ]
    # fmt: on
    return rows + extras


# ---------------------------------------------------------------------------
# Electronics
# ---------------------------------------------------------------------------

ELECTRONICS_BRANDS = ("Vantor", "Pixelle", "Arcwave", "Sonara", "Tessel", "Quill", "Helix")

# fmt: off
ELECTRONICS: dict[str, tuple[tuple[str, str, str], list[Variant]]] = {
    "phones": (
        ("smartphone", "Smartphone", "Smartphone"),
        [
            ("Nova 14", "128 GB, midnight", "128 GB, Mitternacht", "128 Go, minuit", "5g midrange",
             449.0),
            ("Nova 14 Pro", "256 GB, triple camera", "256 GB, Dreifachkamera",
             "256 Go, triple capteur", "5g flagship camera", 999.0),
            ("Lite 9", "64 GB, dual SIM", "64 GB, Dual-SIM", "64 Go, double SIM", "budget dual_sim",
             199.0),
            ("Fold X", "foldable, 512 GB", "faltbar, 512 GB", "pliable, 512 Go",
             "foldable flagship", 1599.0),
            ("Rugged R2", "outdoor, waterproof", "Outdoor, wasserdicht", "robuste, étanche",
             "rugged outdoor", 379.0),
            ("Senior S1", "large buttons, emergency key", "große Tasten, Notruftaste",
             "grandes touches, bouton d'urgence", "senior easy", 129.0),
            ("Nova 13", "refurbished, 128 GB", "generalüberholt, 128 GB", "reconditionné, 128 Go",
             "refurbished sustainability", 329.0),
        ],
    ),
    "laptops": (
        ("laptop", "Laptop", "Ordinateur portable"),
        [
            ("Air 13", "13 inch, 16 GB RAM", "13 Zoll, 16 GB RAM", "13 pouces, 16 Go RAM",
             "ultrabook lightweight", 999.0),
            ("Work 15", "15 inch, business", "15 Zoll, Business", "15 pouces, professionnel",
             "business", 1149.0),
            ("Play 16", "16 inch gaming, RTX graphics", "16 Zoll Gaming, RTX-Grafik",
             "16 pouces gaming, graphique RTX", "gaming", 1699.0),
            ("Study 14", "14 inch, long battery", "14 Zoll, lange Akkulaufzeit",
             "14 pouces, grande autonomie", "student budget", 599.0),
            ("Flip 13", "2-in-1 convertible", "2-in-1 Convertible", "2-en-1 convertible",
             "convertible touch", 849.0),
            ("Chrome 11", "11 inch, for school", "11 Zoll, für die Schule",
             "11 pouces, pour l'école", "student kids budget", 299.0),
        ],
    ),
    "tvs": (
        ("TV", "Fernseher", "Téléviseur"),
        [
            ("Vista 55", "55 inch 4K OLED", "55 Zoll 4K OLED", "55 pouces 4K OLED", "oled 4k",
             1299.0),
            ("Vista 65", "65 inch 4K OLED", "65 Zoll 4K OLED", "65 pouces 4K OLED", "oled 4k large",
             1899.0),
            ("Home 43", "43 inch 4K LED", "43 Zoll 4K LED", "43 pouces 4K LED", "led 4k budget",
             399.0),
            ("Home 32", "32 inch HD, smart", "32 Zoll HD, Smart-TV", "32 pouces HD, connecté",
             "small budget", 229.0),
            ("Cinema 75", "75 inch QLED", "75 Zoll QLED", "75 pouces QLED", "qled large", 1499.0),
            ("Soundbar S5", "=soundbar with subwoofer", "=Soundbar mit Subwoofer",
             "=barre de son avec caisson", "audio soundbar", 349.0),
        ],
    ),
    "headphones": (
        ("headphones", "Kopfhörer", "Casque"),
        [
            ("Calm 700", "over-ear, noise cancelling", "Over-Ear, Noise Cancelling",
             "circum-auriculaire à réduction de bruit", "noise_cancelling wireless gift", 299.0),
            ("Buds 3", "true wireless earbuds", "True-Wireless-Ohrhörer", "écouteurs sans fil",
             "earbuds wireless gift", 149.0),
            ("Buds 3 Sport", "sport earbuds, sweatproof", "Sport-Ohrhörer, schweißfest",
             "écouteurs sport, résistants à la sueur", "earbuds sport", 99.0),
            ("Kids K1", "volume-limited kids headphones",
             "Kinderkopfhörer mit Lautstärkebegrenzung", "casque enfant à volume limité",
             "kids gift", 39.0),
            ("Studio M2", "wired studio monitor", "kabelgebunden, Studio", "filaire, studio",
             "wired studio", 179.0),
        ],
    ),
    "tablets": (
        ("tablet", "Tablet", "Tablette"),
        [
            ("Slate 11", "11 inch, 128 GB", "11 Zoll, 128 GB", "11 pouces, 128 Go", "entertainment",
             499.0),
            ("Slate 11 LTE", "11 inch, LTE", "11 Zoll, LTE", "11 pouces, LTE", "lte mobile_data",
             599.0),
            ("Slate Mini", "8 inch", "8 Zoll", "8 pouces", "compact gift", 299.0),
            ("Kids Tab 8", "kids edition with case", "Kinder-Edition mit Hülle",
             "édition enfant avec coque", "kids gift", 149.0),
            ("Page 6", "=e-reader, 6 inch", "=E-Reader, 6 Zoll", "=liseuse, 6 pouces",
             "ereader books gift", 119.0),
        ],
    ),
    "cameras": (
        ("camera", "Kamera", "Appareil photo"),
        [
            ("Frame Z5", "mirrorless with 24-70 mm lens", "spiegellos mit 24-70-mm-Objektiv",
             "hybride avec objectif 24-70 mm", "mirrorless", 1399.0),
            ("Action A4", "4K action camera", "4K-Actionkamera", "caméra d'action 4K",
             "action sport", 299.0),
            ("Snap Instant", "instant camera", "Sofortbildkamera", "appareil instantané",
             "instant gift", 89.0),
            ("Frame Z3", "compact travel zoom", "kompakte Reisezoom", "compact zoom voyage",
             "compact travel", 449.0),
        ],
    ),
    "accessories": (
        ("accessory", "Zubehör", "Accessoire"),
        [
            ("Charge Pro", "65 W USB-C charger", "65-W-USB-C-Ladegerät", "chargeur USB-C 65 W",
             "charger usb_c", 39.0),
            ("Power 20k", "20,000 mAh power bank", "Powerbank 20.000 mAh",
             "batterie externe 20 000 mAh", "power_bank travel gift", 49.0),
            ("Shield Nova 14", "clear phone case", "transparente Handyhülle", "coque transparente",
             "case phone", 19.0),
            ("Glass Nova 14", "screen protector", "Displayschutzglas", "verre de protection",
             "screen_protector phone", 14.0),
            ("Mesh 3", "wifi mesh system, 3 pack", "WLAN-Mesh-System, 3er-Set",
             "système wifi mesh, lot de 3", "wifi mesh broadband", 249.0),
            ("Watch W2", "smartwatch", "Smartwatch", "montre connectée", "wearable gift", 229.0),
            ("Pen P1", "stylus for Slate tablets", "Eingabestift für Slate-Tablets",
             "stylet pour tablettes Slate", "stylus tablet", 79.0),
            ("Cable Pack", "USB-C cable, 3 pack", "USB-C-Kabel, 3er-Pack", "câbles USB-C, lot de 3",
             "cable usb_c", 15.0),
        ],
    ),
}
# fmt: on


ELECTRONICS_TAG = {
    "phones": "phone",
    "laptops": "laptop",
    "tvs": "tv",
    "headphones": "headphones",
    "tablets": "tablet",
    "cameras": "camera",
    "accessories": "accessory",
}


def build_electronics() -> list[Row]:
    rows: list[Row] = []
    n = 0
    for category, ((en_noun, de_noun, fr_noun), variants) in ELECTRONICS.items():
        for i, (model, en, de, fr, extra, price) in enumerate(variants):
            n += 1
            brand = ELECTRONICS_BRANDS[(n * 5 + i) % len(ELECTRONICS_BRANDS)]
            title = product_title(brand, model, (en_noun, de_noun, fr_noun), (en, de, fr), category)
            if category == "accessories" and i in (6, 7):
                title = {"en": title["en"]}  # only sold on the English shop
            value = min(150.0, max(3.0, price * 0.1))
            rows.append(
                make(
                    f"el-{n:04d}",
                    "product",
                    f"electronics/{category}",
                    title,
                    description=synonyms(category, title),
                    tags=[ELECTRONICS_TAG[category], slug(brand), *extra.split()],
                    value=value,
                    price=price,
                )
            )
    # fmt: off
    extras: list[Row] = [
        make("el-0901", "content", "electronics/guides",
             titles("OLED or QLED? Choosing a TV", "OLED oder QLED? Den richtigen Fernseher finden",
                    "OLED ou QLED ? Bien choisir son téléviseur"),
             tags=["tv", "buying_guide"], value=2.0),
        make("el-0902", "content", "electronics/guides",
             titles("Moving your data to a new phone", "Daten auf ein neues Handy übertragen",
                    "Transférer ses données vers un nouveau téléphone"),
             tags=["phone", "how_to", "setup"], value=1.5),
        make("el-0903", "content", "electronics/guides",
             titles("The best tech gifts under 100 EUR",
                    "Die besten Technik-Geschenke unter 100 EUR",
                    "Les meilleurs cadeaux high-tech à moins de 100 EUR"),
             tags=["gift", "christmas", "buying_guide"], value=2.0, window=CHRISTMAS),
        make("el-0904", "content", "electronics/guides",
             titles("Laptops for students compared", "Laptops für Studierende im Vergleich",
                    "Comparatif des ordinateurs pour étudiants"),
             tags=["laptop", "student", "buying_guide"], value=1.5),
        make("el-0905", "offer", "electronics/financing",
             titles("Pay in 12 monthly instalments", "In 12 Monatsraten zahlen",
                    "Payez en 12 mensualités"),
             description=titles("Credit subject to approval.", "Vorbehaltlich Bonitätsprüfung.",
                                "Sous réserve d'acceptation du dossier."),
             tags=["financing", "credit"], value=40.0, explore=False,
             eligibility=[{"field": "profile.tenure_months", "op": "gte", "value": 3}]),
        make("el-0906", "offer", "electronics/deals",
             titles("Black Friday: 25% off headphones", "Black Friday: 25 % auf Kopfhörer",
                    "Black Friday : -25 % sur les casques"),
             tags=["headphones", "black_friday", "sale", "gift"], window=BLACK_FRIDAY, value=30.0,
             cap_=cap(3, 7 * DAY)),
        make("el-0907", "offer", "electronics/deals",
             titles("Black Friday: TV bundle with free soundbar",
                    "Black Friday: TV-Paket mit gratis Soundbar",
                    "Black Friday : pack TV avec barre de son offerte"),
             tags=["tv", "black_friday", "bundle"], window=BLACK_FRIDAY, value=120.0,
             cap_=cap(3, 7 * DAY)),
        make("el-0908", "offer", "electronics/deals",
             titles("Back to school: laptop + free backpack",
                    "Back to School: Laptop + gratis Rucksack",
                    "Rentrée : ordinateur + sac à dos offert"),
             tags=["laptop", "student", "back_to_school"], window=BACK_TO_SCHOOL, value=60.0),
        make("el-0909", "offer", "electronics/deals",
             titles("Student discount: 10% off laptops and tablets",
                    "Studentenrabatt: 10 % auf Laptops und Tablets",
                    "Réduction étudiante : -10 % sur ordinateurs et tablettes"),
             tags=["student", "discount", "laptop", "tablet"], value=50.0,
             eligibility=[seg("student")]),
        make("el-0910", "offer", "electronics/deals",
             titles("Trade in your old phone", "Altes Handy in Zahlung geben",
                    "Reprise de votre ancien téléphone"),
             tags=["trade_in", "phone", "sustainability"], value=35.0),
        make("el-0911", "product", "electronics/protection",
             titles("Phone insurance, screen and theft",
                    "Handyversicherung gegen Bruch und Diebstahl", "Assurance mobile casse et vol"),
             tags=["insurance", "phone", "protection"], value=60.0, price=8.99,
             regions=["DE", "AT", "FR", "GB"], explore=False),
    ]
    # fmt: on
    return rows + extras


# ---------------------------------------------------------------------------
# Fashion
# ---------------------------------------------------------------------------

# (en, de, fr, tags, price)
FashionRow = tuple[str, str, str, str, float]

# fmt: off
FASHION: dict[str, list[FashionRow]] = {
    "men": [
        ("Merino crew-neck jumper", "Merino-Pullover mit Rundhals", "Pull col rond en mérinos",
         "knitwear wool winter", 79.0),
        ("Slim-fit chinos", "Slim-Fit-Chinohose", "Chino coupe ajustée", "trousers", 59.0),
        ("Quilted winter jacket", "Gesteppte Winterjacke", "Doudoune matelassée", "jacket winter",
         149.0),
        ("Oxford shirt, light blue", "Oxford-Hemd, hellblau", "Chemise Oxford, bleu clair",
         "shirt office", 45.0),
        ("Organic cotton T-shirt, 3 pack", "Bio-Baumwoll-T-Shirts, 3er-Pack",
         "T-shirts coton bio, lot de 3", "basics organic", 35.0),
        ("Wool blend overcoat", "Mantel aus Wollmischung", "Manteau en laine mélangée",
         "coat winter office", 219.0),
        ("Selvedge denim jeans", "Selvedge-Jeans", "Jean selvedge", "denim", 99.0),
        ("Running shorts", "Laufshorts", "Short de running", "sport running", 29.0),
    ],
    "women": [
        ("Cashmere roll-neck sweater", "Kaschmir-Rollkragenpullover", "Pull col roulé en cachemire",
         "knitwear cashmere gift winter", 139.0),
        ("Wrap dress, midnight blue", "Wickelkleid, nachtblau", "Robe portefeuille, bleu nuit",
         "dress", 89.0),
        ("High-rise straight jeans", "High-Waist-Jeans, gerade", "Jean droit taille haute", "denim",
         79.0),
        ("Water-repellent trench coat", "Wasserabweisender Trenchcoat", "Trench déperlant",
         "coat rain", 189.0),
        ("Linen blouse", "Leinenbluse", "Blouse en lin", "blouse summer", 55.0),
        ("Puffer jacket, recycled fill", "Steppjacke mit recycelter Füllung",
         "Doudoune garnissage recyclé", "jacket winter sustainability", 159.0),
        ("Yoga leggings", "Yoga-Leggings", "Legging de yoga", "sport yoga", 45.0),
        ("Pleated midi skirt", "Plissierter Midirock", "Jupe midi plissée", "skirt", 65.0),
    ],
    "kids": [
        ("Kids' snowsuit", "Kinder-Schneeanzug", "Combinaison de ski enfant", "winter kids", 69.0),
        ("Dinosaur pyjamas", "Dinosaurier-Schlafanzug", "Pyjama dinosaures", "pyjamas kids gift",
         25.0),
        ("School hoodie", "Schul-Kapuzenpullover", "Sweat à capuche école", "kids school", 29.0),
        ("Rain jacket with reflectors", "Regenjacke mit Reflektoren",
         "Veste de pluie à réflecteurs", "kids rain", 39.0),
    ],
    "shoes": [
        ("Leather Chelsea boots", "Chelsea-Boots aus Leder", "Bottines Chelsea en cuir",
         "boots leather", 139.0),
        ("Everyday running shoes", "Laufschuhe für jeden Tag", "Chaussures de running",
         "running sport", 99.0),
        ("White leather sneakers", "Weiße Ledersneaker", "Baskets en cuir blanc", "sneakers", 89.0),
        ("Waterproof hiking boots", "Wasserdichte Wanderschuhe",
         "Chaussures de randonnée imperméables", "hiking outdoor waterproof", 149.0),
        ("Suede loafers", "Wildleder-Loafer", "Mocassins en daim", "loafers", 119.0),
        ("Wool slippers", "Hausschuhe aus Wolle", "Chaussons en laine", "slippers gift cosy", 39.0),
        ("Kids' light-up trainers", "Kinder-Sneaker mit Licht", "Baskets lumineuses enfant",
         "kids sneakers", 45.0),
    ],
    "accessories": [
        ("Leather belt", "Ledergürtel", "Ceinture en cuir", "belt leather", 39.0),
        ("Knitted scarf and beanie set", "Schal- und Mützenset", "Ensemble écharpe et bonnet",
         "winter gift", 49.0),
        ("Canvas weekender bag", "Weekender-Tasche aus Canvas", "Sac week-end en toile",
         "bag travel gift", 89.0),
        ("Minimalist wristwatch", "Minimalistische Armbanduhr", "Montre minimaliste", "watch gift",
         129.0),
        ("Touchscreen gloves", "Touchscreen-Handschuhe", "Gants tactiles", "gloves winter gift",
         25.0),
        ("Polarised sunglasses", "Polarisierte Sonnenbrille", "Lunettes de soleil polarisées",
         "sunglasses summer", 69.0),
        ("Silk pocket square", "Einstecktuch aus Seide", "Pochette en soie", "silk gift office",
         29.0),
        ("Leather card holder", "Kartenetui aus Leder", "Porte-cartes en cuir",
         "leather gift small", 35.0),
    ],
}
# fmt: on

FASHION_LABELS = ("Maison Lore", "Fjellstad", "Urban Thread", "Kettle & Co", "Solenne")


def build_fashion() -> list[Row]:
    rows: list[Row] = []
    n = 0
    for category, items in FASHION.items():
        for i, (en, de, fr, extra, price) in enumerate(items):
            n += 1
            label = FASHION_LABELS[(n + i) % len(FASHION_LABELS)]
            title = titles(f"{label} {en}", f"{label} {de}", f"{label} {fr}")
            rows.append(
                make(
                    f"fa-{n:04d}",
                    "product",
                    f"fashion/{category}",
                    title,
                    tags=[category, slug(label), *extra.split()],
                    value=min(40.0, max(5.0, price * 0.25)),
                    price=price,
                )
            )
    # fmt: off
    extras: list[Row] = [
        make("fa-0901", "content", "fashion/guides",
             titles("Find your shoe size", "Die richtige Schuhgröße finden", "Trouver sa pointure"),
             tags=["shoes", "size_guide"], value=1.0),
        make("fa-0902", "content", "fashion/guides",
             titles("Winter layering guide", "Zwiebellook für den Winter",
                    "Bien se superposer en hiver"),
             tags=["winter", "style_guide"], value=1.0, window=WINTER),
        make("fa-0903", "offer", "fashion/deals",
             titles("Black Friday: 30% off winter coats", "Black Friday: 30 % auf Wintermäntel",
                    "Black Friday : -30 % sur les manteaux d'hiver"),
             tags=["coat", "winter", "black_friday", "sale"], window=BLACK_FRIDAY, value=25.0,
             cap_=cap(3, 7 * DAY)),
        make("fa-0904", "offer", "fashion/deals",
             titles("End of summer sale", "Sommerschlussverkauf", "Soldes de fin d'été"),
             tags=["sale", "summer"], window=SUMMER_SALE, value=10.0),
        make("fa-0905", "offer", "fashion/deals",
             titles("January sale preview", "Vorschau: Winterschlussverkauf",
                    "Avant-première des soldes d'hiver"),
             tags=["sale", "new_year"], window=NEW_YEAR, value=12.0),
        make("fa-0906", "product", "fashion/gift_cards",
             titles("Fashion gift card", "Mode-Geschenkkarte", "Carte cadeau mode"),
             tags=["gift", "gift_card"], value=5.0, price=50.0),
        make("fa-0907", "service", "fashion/services",
             titles("Book a personal styling session", "Persönliche Stilberatung buchen",
                    "Réserver une séance de stylisme"),
             tags=["styling", "appointment"], channels=["store"], regions=["DE", "FR"], value=15.0),
    ]
    # fmt: on
    return rows + extras


# ---------------------------------------------------------------------------
# Plans: mobile and broadband
# ---------------------------------------------------------------------------


def build_plans() -> list[Row]:
    # fmt: off
    rows: list[Row] = [
        # --- mobile ---------------------------------------------------------
        make("pm-0001", "offer", "plans/mobile/contracts",
             titles("Mobile S: 10 GB, 24 months", "Mobil S: 10 GB, 24 Monate",
                    "Forfait Mobile S : 10 Go, 24 mois"),
             tags=["mobile", "contract", "5g"], value=120.0, price=14.99),
        make("pm-0002", "offer", "plans/mobile/contracts",
             titles("Mobile M: 40 GB, 24 months", "Mobil M: 40 GB, 24 Monate",
                    "Forfait Mobile M : 40 Go, 24 mois"),
             tags=["mobile", "contract", "5g"], value=200.0, price=24.99),
        make("pm-0003", "offer", "plans/mobile/contracts",
             titles("Mobile Unlimited, 24 months", "Mobil Unlimited, 24 Monate",
                    "Forfait Mobile Illimité, 24 mois"),
             tags=["mobile", "contract", "unlimited", "5g"], value=380.0, price=49.99),
        make("pm-0004", "offer", "plans/mobile/contracts",
             titles("Mobile M, no minimum term", "Mobil M, monatlich kündbar",
                    "Forfait Mobile M sans engagement"),
             tags=["mobile", "flexible", "no_contract"], value=90.0, price=29.99),
        make("pm-0005", "offer", "plans/mobile/contracts",
             titles("Young plan: 30 GB for under 28s", "Young-Tarif: 30 GB für unter 28-Jährige",
                    "Forfait Jeunes : 30 Go pour les moins de 28 ans"),
             tags=["mobile", "young", "student"], value=150.0, price=17.99,
             eligibility=[{"field": "profile.age", "op": "lte", "value": 27}]),
        make("pm-0006", "offer", "plans/mobile/contracts",
             titles("Student plan: 50 GB at half price", "Studententarif: 50 GB zum halben Preis",
                    "Forfait étudiant : 50 Go à moitié prix"),
             tags=["mobile", "student", "discount"], value=140.0, price=14.99,
             eligibility=[seg("student")]),
        make("pm-0007", "offer", "plans/mobile/family",
             titles("Family plan: up to 4 SIMs", "Familientarif: bis zu 4 SIM-Karten",
                    "Forfait Famille : jusqu'à 4 cartes SIM"),
             tags=["mobile", "family", "multi_sim"], value=320.0, price=59.99),
        make("pm-0008", "offer", "plans/mobile/prepaid",
             titles("Prepaid starter pack", "Prepaid-Starterpaket", "Pack prépayé découverte"),
             tags=["mobile", "prepaid", "no_contract"], value=50.0, price=9.99,
             channels=["web", "app", "store"]),
        make("pm-0009", "offer", "plans/mobile/prepaid",
             titles("Prepaid top-up 20 EUR", "Prepaid-Aufladung 20 EUR",
                    "Recharge prépayée 20 EUR"),
             tags=["mobile", "prepaid", "top_up"], value=50.0, price=20.0),
        make("pm-0010", "offer", "plans/mobile/upgrades",
             titles("Premium upgrade: Unlimited with new phone",
                    "Premium-Upgrade: Unlimited mit neuem Smartphone",
                    "Passage Premium : Illimité avec nouveau téléphone"),
             tags=["mobile", "upgrade", "premium", "new_phone"], value=400.0,
             eligibility=[tenure_at_least(12), seg("contract_customer")], cap_=cap(2, 14 * DAY)),
        make("pm-0011", "offer", "plans/mobile/upgrades",
             titles("Early phone upgrade", "Vorzeitige Vertragsverlängerung mit neuem Handy",
                    "Renouvellement anticipé du téléphone"),
             tags=["mobile", "upgrade", "new_phone"], value=250.0,
             eligibility=[tenure_at_least(18), seg("contract_customer")]),
        make("pm-0012", "offer", "plans/mobile/addons",
             titles("EU roaming pass, 7 days", "EU-Roaming-Pass, 7 Tage",
                    "Pass roaming UE, 7 jours"),
             tags=["mobile", "roaming", "travel"], value=60.0, price=4.99,
             eligibility=[seg("contract_customer")]),
        make("pm-0013", "offer", "plans/mobile/addons",
             titles("Data boost: +10 GB this month", "Datenboost: +10 GB diesen Monat",
                    "Recharge data : +10 Go ce mois-ci"),
             tags=["mobile", "data", "addon"], value=50.0, price=5.0, channels=SELF_SERVICE),
        make("pm-0014", "offer", "plans/mobile/addons",
             titles("World calls add-on", "Auslands-Telefonie-Option",
                    "Option appels internationaux"),
             tags=["mobile", "international", "addon"], value=55.0, price=6.99),
        make("pm-0015", "offer", "plans/mobile/financing",
             titles("Phone on monthly instalments with your plan",
                    "Smartphone in Monatsraten zum Tarif",
                    "Téléphone payable en plusieurs fois avec votre forfait"),
             description=titles("Credit subject to approval.", "Vorbehaltlich Bonitätsprüfung.",
                                "Sous réserve d'acceptation du dossier."),
             tags=["financing", "credit", "new_phone"], value=90.0, explore=False,
             eligibility=[seg("contract_customer")]),
        make("pm-0016", "offer", "plans/mobile/deals",
             titles("Christmas deal: double data for 6 months",
                    "Weihnachtsangebot: doppeltes Datenvolumen für 6 Monate",
                    "Offre de Noël : data doublée pendant 6 mois"),
             tags=["mobile", "christmas", "data"], value=150.0, window=CHRISTMAS,
             cap_=cap(2, 7 * DAY)),
        make("pm-0017", "offer", "plans/mobile/contracts",
             titles("eSIM only plan, 25 GB", None, None), tags=["mobile", "esim", "digital"],
             value=110.0, price=19.99, regions=["GB", "US"], channels=DIGITAL),
        make("pm-0018", "offer", "plans/mobile/business",
             titles("Business mobile plan, 5 lines", "Business-Mobilfunktarif, 5 Leitungen",
                    "Forfait mobile entreprise, 5 lignes"),
             tags=["mobile", "business", "multi_sim"], value=390.0, price=99.0,
             eligibility=[seg("business")]),
        # --- broadband ------------------------------------------------------
        make("pb-0001", "offer", "plans/broadband/dsl",
             titles("DSL 100, 24 months", "DSL 100, 24 Monate", "DSL 100, 24 mois"),
             tags=["broadband", "dsl", "contract"], regions=DACH, value=180.0, price=34.99),
        make("pb-0002", "offer", "plans/broadband/dsl",
             titles("DSL 250 with router", "DSL 250 mit Router", "DSL 250 avec box"),
             tags=["broadband", "dsl", "router"], regions=DACH, value=240.0, price=44.99),
        make("pb-0003", "offer", "plans/broadband/fiber",
             titles("Fibre 500", "Glasfaser 500", "Fibre 500"), tags=["broadband", "fiber", "fast"],
             regions=DACH, value=300.0, price=49.99),
        make("pb-0004", "offer", "plans/broadband/fiber",
             titles("Fibre 1000", "Glasfaser 1000", "Fibre 1 Gbit/s"),
             tags=["broadband", "fiber", "fast", "gaming"], regions=["DE", "AT", "CH", "FR"],
             value=360.0, price=69.99),
        make("pb-0005", "offer", "plans/broadband/fiber",
             titles("Fibre 2 Gbit/s with TV", None, "Fibre 2 Gbit/s avec TV"),
             tags=["broadband", "fiber", "tv", "bundle"], regions=["FR"], value=390.0, price=59.99),
        make("pb-0006", "offer", "plans/broadband/fiber",
             titles("Fibre Essentiel 300", None, "Fibre Essentiel 300"),
             tags=["broadband", "fiber", "budget"], regions=["FR"], value=200.0, price=29.99),
        make("pb-0007", "offer", "plans/broadband/cable",
             titles("Cable 250", "Kabel 250", "Câble 250"), tags=["broadband", "cable"],
             regions=["DE", "CH"], value=220.0, price=39.99),
        make("pb-0008", "offer", "plans/broadband/home_5g",
             titles("Home 5G router plan, no installation", "5G-Zuhause-Tarif ohne Installation",
                    "Box 5G sans installation"),
             tags=["broadband", "5g", "no_installation", "flexible"],
             regions=["DE", "AT", "CH", "FR", "GB"], value=160.0, price=39.99),
        make("pb-0009", "offer", "plans/broadband/upgrades",
             titles("Speed upgrade to Fibre 1000", "Upgrade auf Glasfaser 1000",
                    "Passez à la Fibre 1 Gbit/s"),
             tags=["broadband", "upgrade", "fiber"], regions=["DE", "AT", "CH", "FR"], value=150.0,
             eligibility=[seg("contract_customer")]),
        make("pb-0010", "offer", "plans/broadband/upgrades",
             titles("Premium upgrade: Fibre with TV and mesh wifi",
                    "Premium-Upgrade: Glasfaser mit TV und Mesh-WLAN",
                    "Passage Premium : fibre avec TV et wifi mesh"),
             tags=["broadband", "upgrade", "premium", "tv"], regions=DACH, value=350.0,
             eligibility=[tenure_at_least(12), seg("contract_customer")], cap_=cap(2, 14 * DAY)),
        make("pb-0011", "offer", "plans/broadband/addons",
             titles("TV streaming add-on", "TV-Streaming-Option", "Option TV en streaming"),
             tags=["broadband", "tv", "addon"], value=70.0, price=9.99),
        make("pb-0012", "offer", "plans/broadband/addons",
             titles("Static IP add-on", "Feste IP-Adresse", "Option IP fixe"),
             tags=["broadband", "business", "addon"], value=50.0, price=5.0,
             channels=["web", "contact_center", "chat"]),
        make("pb-0013", "offer", "plans/broadband/bundles",
             titles("Home & mobile bundle: save 10 EUR a month",
                    "Kombi-Vorteil Festnetz & Mobil: 10 EUR monatlich sparen",
                    "Pack maison & mobile : 10 EUR d'économie par mois"),
             tags=["broadband", "mobile", "bundle"], regions=DACH, value=280.0,
             eligibility=[seg("contract_customer")]),
        make("pb-0014", "offer", "plans/broadband/deals",
             titles("New Year fibre deal: 6 months at 19.99",
                    "Neujahrsangebot Glasfaser: 6 Monate für 19,99",
                    "Offre Nouvel An fibre : 6 mois à 19,99"),
             tags=["broadband", "fiber", "new_year"], regions=DACH, window=NEW_YEAR, value=250.0),
    ]
    # fmt: on
    return rows


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


def build_services() -> list[Row]:
    # fmt: off
    return [
        # repair
        make("sv-0001", "service", "services/repair/appliances",
             titles("Book an appliance repair visit", "Reparaturtermin für Haushaltsgerät buchen",
                    "Réserver une réparation d'électroménager"),
             description=titles("Broken, faulty or leaking appliance: technician visit. "
                                "Fridge, freezer, oven, hob, dryer, dishwasher, washing "
                                "machine, microwave, vacuum cleaner",
                                "Gerät kaputt, defekt, undicht: Technikerbesuch. "
                                "Kühlschrank, Gefrierschrank, Backofen, Herd, Trockner, "
                                "Spülmaschine, Waschmaschine, Mikrowelle, Staubsauger",
                                "Appareil en panne, cassé, qui fuit : visite d'un technicien. "
                                "Frigo, congélateur, four, plaque, sèche-linge, "
                                "lave-vaisselle, lave-linge, micro-ondes, aspirateur"),
             tags=["repair", "appliance", "technician"], regions=["DE", "AT", "CH", "FR"],
             value=45.0, price=79.0),
        make("sv-0002", "service", "services/repair/appliances",
             titles("Dishwasher repair: diagnose online first",
                    "Geschirrspüler-Reparatur: zuerst online prüfen",
                    "Réparation de lave-vaisselle : diagnostic en ligne"),
             description=titles("Dishwasher broken or showing an error code: diagnose the fault",
                                "Spülmaschine defekt, Fehlercode: Fehler online finden",
                                "Lave-vaisselle en panne, code erreur : diagnostic"),
             tags=["repair", "dishwasher", "self_help"], value=15.0),
        make("sv-0003", "service", "services/repair/appliances",
             titles("Washing machine repair", "Waschmaschinen-Reparatur",
                    "Réparation de lave-linge"),
             description=titles("Washing machine broken, faulty or dead",
                                "Waschmaschine kaputt, defekt",
                                "Lave-linge en panne, cassé"),
             tags=["repair", "washing_machine", "technician"], regions=["DE", "AT", "CH", "FR"],
             value=45.0, price=79.0),
        make("sv-0004", "service", "services/repair/appliances",
             titles("Repair under warranty: register a claim", "Garantiefall melden",
                    "Déclarer une réparation sous garantie"),
             tags=["repair", "warranty"], value=20.0),
        make("sv-0005", "service", "services/repair/electronics",
             titles("Phone screen repair", "Handy-Displayreparatur",
                    "Réparation d'écran de téléphone"),
             tags=["repair", "phone", "screen"], value=35.0, price=89.0),
        make("sv-0006", "service", "services/repair/electronics",
             titles("In-store repair appointment", "Reparaturtermin in der Filiale",
                    "Rendez-vous réparation en magasin"),
             description=titles("Broken or faulty device: phone, tablet, laptop, TV, "
                                "headphones, camera",
                                "Gerät kaputt oder defekt: Handy, Tablet, Laptop, Fernseher, "
                                "Kopfhörer, Kamera",
                                "Appareil en panne ou cassé : téléphone, tablette, ordinateur, "
                                "télé, casque, appareil photo"),
             tags=["repair", "store", "appointment"], channels=["store", "web", "app"],
             regions=["DE", "AT", "FR"], value=25.0),
        make("sv-0007", "service", "services/repair/electronics",
             titles("Laptop repair by mail", "Laptop-Reparatur per Einsendung",
                    "Réparation d'ordinateur par envoi"),
             description=titles("Laptop broken or dead: send it in",
                                "Laptop kaputt: einschicken",
                                "Ordinateur en panne, cassé : l'envoyer"),
             tags=["repair", "laptop", "mail_in"], value=40.0, price=99.0),
        make("sv-0008", "service", "services/repair/appliances",
             titles("Coffee machine service and descaling",
                    "Kaffeemaschinen-Service und Entkalkung",
                    "Entretien et détartrage de machine à café"),
             tags=["repair", "coffee_machine", "maintenance"], channels=["store"],
             regions=["DE", "AT", "CH"], value=20.0, price=49.0),
        # installation
        make("sv-0101", "service", "services/installation",
             titles("Dishwasher delivery and installation",
                    "Lieferung und Anschluss des Geschirrspülers",
                    "Livraison et installation du lave-vaisselle"),
             tags=["installation", "dishwasher", "delivery"], regions=EU_STORES, value=30.0,
             price=69.0),
        make("sv-0102", "service", "services/installation",
             titles("Washing machine installation and old unit removal",
                    "Waschmaschine anschließen und Altgerät mitnehmen",
                    "Installation du lave-linge et reprise de l'ancien"),
             tags=["installation", "washing_machine", "recycling"], regions=EU_STORES, value=30.0,
             price=59.0),
        make("sv-0103", "service", "services/installation",
             titles("TV wall mounting", "TV-Wandmontage", "Fixation murale du téléviseur"),
             tags=["installation", "tv"], regions=["DE", "AT", "CH", "FR", "GB"], value=25.0,
             price=99.0),
        make("sv-0104", "service", "services/installation",
             titles("Broadband technician visit", "Technikertermin für den Internetanschluss",
                    "Intervention d'un technicien pour la box"),
             tags=["installation", "broadband", "technician"], value=20.0),
        make("sv-0105", "service", "services/installation",
             titles("Set up your new router yourself", "Router selbst einrichten",
                    "Installer votre box vous-même"),
             tags=["installation", "broadband", "router", "self_help"], channels=SELF_SERVICE,
             value=10.0),
        make("sv-0106", "service", "services/installation",
             titles("Built-in kitchen appliance fitting", "Einbau von Küchengeräten",
                    "Pose d'électroménager encastrable"),
             tags=["installation", "integrated", "kitchen"], regions=["DE", "AT"], value=40.0,
             price=129.0),
        # delivery tracking
        make("sv-0201", "service", "services/delivery_tracking",
             titles("Track your order", "Bestellung verfolgen", "Suivre votre commande"),
             tags=["delivery", "tracking", "order"], value=5.0),
        make("sv-0202", "service", "services/delivery_tracking",
             titles("Change your delivery slot", "Liefertermin ändern",
                    "Modifier votre créneau de livraison"),
             tags=["delivery", "reschedule"], value=5.0),
        make("sv-0203", "service", "services/delivery_tracking",
             titles("Report a missing parcel", "Fehlendes Paket melden",
                    "Signaler un colis manquant"),
             tags=["delivery", "missing", "order"], value=5.0),
        make("sv-0204", "service", "services/delivery_tracking",
             titles("Click & collect: pick up in store", "Click & Collect: in der Filiale abholen",
                    "Click & collect : retrait en magasin"),
             tags=["delivery", "store", "pickup"], channels=["web", "app", "store"],
             regions=["DE", "AT", "FR"], value=8.0),
        # returns
        make("sv-0301", "service", "services/returns",
             titles("Start a return", "Rücksendung starten", "Effectuer un retour"),
             tags=["returns", "refund"], value=5.0),
        make("sv-0302", "service", "services/returns",
             titles("Print a free return label", "Kostenloses Rücksendeetikett drucken",
                    "Imprimer une étiquette de retour gratuite"),
             tags=["returns", "label"], channels=["web", "app", "email"], value=3.0),
        make("sv-0303", "service", "services/returns",
             titles("Exchange for a different size", "Gegen eine andere Größe umtauschen",
                    "Échanger contre une autre taille"),
             tags=["returns", "exchange", "size", "fashion"], value=8.0),
        make("sv-0304", "service", "services/returns",
             titles("Check your refund status", "Status der Rückerstattung prüfen",
                    "Suivre votre remboursement"),
             tags=["returns", "refund", "status"], value=3.0),
        make("sv-0305", "service", "services/returns",
             titles("Return in store", "In der Filiale zurückgeben", "Retour en magasin"),
             tags=["returns", "store"], channels=["store", "web", "app"],
             regions=["DE", "AT", "FR"], value=4.0),
        # billing help
        make("sv-0401", "service", "services/billing_help",
             titles("Your bill explained", "Ihre Rechnung erklärt", "Votre facture expliquée"),
             tags=["billing", "invoice"], value=5.0),
        make("sv-0402", "service", "services/billing_help",
             titles("Download your invoices", "Rechnungen herunterladen",
                    "Télécharger vos factures"),
             tags=["billing", "invoice", "download"], channels=SELF_SERVICE, value=3.0),
        make("sv-0403", "service", "services/billing_help",
             titles("Change your payment method", "Zahlungsart ändern",
                    "Modifier votre moyen de paiement"),
             tags=["billing", "payment"], value=5.0),
        make("sv-0404", "service", "services/billing_help",
             titles("Set up a direct debit", "Lastschrift einrichten",
                    "Mettre en place le prélèvement automatique"),
             tags=["billing", "direct_debit", "payment"], regions=["DE", "AT", "FR"], value=8.0),
        make("sv-0405", "service", "services/billing_help",
             titles("Dispute a charge", "Einspruch gegen eine Abbuchung",
                    "Contester un montant facturé"),
             tags=["billing", "dispute"], value=5.0),
        make("sv-0406", "service", "services/billing_help",
             titles("Set a spending limit for extra services",
                    "Kostenlimit für Zusatzdienste festlegen",
                    "Fixer un plafond pour les services additionnels"),
             tags=["billing", "spending_limit"], channels=SELF_SERVICE, value=3.0),
        # tech support
        make("sv-0501", "service", "services/tech_support",
             titles("Restart and reset your router", "Router neu starten und zurücksetzen",
                    "Redémarrer et réinitialiser votre box"),
             tags=["tech_support", "router", "broadband", "self_help"], value=8.0),
        make("sv-0502", "service", "services/tech_support",
             titles("Fix slow wifi at home", "Langsames WLAN zu Hause beheben",
                    "Améliorer un wifi lent à la maison"),
             tags=["tech_support", "wifi", "broadband"], value=8.0),
        make("sv-0503", "service", "services/tech_support",
             titles("Check for a network outage", "Störungen im Netz prüfen",
                    "Vérifier une panne réseau"),
             tags=["tech_support", "outage", "network"], value=5.0),
        make("sv-0504", "service", "services/tech_support",
             titles("Set up your new phone", "Neues Smartphone einrichten",
                    "Configurer votre nouveau téléphone"),
             tags=["tech_support", "phone", "setup"], value=5.0),
        make("sv-0505", "service", "services/tech_support",
             titles("Activate your SIM or eSIM", "SIM oder eSIM aktivieren",
                    "Activer votre carte SIM ou eSIM"),
             tags=["tech_support", "sim", "esim", "mobile"], value=5.0),
        make("sv-0506", "service", "services/tech_support",
             titles("Unlock your PIN/PUK", "PIN/PUK entsperren", "Débloquer votre code PIN/PUK"),
             tags=["tech_support", "sim", "mobile"], value=3.0),
        make("sv-0507", "service", "services/tech_support",
             titles("Remote help from a tech expert", "Fernhilfe durch einen Technik-Experten",
                    "Assistance à distance par un expert"),
             tags=["tech_support", "remote", "premium"], value=30.0, price=19.0,
             eligibility=[not_seg("new_customer")]),
        make("sv-0508", "content", "services/tech_support",
             titles("Troubleshooting guide: no internet", "Hilfe: kein Internet",
                    "Guide de dépannage : pas d'internet"),
             tags=["tech_support", "broadband", "guide"], value=2.0),
        # moving house
        make("sv-0601", "service", "services/moving_house",
             titles("Move your broadband to your new address",
                    "Internetanschluss an die neue Adresse mitnehmen",
                    "Transférer votre box à votre nouvelle adresse"),
             tags=["moving", "broadband", "address"], value=60.0),
        make("sv-0602", "service", "services/moving_house",
             titles("Update your address", "Adresse ändern", "Mettre à jour votre adresse"),
             tags=["moving", "address", "account"], value=5.0),
        make("sv-0603", "content", "services/moving_house",
             titles("Moving house checklist", "Checkliste für den Umzug",
                    "Check-list du déménagement"),
             tags=["moving", "checklist", "guide"], value=2.0),
        make("sv-0604", "service", "services/moving_house",
             titles("Appliance transport and reinstallation",
                    "Transport und Neuanschluss Ihrer Geräte",
                    "Transport et réinstallation de vos appareils"),
             tags=["moving", "appliance", "installation"], regions=["DE", "AT"], value=50.0,
             price=149.0),
        make("sv-0605", "offer", "services/moving_house",
             titles("New home offer: 3 months broadband free",
                    "Umzugsangebot: 3 Monate Internet gratis",
                    "Offre nouveau logement : 3 mois de box offerts"),
             tags=["moving", "broadband", "new_home"], regions=DACH, value=150.0,
             eligibility=[seg("contract_customer")], cap_=cap(2, 30 * DAY)),
        make("sv-0606", "service", "services/moving_house",
             titles("Check broadband availability at an address",
                    "Verfügbarkeit an einer Adresse prüfen", "Tester l'éligibilité d'une adresse"),
             tags=["moving", "broadband", "availability"], value=10.0),
        # account
        make("sv-0701", "service", "services/account",
             titles("Reset your account password", "Passwort zurücksetzen",
                    "Réinitialiser votre mot de passe"),
             tags=["account", "password", "self_help"], channels=SELF_SERVICE, value=2.0),
        make("sv-0702", "service", "services/account",
             titles("Manage your contract and notice periods",
                    "Vertrag und Kündigungsfristen verwalten",
                    "Gérer votre contrat et les délais de résiliation"),
             tags=["account", "contract"], value=5.0),
    ]
    # fmt: on


# ---------------------------------------------------------------------------
# Retention, agent, social
# ---------------------------------------------------------------------------


def build_retention() -> list[Row]:
    contract = seg("contract_customer")
    # fmt: off
    return [
        make("rt-0001", "retention", "retention/loyalty",
             titles("Loyalty discount: 20% off for 12 months", "Treuerabatt: 20 % für 12 Monate",
                    "Remise fidélité : -20 % pendant 12 mois"),
             tags=["loyalty", "discount"], value=220.0, eligibility=[contract, tenure_at_least(12)],
             cap_=cap(2, 30 * DAY)),
        make("rt-0002", "retention", "retention/loyalty",
             titles("Thank-you gift: 20 GB bonus data", "Dankeschön: 20 GB Bonus-Daten",
                    "Cadeau fidélité : 20 Go offerts"),
             tags=["loyalty", "data", "mobile"], value=120.0, eligibility=[contract]),
        make("rt-0003", "retention", "retention/loyalty",
             titles("Loyalty points double week", "Doppelte Treuepunkte diese Woche",
                    "Semaine des points fidélité doublés"),
             tags=["loyalty", "points"], value=100.0, window=BLACK_FRIDAY),
        make("rt-0101", "retention", "retention/renewal",
             titles("Renew now and keep your price for 2 years",
                    "Jetzt verlängern und Preis 2 Jahre sichern",
                    "Renouvelez et gardez votre prix 2 ans"),
             tags=["renewal", "price_lock"], value=260.0, eligibility=[contract]),
        make("rt-0102", "retention", "retention/renewal",
             titles("Renewal offer: new phone at 1 EUR",
                    "Verlängerungsangebot: neues Smartphone für 1 EUR",
                    "Offre de renouvellement : nouveau téléphone à 1 EUR"),
             tags=["renewal", "new_phone", "mobile"], value=300.0,
             eligibility=[contract, tenure_at_least(18)], cap_=cap(1, 30 * DAY)),
        make("rt-0103", "retention", "retention/renewal",
             titles("Switch to a cheaper plan instead of cancelling",
                    "Günstigeren Tarif statt Kündigung",
                    "Un forfait moins cher plutôt que de résilier"),
             tags=["renewal", "downgrade", "save"], value=150.0, eligibility=[contract]),
        make("rt-0104", "retention", "retention/renewal",
             titles("Pause your contract for up to 3 months", "Vertrag bis zu 3 Monate pausieren",
                    "Suspendre votre contrat jusqu'à 3 mois"),
             tags=["renewal", "pause"], value=100.0, eligibility=[contract], regions=DACH),
        make("rt-0105", "retention", "retention/renewal",
             titles("Broadband renewal: free speed boost",
                    "Internet-Verlängerung: gratis Speed-Upgrade",
                    "Renouvellement box : débit supérieur offert"),
             tags=["renewal", "broadband", "upgrade"], value=240.0,
             eligibility=[contract, seg("broadband_customer")]),
        make("rt-0106", "retention", "retention/renewal",
             titles("At-risk customer offer: 3 months half price",
                    "Sonderangebot: 3 Monate zum halben Preis",
                    "Offre spéciale : 3 mois à moitié prix"),
             tags=["save", "discount"], value=200.0, eligibility=[contract, seg("at_risk")],
             cap_=cap(1, 60 * DAY), channels=["contact_center", "chat"]),
        make("rt-0201", "retention", "retention/winback",
             titles("Welcome back: 6 months at half price",
                    "Willkommen zurück: 6 Monate zum halben Preis",
                    "Bon retour : 6 mois à moitié prix"),
             tags=["winback", "discount"], value=180.0, eligibility=[seg("former_customer")],
             channels=["email", "web", "app"]),
        make("rt-0202", "retention", "retention/winback",
             titles("Come back and get free installation",
                    "Zurückkommen und gratis Installation erhalten",
                    "Revenez, l'installation est offerte"),
             tags=["winback", "broadband", "installation"], value=160.0, regions=DACH,
             eligibility=[seg("former_customer")]),
        make("rt-0203", "retention", "retention/winback",
             titles("Reactivate your account with 10 EUR credit",
                    "Konto reaktivieren und 10 EUR Guthaben erhalten",
                    "Réactivez votre compte avec 10 EUR de crédit"),
             tags=["winback", "credit_note"], value=100.0, window=NEW_YEAR,
             eligibility=[seg("former_customer")]),
    ]
    # fmt: on


def build_agent() -> list[Row]:
    # fmt: off
    return [
        make("ag-0001", "agent", "agent/phone",
             titles("Call our customer service", "Unseren Kundenservice anrufen",
                    "Appeler notre service client"),
             tags=["phone", "support"], channels=["web", "app", "email", "chat"], value=10.0),
        make("ag-0002", "agent", "agent/chat",
             titles("Chat with an agent now", "Jetzt mit einem Berater chatten",
                    "Discuter avec un conseiller"),
             tags=["chat", "support", "live"], channels=["web", "app"], value=12.0),
        make("ag-0003", "agent", "agent/callback",
             titles("Request a callback", "Rückruf anfordern", "Demander à être rappelé"),
             tags=["callback", "support"], channels=["web", "app", "chat"], value=12.0),
        make("ag-0004", "agent", "agent/video",
             titles("Video call with a product expert", "Videoberatung mit einem Produktexperten",
                    "Appel vidéo avec un expert produit"),
             tags=["video", "advice", "premium"], channels=["web", "app"],
             regions=["DE", "AT", "CH", "FR"], value=25.0),
        make("ag-0005", "agent", "agent/specialist",
             titles("Transfer to the contracts team", "An das Vertragsteam weiterleiten",
                    "Transférer au service contrats"),
             tags=["transfer", "contract", "specialist"], channels=["contact_center", "chat"],
             value=15.0),
        make("ag-0006", "agent", "agent/specialist",
             titles("Transfer to technical support level 2",
                    "An den technischen Support (2nd Level) weiterleiten",
                    "Transférer au support technique niveau 2"),
             tags=["transfer", "tech_support", "specialist"], channels=["contact_center", "chat"],
             value=15.0),
        make("ag-0007", "agent", "agent/store",
             titles("Book an appointment in a store", "Termin in der Filiale vereinbaren",
                    "Prendre rendez-vous en magasin"),
             tags=["appointment", "store"], channels=["web", "app", "contact_center"],
             regions=EU_STORES, value=20.0),
        make("ag-0008", "agent", "agent/specialist",
             titles("Talk to a business advisor", "Mit einem Geschäftskundenberater sprechen",
                    "Parler à un conseiller entreprises"),
             tags=["business", "advisor"], value=30.0, eligibility=[seg("business")]),
        make("ag-0009", "agent", "agent/phone",
             titles("Priority hotline for premium customers", "Premium-Hotline",
                    "Ligne prioritaire clients premium"),
             tags=["phone", "premium", "priority"], channels=["web", "app", "email"], value=20.0,
             eligibility=[seg("premium")]),
        make("ag-0010", "agent", "agent/chat", titles("Chat in English with an agent", None, None),
             tags=["chat", "english"], channels=["web", "app"], regions=["GB", "US", "CH"],
             value=10.0),
    ]
    # fmt: on


def build_social() -> list[Row]:
    # fmt: off
    return [
        make("so-0001", "social", "social/referral",
             titles("Refer a friend: you both get 25 EUR",
                    "Freunde werben: Sie beide erhalten 25 EUR",
                    "Parrainez un ami : 25 EUR chacun"),
             tags=["referral", "reward"], value=15.0, channels=NOT_CONTACT_CENTER,
             cap_=cap(3, 30 * DAY)),
        make("so-0002", "social", "social/share",
             titles("Share this with a friend", "Mit Freunden teilen", "Partager avec un ami"),
             tags=["share"], value=3.0, channels=["web", "app", "email"]),
        make("so-0003", "social", "social/share",
             titles("Share your wishlist", "Wunschliste teilen", "Partager votre liste d'envies"),
             tags=["share", "wishlist", "gift"], value=5.0, channels=["web", "app"]),
        make("so-0004", "social", "social/reviews",
             titles("Write a review and earn points", "Bewertung schreiben und Punkte sammeln",
                    "Rédigez un avis et gagnez des points"),
             tags=["review", "points"], value=4.0, channels=["web", "app", "email"]),
        make("so-0005", "social", "social/referral",
             titles("Add a family member to your plan", "Familienmitglied zum Tarif hinzufügen",
                    "Ajouter un proche à votre forfait"),
             tags=["family", "referral", "mobile"], value=12.0,
             eligibility=[seg("contract_customer")]),
        make("so-0006", "social", "social/share",
             titles("Share your reading list", "Leseliste teilen",
                    "Partager votre liste de lecture"),
             tags=["share", "books", "reading_list"], value=3.0, channels=["web", "app"]),
        make("so-0007", "social", "social/community",
             titles("Join the book club community", "Dem Buchclub beitreten",
                    "Rejoindre le club de lecture"),
             tags=["community", "books"], value=4.0, channels=["web", "app", "email"]),
        make("so-0008", "social", "social/referral",
             titles("Invite a friend to the student plan", None, None),
             tags=["referral", "student"], value=8.0, regions=["GB"], eligibility=[seg("student")]),
    ]
    # fmt: on


# ---------------------------------------------------------------------------


def build_actions() -> list[Row]:
    """All catalog rows in file order (validated)."""
    rows = [
        *build_books(),
        *build_appliances(),
        *build_electronics(),
        *build_fashion(),
        *build_plans(),
        *build_services(),
        *build_retention(),
        *build_agent(),
        *build_social(),
    ]
    seen: set[str] = set()
    for row in rows:
        Action.model_validate(row)
        if row["id"] in seen:
            raise ValueError(f"duplicate action id {row['id']}")
        seen.add(row["id"])
    return rows


def render() -> str:
    """The exact text of ``catalog.jsonl``."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in build_actions())


def write(path: Path) -> int:
    text = render()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return text.count("\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=CATALOG_PATH, help="where to write")
    args = parser.parse_args(argv)
    count = write(args.out)
    print(f"wrote {count} actions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

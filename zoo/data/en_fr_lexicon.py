"""The words of the embedded English→French corpus, with their genders and inflections.

`synthetic_en_fr.py` builds sentences from these. The lists are small on purpose: a model
learns them in minutes on a CPU, yet must still learn French gender, number agreement,
adjective placement and the contractions `du` / `des`.
"""

from __future__ import annotations

import dataclasses

# Noun kinds, used to keep sentences sensible: only animate subjects act, only food is
# eaten, and things sit on or in places.
ANIMATE = "animate"
THING = "thing"
FOOD = "food"
PLACE = "place"

MASCULINE = "m"
FEMININE = "f"


@dataclasses.dataclass(frozen=True)
class Noun:
    """A noun in both languages.

    Attributes:
        english: singular English form.
        english_plural: plural English form.
        french: singular French form.
        french_plural: plural French form.
        gender: `"m"` or `"f"`, the French grammatical gender.
        kind: one of `"animate"`, `"thing"`, `"food"`, `"place"`.
    """

    english: str
    english_plural: str
    french: str
    french_plural: str
    gender: str
    kind: str


@dataclasses.dataclass(frozen=True)
class Adjective:
    """An adjective: one English form, four French forms.

    Attributes:
        english: the English form (English adjectives do not inflect).
        masculine: French masculine singular.
        feminine: French feminine singular.
        masculine_plural: French masculine plural.
        feminine_plural: French feminine plural.
        before_noun: whether the French adjective goes before the noun, as size and age
            adjectives do (`un petit chat`); colours and the rest go after it
            (`un chat noir`).
    """

    english: str
    masculine: str
    feminine: str
    masculine_plural: str
    feminine_plural: str
    before_noun: bool = False

    def french(self, gender: str, plural: bool) -> str:
        """The French form that agrees with a noun of `gender` and number."""
        if gender == MASCULINE:
            return self.masculine_plural if plural else self.masculine
        return self.feminine_plural if plural else self.feminine


@dataclasses.dataclass(frozen=True)
class Verb:
    """A transitive verb in the present tense, third person.

    Attributes:
        english_singular: e.g. `"sees"`.
        english_plural: e.g. `"see"`.
        french_singular: e.g. `"voit"`.
        french_plural: e.g. `"voient"`.
        object_kinds: the noun kinds that make sensible objects.
    """

    english_singular: str
    english_plural: str
    french_singular: str
    french_plural: str
    object_kinds: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Preposition:
    """A preposition of place. A French one that ends in `de` contracts with `le`/`les`.

    Attributes:
        english: e.g. `"next to"`.
        french: e.g. `"à côté de"`.
    """

    english: str
    french: str


def _regular_noun(english: str, french: str, gender: str, kind: str) -> Noun:
    return Noun(english, english + "s", french, french + "s", gender, kind)


NOUNS: tuple[Noun, ...] = (
    # Animate.
    _regular_noun("cat", "chat", MASCULINE, ANIMATE),
    _regular_noun("dog", "chien", MASCULINE, ANIMATE),
    _regular_noun("boy", "garçon", MASCULINE, ANIMATE),
    _regular_noun("girl", "fille", FEMININE, ANIMATE),
    Noun("man", "men", "homme", "hommes", MASCULINE, ANIMATE),
    Noun("woman", "women", "femme", "femmes", FEMININE, ANIMATE),
    Noun("bird", "birds", "oiseau", "oiseaux", MASCULINE, ANIMATE),
    Noun("horse", "horses", "cheval", "chevaux", MASCULINE, ANIMATE),
    Noun("mouse", "mice", "souris", "souris", FEMININE, ANIMATE),
    Noun("child", "children", "enfant", "enfants", MASCULINE, ANIMATE),
    # Things.
    _regular_noun("ball", "balle", FEMININE, THING),
    _regular_noun("book", "livre", MASCULINE, THING),
    _regular_noun("cup", "tasse", FEMININE, THING),
    _regular_noun("key", "clé", FEMININE, THING),
    _regular_noun("pen", "stylo", MASCULINE, THING),
    Noun("hat", "hats", "chapeau", "chapeaux", MASCULINE, THING),
    _regular_noun("shoe", "chaussure", FEMININE, THING),
    _regular_noun("bag", "sac", MASCULINE, THING),
    _regular_noun("toy", "jouet", MASCULINE, THING),
    _regular_noun("bottle", "bouteille", FEMININE, THING),
    # Food.
    _regular_noun("apple", "pomme", FEMININE, FOOD),
    Noun("cake", "cakes", "gâteau", "gâteaux", MASCULINE, FOOD),
    _regular_noun("bread", "pain", MASCULINE, FOOD),
    _regular_noun("egg", "œuf", MASCULINE, FOOD),
    _regular_noun("orange", "orange", FEMININE, FOOD),
    # Places.
    _regular_noun("table", "table", FEMININE, PLACE),
    _regular_noun("bed", "lit", MASCULINE, PLACE),
    Noun("box", "boxes", "boîte", "boîtes", FEMININE, PLACE),
    _regular_noun("chair", "chaise", FEMININE, PLACE),
    _regular_noun("house", "maison", FEMININE, PLACE),
    _regular_noun("car", "voiture", FEMININE, PLACE),
    _regular_noun("tree", "arbre", MASCULINE, PLACE),
    _regular_noun("window", "fenêtre", FEMININE, PLACE),
    Noun("sofa", "sofas", "canapé", "canapés", MASCULINE, PLACE),
    _regular_noun("garden", "jardin", MASCULINE, PLACE),
)

ADJECTIVES: tuple[Adjective, ...] = (
    Adjective("small", "petit", "petite", "petits", "petites", before_noun=True),
    Adjective("big", "grand", "grande", "grands", "grandes", before_noun=True),
    Adjective("young", "jeune", "jeune", "jeunes", "jeunes", before_noun=True),
    Adjective("pretty", "joli", "jolie", "jolis", "jolies", before_noun=True),
    Adjective("red", "rouge", "rouge", "rouges", "rouges"),
    Adjective("black", "noir", "noire", "noirs", "noires"),
    Adjective("green", "vert", "verte", "verts", "vertes"),
    Adjective("blue", "bleu", "bleue", "bleus", "bleues"),
    Adjective("white", "blanc", "blanche", "blancs", "blanches"),
    Adjective("yellow", "jaune", "jaune", "jaunes", "jaunes"),
    Adjective("grey", "gris", "grise", "gris", "grises"),
    Adjective("heavy", "lourd", "lourde", "lourds", "lourdes"),
)

_ANY = (ANIMATE, THING, FOOD, PLACE)
VERBS: tuple[Verb, ...] = (
    Verb("sees", "see", "voit", "voient", _ANY),
    Verb("eats", "eat", "mange", "mangent", (FOOD,)),
    Verb("has", "have", "a", "ont", (ANIMATE, THING, FOOD)),
    Verb("likes", "like", "aime", "aiment", _ANY),
    Verb("takes", "take", "prend", "prennent", (THING, FOOD)),
    Verb("pushes", "push", "pousse", "poussent", (THING, PLACE)),
    Verb("finds", "find", "trouve", "trouvent", (ANIMATE, THING, FOOD)),
    Verb("holds", "hold", "tient", "tiennent", (THING, FOOD)),
    Verb("wants", "want", "veut", "veulent", (THING, FOOD)),
    Verb("watches", "watch", "regarde", "regardent", _ANY),
    Verb("carries", "carry", "porte", "portent", (THING, FOOD)),
)

PREPOSITIONS: tuple[Preposition, ...] = (
    Preposition("on", "sur"),
    Preposition("under", "sous"),
    Preposition("in", "dans"),
    Preposition("in front of", "devant"),
    Preposition("behind", "derrière"),
    Preposition("near", "près de"),
    Preposition("next to", "à côté de"),
    Preposition("far from", "loin de"),
)

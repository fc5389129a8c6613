"""Schemathesis hooks of `make test-api` and `make fuzz-api` (loaded through SCHEMATHESIS_HOOKS).

Free-text items (`TextItem`: allergies, conditions, ingredients) are limited to 100 characters
after NFC normalisation and collapsing spaces, which JSON Schema cannot say: the document's
`maxLength` counts the raw characters. A body with an item the two counts disagree on (a
100-character item with a leading space, say) is not generated; every other length is.
"""

import unicodedata

import schemathesis

TEXT_LIST_FIELDS = {"healthConditions", "allergies", "ingredientsOnHand"}
MAX_TEXT_CHARS = 100


def normalised_length(text):
    """The length the parser counts: NFC, runs of spaces collapsed, trimmed."""
    return len(" ".join(part for part in unicodedata.normalize("NFC", text).split(" ") if part))


def has_ambiguous_length(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in TEXT_LIST_FIELDS and isinstance(item, list):
                for text in item:
                    if isinstance(text, str) and (len(text) > MAX_TEXT_CHARS) != (
                        normalised_length(text) > MAX_TEXT_CHARS
                    ):
                        return True
            if has_ambiguous_length(item):
                return True
    if isinstance(value, list):
        return any(has_ambiguous_length(item) for item in value)
    return False


@schemathesis.hook
def filter_body(context, body):
    return not has_ambiguous_length(body)


@schemathesis.hook
def filter_case(context, case):
    # The coverage phase builds whole cases without the body filter above.
    body = getattr(case, "body", None)
    return not has_ambiguous_length(body)

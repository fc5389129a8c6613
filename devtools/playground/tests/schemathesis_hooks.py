"""Schemathesis hooks of `make test-api` and `make fuzz-api` (loaded through SCHEMATHESIS_HOOKS).

Known finding, reported and not yet fixed in the request parser: JSON Schema counts a whole
number written with a fraction (`"servings": 2.0`) as an integer, but the parser refuses it as
a wrong type (400). Until the parser accepts such numbers, bodies carrying one in an integer
field are not generated, so a run keeps looking for new mismatches instead of finding this one
again. Remove this hook when the parser takes `2.0` for `2`.
"""

import schemathesis

INTEGER_FIELDS = {"servings", "budget", "maxCalories", "dimensions"}


def has_whole_float(value):
    if isinstance(value, dict):
        return any(
            (key in INTEGER_FIELDS and isinstance(item, float) and item.is_integer()) or has_whole_float(item)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(has_whole_float(item) for item in value)
    return False


@schemathesis.hook
def filter_body(context, body):
    return not has_whole_float(body)

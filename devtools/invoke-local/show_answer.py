"""Prints one `cargo lambda invoke --output-format json` answer for `make invoke-local`: an
API Gateway answer as `HTTP <status>` and its JSON body, a direct answer as `direct` and its
JSON; embedding vectors are summarised (length, norm) instead of printed whole."""
import json
import math
import sys


def summarise(value):
    if isinstance(value, dict):
        return {k: (summarise_vectors(v) if k == "embeddings" else summarise(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [summarise(v) for v in value]
    return value


def summarise_vectors(vectors):
    if not isinstance(vectors, list):
        return vectors
    return [
        "%d values, norm %.3f" % (len(v), math.sqrt(sum(x * x for x in v)))
        if isinstance(v, list) else v
        for v in vectors
    ]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        answer = json.load(f)
    if isinstance(answer, dict) and "statusCode" in answer:
        body = answer.get("body") or "null"
        try:
            body = json.loads(body)
        except ValueError:
            pass
        print(f"HTTP {answer['statusCode']}")
        print(json.dumps(summarise(body), ensure_ascii=False, indent=2))
    else:
        print("direct")
        print(json.dumps(summarise(answer), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

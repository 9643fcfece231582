"""Parses an exposition with prometheus_client's parsers, the strict ones Python users
and exporters rely on. Usage: parse.py (text|openmetrics) FILE. Exit 0 and a line of
figures when the document parses; exit 1 with the parser's complaint when it does not."""
import sys

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families


def main():
    format_name, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as file:
        document = file.read()
    parse = openmetrics_families if format_name == "openmetrics" else text_families
    try:
        families = list(parse(document))
    except Exception as error:  # the parsers raise ValueError and friends
        print(f"{format_name}: {type(error).__name__}: {error}")
        return 1
    samples = sum(len(family.samples) for family in families)
    series = set()
    for family in families:
        for sample in family.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            if key in series:
                print(f"{format_name}: duplicate series {key}")
                return 1
            series.add(key)
    print(f"{format_name}: {len(families)} families, {samples} samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())

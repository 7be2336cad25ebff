"""Small text helpers shared by statements, recommendations and reports."""

from __future__ import annotations


def in_sentence(label: str) -> str:
    """A label as it reads inside a sentence: 'Sham procedure' -> 'sham procedure', but
    acronyms and names stay ('DRG pulsed radiofrequency', 'SSRI')."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label

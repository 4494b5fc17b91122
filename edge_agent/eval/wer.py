"""Word error rate for speech evaluation, with the normalisation the test sets need.
"""
from __future__ import annotations

import re

__all__ = ['normalise_text', 'word_error_rate']


_NUMBER_WORDS = {'zero': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5',
                 'six': '6', 'seven': '7', 'eight': '8', 'nine': '9', 'ten': '10'}
_CONTRACTIONS = {"what's": 'what is', "where's": 'where is', "it's": 'it is',
                 "let's": 'let us', "don't": 'do not', "i'm": 'i am', "that's": 'that is'}


def normalise_text(text: str) -> list[str]:
    """Words for WER: lower case, contractions expanded, numbers as digits, no punctuation."""
    text = text.lower()
    for short, full in _CONTRACTIONS.items():
        text = text.replace(short, full)
    words = re.findall(r"[a-z0-9']+", text)
    return [_NUMBER_WORDS.get(w, w) for w in words]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER: word edits summed over pairs / reference words."""
    edits = total = 0
    for ref, hyp in zip(references, hypotheses, strict=True):
        r, h = normalise_text(ref), normalise_text(hyp)
        row = list(range(len(h) + 1))
        for i, rw in enumerate(r, 1):
            prev, row[0] = row[0], i
            for j, hw in enumerate(h, 1):
                prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
        edits += row[len(h)]
        total += len(r)
    return edits / max(total, 1)

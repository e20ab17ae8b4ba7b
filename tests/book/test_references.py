"""Is book/references.bib well formed (fast, static checks; Sphinx itself tolerates stray text)?"""

from __future__ import annotations

import re

from conftest import REPO

BIB = REPO / "book" / "references.bib"
ENTRY_START = re.compile(r"@(\w+)\s*\{\s*([^,\s]+)\s*,")


def split_entries(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The (type, key) of every top-level @entry{...}, and whatever non-blank text lies outside them."""
    entries, stray, i = [], [], 0
    while i < len(text):
        match = ENTRY_START.match(text, i)
        if match:
            depth, j = 0, text.index("{", i)
            while True:  # walk to the brace that closes the entry
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
                if depth == 0 or j == len(text):
                    break
            entries.append((match.group(1).lower(), match.group(2)))
            i = j
        elif text[i].isspace():
            i += 1
        else:
            line_end = text.find("\n", i)
            stray.append(text[i : line_end if line_end != -1 else len(text)])
            i = line_end + 1 if line_end != -1 else len(text)
    return entries, stray


def test_no_text_between_entries():
    """Is every non-blank character of references.bib inside an entry (no stray brace after one)?"""
    _, stray = split_entries(BIB.read_text())
    assert stray == [], f"text outside any @entry{{...}} in {BIB.name}: {stray}"


def test_keys_are_unique():
    """Is every citation key defined once (two entries with one key make citations ambiguous)?"""
    entries, _ = split_entries(BIB.read_text())
    keys = [key for _, key in entries]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert duplicates == [], f"keys defined more than once in {BIB.name}: {duplicates}"
    assert len(entries) >= 20, f"expected the book's bibliography, found {len(entries)} entries"

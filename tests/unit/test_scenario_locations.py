"""The TOML line locator behind `file:line` errors: lines counted by hand in the texts below."""

from __future__ import annotations

import tomllib

from harness.tomlcheck import Locations

TEXT = '''# a comment with [brackets] and { braces }
top = "a string with ] and } and # inside"
multi = """line one
line two with [[scenario]]"""

[values]
A = 1  # trailing [comment]
B = [
  1,
  'two ]',
  { c = 3, d = "\\" ] }, [ x" },
  4,
]

[[scenario]]
name = "first"
actions = [{ type = "X", addr = 1 }, { type = "Y" }]

[[scenario]]
name = "second"
actions = [
  { type = "X" },

  { type = "Y", deep = [{ z = 1 }] },
]
dotted.key = 5
'''


def test_keys_elements_and_inline_tables_are_found_on_their_lines() -> None:
    assert tomllib.loads(TEXT)["values"]["B"][2]["d"] == '" ] }, [ x'
    loc = Locations(TEXT)
    assert loc.line(("top",)) == 2
    assert loc.line(("multi",)) == 3
    assert loc.line(("values",)) == 6
    assert loc.line(("values", "A")) == 7
    assert loc.line(("values", "B", 1)) == 10
    assert loc.line(("values", "B", 2, "d")) == 11
    assert loc.line(("values", "B", 3)) == 12
    assert loc.line(("scenario", 0)) == 15
    assert loc.line(("scenario", 0, "actions", 1)) == 17
    assert loc.line(("scenario", 1, "name")) == 20
    assert loc.line(("scenario", 1, "actions", 1, "deep", 0, "z")) == 24
    assert loc.line(("scenario", 1, "dotted", "key")) == 26


def test_an_unknown_path_falls_back_to_its_nearest_ancestor() -> None:
    loc = Locations(TEXT)
    assert loc.line(("scenario", 1, "actions", 7, "addr")) == 21
    assert loc.line(("nowhere",)) == 1

"""Report tables as typed data, and their Markdown form.

The Markdown report and the HTML report render the same `Section`s: a cell carries its text,
an optional code part (an exit, a field), a tone (a verdict or a coverage class, for colour)
and an optional relative link. Only the renderers know about `|`, backticks or HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Tones besides verdict values: coverage counts, gaps, "cannot occur" and "not returned".
COUNT, GAP, NA, IMPL, NONE = "count", "gap", "na", "impl", "none"


@dataclass(frozen=True, slots=True)
class Cell:
    text: str = ""
    code: str = ""  # shown as code after `text` (an exit, a field)
    tone: str = ""  # a verdict value or one of the tones above: the colour of the cell
    href: str = ""  # a relative link (the HTML report); "#id" for a place in the report
    strong: bool = False  # a note a reader must not miss (NOT COVERED, review the entry)
    title: str = ""  # longer text for a tooltip (the case's detail)

    @property
    def plain(self) -> str:
        return " ".join(p for p in (self.text, self.code) if p)


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    intro: str
    table: Table | None
    level: int = 2
    anchor: str = ""
    notes: tuple[str, ...] = ()  # list items after the table


def cells(*texts: str) -> tuple[Cell, ...]:
    return tuple(Cell(t) for t in texts)


def md_escape(text: str) -> str:
    """Text safe inside one Markdown table cell: `|` would end the cell on GitHub, a newline
    the row."""
    return " ".join(text.replace("\\", "\\\\").replace("|", "\\|").split())


def md_cell(cell: Cell) -> str:
    code = ""
    if cell.code:  # in a code span backslashes are literal, but GitHub still splits on `|`
        body = " ".join(cell.code.replace("|", "\\|").split())
        code = f"`` {body} ``" if "`" in body else f"`{body}`"
    text = md_escape(cell.text)
    if cell.strong and text:
        text = f"**{text}**"
    return " ".join(p for p in (text, code) if p)


def md_table(table: Table) -> list[str]:
    out = ["| " + " | ".join(md_escape(h) for h in table.header) + " |",
           "|" + "---|" * len(table.header)]
    for row in table.rows:
        out.append("| " + " | ".join(md_cell(c) or " " for c in row) + " |")
    return out


def md_section(section: Section) -> list[str]:
    out = ["#" * section.level + " " + section.title, ""]
    if section.intro:
        out += [section.intro, ""]
    if section.table is not None:
        out += [*md_table(section.table), ""]
    if section.notes:
        out += [*(f"- {n}" for n in section.notes), ""]
    return out


def md_sections(sections: Sequence[Section]) -> list[str]:
    return [line for s in sections for line in md_section(s)]

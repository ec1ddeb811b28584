"""A report is a list of blocks rendered twice: HTML (images embedded as data URIs, one self-contained file) and
Markdown (images written beside it)."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

from converter.base import atomic_files

CSS = """body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:8px 0 18px}th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}
th{background:#eef2f7;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:6px 10px;margin:8px 0}
.fail{color:#b00020;font-weight:bold}.pass{color:#0a7a2f;font-weight:bold}img{max-width:100%;margin:6px 0}
h2{border-bottom:2px solid #dde;padding-bottom:4px;margin-top:32px}"""


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Paragraph:
    text: str
    note: bool = False


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric: set[int] = field(default_factory=set)  # column indexes aligned right


@dataclass(frozen=True)
class Image:
    name: str  # file name for the Markdown copy
    title: str
    png: bytes


Block = Heading | Paragraph | Table | Image


def cell_num(x: object, spec: str) -> str:
    """A number formatted for a table cell; '-' for anything else (None, text, booleans)."""
    return format(x, spec) if isinstance(x, (int, float)) and not isinstance(x, bool) else "-"


def _cell(text: str) -> str:
    escaped = html.escape(text)
    if text in ("PASS", "ok"):
        return f'<span class="pass">{escaped}</span>'
    if text in ("FAIL", "failed"):
        return f'<span class="fail">{escaped}</span>'
    return escaped


def to_html(title: str, blocks: list[Block]) -> str:
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for b in blocks:
        if isinstance(b, Heading):
            anchor = f' id="{html.escape(b.anchor)}"' if b.anchor else ""
            parts.append(f"<h{b.level}{anchor}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            parts.append(f'<p class="note">{html.escape(b.text)}</p>' if b.note else f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
            body = "".join(
                "<tr>"
                + "".join(f"<td{' class=num' if i in b.numeric else ''}>{_cell(c)}</td>" for i, c in enumerate(row))
                + "</tr>"
                for row in b.rows
            )
            parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        else:
            data = base64.b64encode(b.png).decode()
            parts.append(
                f'<figure><img alt="{html.escape(b.title)}" title="{html.escape(b.title)}" '
                f'src="data:image/png;base64,{data}"><figcaption>{html.escape(b.title)}</figcaption></figure>'
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def to_markdown(title: str, blocks: list[Block], assets: Path) -> str:
    lines = [f"# {title}", ""]
    for b in blocks:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + b.text, ""]
        elif isinstance(b, Paragraph):
            lines += [("> " if b.note else "") + b.text, ""]
        elif isinstance(b, Table):
            lines.append("| " + " | ".join(b.headers) + " |")
            lines.append("|" + "|".join("---:" if i in b.numeric else "---" for i in range(len(b.headers))) + "|")
            lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in b.rows]
            lines.append("")
        else:
            atomic_files.write_bytes(assets / b.name, b.png)
            lines += [f"![{b.title}]({assets.name}/{b.name})", ""]
    return "\n".join(lines)

"""Every command README.md and docs/*.md show exists as shown: each `make TARGET VAR=...` names a target of the
Makefile and variables that target reads (or the toolkit reads from the environment, which make passes on); each
`python -m converter|benchmark|android_demo...` names a subcommand that exists, and every --flag shown is one its
parser defines (exactly: no abbreviation). Commands are read from fenced code blocks and inline `code` spans;
words in capitals (DIR, FILE.nb, NAME) and `...` are values, never checked."""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import android_demo.build
import android_demo.goldens
import android_demo.install
import android_demo.unit_tests
from benchmark.cli.main import _parser as benchmark_parser
from converter.cli.main import _parser as converter_parser
from tests.conftest import REPO

# The parsers of `python -m MODULE`; a documented module not here is checked to exist and run, and may show no flag.
PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "converter": converter_parser,
    "benchmark": benchmark_parser,
    "android_demo.build": android_demo.build.parser,
    "android_demo.goldens": android_demo.goldens.parser,
    "android_demo.install": android_demo.install.parser,
    "android_demo.unit_tests": android_demo.unit_tests.parser,
}
PACKAGES = ("converter", "benchmark", "android_demo")
DEFAULT_SUBCOMMAND = {"converter": "zoo"}  # `python -m converter [--flags]` runs `zoo` (converter/cli/main.py)
# Code that mentions `make` or `python -m` without being a toolkit command: (file, the text as shown) -> why.
# None today; prose such as "# make sure" in a code block would belong here.
NOT_COMMANDS: dict[tuple[str, str], str] = {}

COMMAND_START = re.compile(r"(?<![\w./$-])(?:make|python -m)(?=\s)")
# a comment, another shell command, the prose around it, or a diagram's lines and arrows
CUT = re.compile(r"(?:^|\s)#|;|&&|\|\||[()`\u2500-\u257f\u25b2-\u25c4]")
VARIABLE = re.compile(r"^([A-Z][A-Z0-9_]*)=")
# DIR, FILE.nb, HOST:PORT, <run id>, ..., and the | of [--images DIR | --dataset DIR]
VALUE = re.compile(r"^(?:[A-Z][A-Z0-9_]*(?![a-z]).*|<.*>|\.\.\.|\||)$")
ENV_READ = re.compile(r"(?:environ\.get|environ\[|getenv|env_path|env_list)\(?\s*[\"']([A-Z][A-Z0-9_]*)[\"']")


@dataclass(frozen=True)
class Shown:
    """A command as a document shows it."""

    where: str  # file:line
    text: str


def code_texts(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of each fenced code line (backslash continuations joined) and each inline code span (which may
    run over lines within its paragraph)."""
    lines = path.read_text().splitlines()
    prose: list[str] = []
    fence: str | None = None
    pending: tuple[int, str] | None = None
    for n, line in enumerate(lines, 1):
        marker = re.match(r"^\s*(```+|~~~+)", line)
        if fence is not None:
            if marker and marker.group(1).startswith(fence):
                fence = None
            else:
                start, text = pending or (n, "")
                pending = None
                if line.rstrip().endswith("\\"):
                    pending = (start, text + line.rstrip()[:-1] + " ")
                else:
                    yield start, text + line
            prose.append("")
            continue
        if marker:
            fence = marker.group(1)
        prose.append("" if marker else line)
    paragraph_start = 0
    for n, line in enumerate([*prose, ""], 1):
        if line.strip():
            continue
        paragraph = "\n".join(prose[paragraph_start : n - 1])
        for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", paragraph, re.S):
            yield paragraph_start + 1 + paragraph.count("\n", 0, m.start(2)), m.group(2).replace("\n", " ")
        paragraph_start = n


def shown_commands(path: Path) -> list[Shown]:
    """Every `make ...` and `python -m ...` in the code of a Markdown file, cut at comments, other shell commands and
    the prose around it; a command in a comment (`# or: python -m ...`) is a command too."""
    found: list[tuple[int, Shown]] = []
    rel = path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else path.name
    for line, text in code_texts(path):
        for piece in CUT.split(text):
            starts = [m.start() for m in COMMAND_START.finditer(piece)]
            if not starts:
                continue
            for a, b in zip(starts, [*starts[1:], len(piece)], strict=True):
                found.append((line, Shown(f"{rel}:{line}", " ".join(piece[a:b].split()))))
    return [s for _, s in sorted(found, key=lambda x: x[0])]


@dataclass(frozen=True)
class Makefile:
    targets: frozenset[str]
    reads: dict[str, frozenset[str]]  # target -> the variables its rule uses, through the variables they use

    @staticmethod
    def parse(path: Path) -> Makefile:
        logical = re.sub(r"\\\n", " ", path.read_text()).splitlines()
        definitions: dict[str, str] = {}
        rules: dict[str, str] = {}
        current: list[str] = []
        for line in logical:
            if line.startswith("\t") and current:
                for t in current:
                    rules[t] += " " + line
                continue
            code = re.sub(r"(?:^|\s)#.*", "", line)
            if m := re.match(r"^\s*(?:override\s+|export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:\?|:|::|\+)?=(.*)", code):
                definitions[m.group(1)] = definitions.get(m.group(1), "") + " " + m.group(2)
                current = []
            elif m := re.match(r"^([^\s:=#][^:=#]*?)\s*:(?![:=])(.*)", code):
                current = [t for t in m.group(1).split() if not t.startswith((".", "$"))]
                for t in current:
                    rules[t] = m.group(2)
            elif m := re.match(r"^\s*(?:ifdef|ifndef)\s+(\w+)", code):
                definitions.setdefault("", "")
                definitions[""] += f" $({m.group(1)})"  # a conditional: read by every rule
            elif code.strip():
                current = []

        def closure(text: str) -> frozenset[str]:
            seen: set[str] = set()
            todo = re.findall(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", text + definitions.get("", ""))
            while todo:
                name = todo.pop()
                if name not in seen:
                    seen.add(name)
                    todo += re.findall(r"\$[({]([A-Za-z_][A-Za-z0-9_]*)[)}]", definitions.get(name, ""))
            return frozenset(seen)

        return Makefile(frozenset(rules), {t: closure(text) for t, text in rules.items()})


def env_variables() -> frozenset[str]:
    """Variables the toolkit reads from the environment (make passes a command line's VAR=value on to it)."""
    sources = [p for root in PACKAGES for p in (REPO / root).rglob("*.py")]
    return frozenset(name for p in sources for name in ENV_READ.findall(p.read_text()))


def _words(text: str) -> list[str]:
    """The words of a command, brackets of optional parts dropped; prose punctuation ends it (`converter:`)."""
    out = []
    text = re.sub(r"<[^<>]*>", lambda m: m.group(0).replace(" ", "_"), text)  # <a placeholder> is one value
    for raw in text.split():
        word = raw.strip("[]{}")
        out.append(word.rstrip(",.;:") if word != "..." else word)
        if re.search(r"[,;:]$|[^.]\.$", word):
            break
    return out


def check_make(shown: Shown, words: list[str], mk: Makefile, env: frozenset[str]) -> list[str]:
    head = f"{shown.where}: `{shown.text}`:"
    problems = []
    targets: list[str] = []
    variables: list[str] = []
    for word in words:
        if m := VARIABLE.match(word):
            variables.append(m.group(1))
        elif VALUE.match(word):
            continue
        elif re.fullmatch(r"[a-z][a-z0-9*-]*", word):
            matched = sorted(fnmatch.filter(mk.targets, word))
            if not matched:
                problems.append(f"{head} no Makefile target {word}")
            targets += matched
        else:
            problems.append(f"{head} {word!r} is neither a target, VAR=value nor a value")
    if not targets:
        return problems or [f"{head} no target named"]
    for name in variables:
        if name not in env and not any(name in mk.reads[t] for t in targets):
            where = sorted(t for t, names in mk.reads.items() if name in names)
            also = f"the Makefile reads it only in: {', '.join(where)}" if where else "nor does any other rule"
            problems.append(
                f"{head} variable {name} is read neither by `make {' '.join(targets)}` ({also}) nor by the toolkit "
                "from the environment"
            )
    return problems


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def check_python(shown: Shown, words: list[str]) -> list[str]:
    module, rest = words[0], words[1:]
    head = f"{shown.where}: `{shown.text}`:"
    if module not in PARSERS:
        spec = importlib.util.find_spec(module) if module.split(".")[0] in PACKAGES else None
        runnable = spec is not None and (
            importlib.util.find_spec(module + ".__main__") is not None
            if spec.submodule_search_locations
            else spec.origin is not None and '__name__ == "__main__"' in Path(spec.origin).read_text()
        )
        if not runnable:
            return [f"{head} no runnable module {module}"]
        flags = [w for w in rest if w.startswith("-")]
        return [f"{head} {module} shows {', '.join(flags)}: add its parser to PARSERS to check them"] if flags else []
    parser = PARSERS[module]()
    commands = _subparsers(parser)
    if commands:
        if not rest:
            return []  # the CLI named, not a command
        name = rest[0] if not rest[0].startswith("-") else DEFAULT_SUBCOMMAND.get(module)
        if name is None or name not in commands:
            return [f"{head} no subcommand {name or '(none)'} of python -m {module} (it has: {', '.join(commands)})"]
        rest = rest[1:] if rest[0] == name else rest
        parser = commands[name]
    problems = []
    positionals = [a for a in parser._actions if not a.option_strings]
    if rest and not rest[0].startswith("-") and positionals and positionals[0].choices is not None:
        choices = list(positionals[0].choices)
        if rest[0] not in choices and not VALUE.match(rest[0]):
            problems.append(f"{head} {rest[0]!r} is not one of {', '.join(choices)}")
    for word in rest:
        flag = word.split("=", 1)[0]
        if re.fullmatch(r"--?[A-Za-z][\w-]*", flag) and flag not in parser._option_string_actions:
            options = sorted(o for o in parser._option_string_actions if o.startswith("--"))
            problems.append(f"{head} {parser.prog} has no {flag} (it has: {', '.join(options)})")
    return problems


def check(shown: Shown, mk: Makefile, env: frozenset[str]) -> list[str]:
    rel = shown.where.rsplit(":", 1)[0]
    if (rel, shown.text) in NOT_COMMANDS:
        return []
    tool, _, rest = shown.text.partition(" ")
    if tool == "make":
        return check_make(shown, _words(rest), mk, env)
    words = _words(rest.removeprefix("-m "))
    return check_python(shown, words) if words else [f"{shown.where}: `{shown.text}`: no module named"]


def resolves(dotted: str) -> bool:
    """A toolkit module, or an attribute of one (`benchmark.records.run_files.RunKind`)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:i]))
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            obj: object = importlib.import_module(".".join(parts[:i]))
            for name in parts[i:]:
                if not hasattr(obj, name):
                    return False
                obj = getattr(obj, name)
            return True
    return False


def docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_command_the_docs_show_exists() -> None:
    mk, env = Makefile.parse(REPO / "Makefile"), env_variables()
    shown = [s for path in docs() for s in shown_commands(path)]
    assert sum(s.text.startswith("make ") for s in shown) > 50 and sum(s.text.startswith("python") for s in shown) > 20
    problems = [p for s in shown for p in check(s, mk, env)]
    assert not problems, f"{len(problems)} command(s) in the docs do not match the code:\n" + "\n".join(problems)


def test_every_toolkit_module_the_docs_name_exists() -> None:
    named = re.compile(r"(?<![\w/.-])((?:converter|benchmark|android_demo)(?:\.[A-Za-z_]\w*)+)(?![\w/-])")
    problems = [
        f"{path.relative_to(REPO)}:{line}: no module or attribute {name}"
        for path in docs()
        for line, text in code_texts(path)
        for name in named.findall(text)
        if not name.endswith((".py", ".yaml", ".json", ".md")) and not resolves(name)
    ]
    assert not problems, "\n".join(problems)


def test_the_makefile_passes_only_flags_the_clis_accept() -> None:
    """The Makefile's own `$(PY) -m MODULE SUBCOMMAND ... --flag` calls (ZOO_ARGS and the like expanded), checked
    like the docs' commands."""
    text = (REPO / "Makefile").read_text()
    logical = [  # (first line, text with continuations joined)
        (text.count("\n", 0, m.start()) + 1, m.group(0).replace("\\\n", " "))
        for m in re.finditer(r"^(?:[^\n]*\\\n)*[^\n]*$", text, re.M)
    ]
    # the variables that hold flags (ZOO_ARGS, BENCH_ARGS, ...)
    defined = {m[1]: m[2] for _, line in logical if (m := re.match(r"^([A-Z_]+)\s*[:?]?=(.*--.*)", line))}
    problems = []
    for n, line in logical:
        expanded = re.sub(r"\$\(([A-Z_]+)\)", lambda m: defined.get(m.group(1), m.group(0)), line)
        for call in re.findall(r"\$\(PY\) -m (\S+(?: [a-z][\w-]*)?)(.*?)(?=\$\(PY\)|$)", expanded):
            flags = re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", call[1])
            shown = " ".join(["python -m", call[0], *flags])
            if call[0].split()[0].startswith(PACKAGES):
                problems += check_python(Shown(f"Makefile:{n}", shown), shown.split()[2:])
    assert problems == [], "\n".join(problems)


def test_the_reader_finds_commands_in_spans_blocks_and_comments(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "Run `make parity\nIMAGES=DIR` or `python -m benchmark\nlatency --serial S`, then `make report`.\n\n"
        "```sh\nNDK_ROOT=... make runner \\\n  PADDLE_LITE_SRC=src   # or: python -m converter model DIR\n"
        "  cli/   python -m converter: arguments\n```\n"
    )
    assert [(s.where, s.text) for s in shown_commands(doc)] == [
        ("x.md:1", "make parity IMAGES=DIR"),
        ("x.md:2", "python -m benchmark latency --serial S"),
        ("x.md:3", "make report"),
        ("x.md:6", "make runner PADDLE_LITE_SRC=src"),
        ("x.md:6", "python -m converter model DIR"),
        ("x.md:8", "python -m converter: arguments"),
    ]


def test_mismatches_are_reported_with_file_and_line(tmp_path: Path) -> None:
    doc = tmp_path / "x.md"
    doc.write_text(
        "`make convert FORCE=1`, `make nosuch`, `make bench-*`, `python -m benchmark latency --serail S`,\n"
        "`python -m converter --models a,b [--nope]`, `python -m benchmark history list`, `python -m benchmark nope`\n"
    )
    mk, env = Makefile.parse(REPO / "Makefile"), env_variables()
    problems = [p for s in shown_commands(doc) for p in check(s, mk, env)]
    expected = [
        "x.md:1: `make convert FORCE=1`: variable FORCE is read neither by `make convert`",
        "x.md:1: `make nosuch`: no Makefile target nosuch",
        "x.md:1: `python -m benchmark latency --serail S`: python -m benchmark latency has no --serail",
        "x.md:2: `python -m converter --models a,b [--nope]`: python -m converter zoo has no --nope",
        "x.md:2: `python -m benchmark history list`: 'list' is not one of runs",
        "x.md:2: `python -m benchmark nope`: no subcommand nope",
    ]
    assert len(problems) == len(expected) and all(p.startswith(e) for p, e in zip(problems, expected, strict=True)), (
        "\n".join(problems)
    )

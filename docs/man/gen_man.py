#!/usr/bin/python3
"""Writes the man pages from their one source each, so they cannot drift:

  gen_man.py program BINARY SECTION OUT   a program's page from BINARY --help
                                          (and --version)
  gen_man.py ini ETL_INI OUT              etl.ini(5) from the comments of
                                          etc/etl.ini (or the installed copy)

--help is read as the programs print it (supervisor/main.c, worker/main.c,
supervisor/etlctl/etlctl.c): "usage:" lines, a description, then blocks
separated by blank lines: a heading ending in ":" with an indented list
below it (Commands:, Exit status...:), a list of options (lines starting
with -), or a paragraph.  A list item starts at most 4 columns in: TERM,
two or more spaces, its text; deeper lines continue the text.
"""
import os
import re
import subprocess
import sys

PAGES = {"etl-supervisor": 8, "etl-worker": 8, "etlctl": 8, "etl.ini": 5}
ITEM_INDENT_MAX = 4


def roff(text):
    """Text made safe for roff: backslashes, hyphens as minus signs (so
    options render and copy as typed), no control character first."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text.startswith((".", "'")):
        text = "\\&" + text
    return text


def header(name, section, version, title):
    return [f'.TH {name.upper()} {section} "" "{roff(version)}" "{title}"', ".nh", ".ad l"]


def see_also(name):
    others = sorted(f"\\fB{roff(p)}\\fR({s})" for p, s in PAGES.items() if p != name)
    return [".SH SEE ALSO", ",\n".join(others)]


def split_item(line):
    """(term, text) of a list item's first line."""
    m = re.match(r"^\s*(\S.*?)(?:\s{2,}(\S.*))?$", line)
    return m.group(1), m.group(2) or ""


def list_items(lines):
    """[(term, [text lines])] of an indented list."""
    items = []
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if indent <= ITEM_INDENT_MAX or not items:
            term, text = split_item(line)
            items.append((term, [text] if text else []))
        else:
            items[-1][1].append(line.strip())
    return items


def render_items(items, bold=True):
    out = []
    for term, text in items:
        out.append(".TP")
        out.append(f"\\fB{roff(term)}\\fR" if bold else roff(term))
        out.extend(roff(t) for t in text)
    return out


def program_page(binary, section):
    name = binary.rsplit("/", 1)[-1]
    help_text = subprocess.run([binary, "--help"], capture_output=True, text=True,
                               check=True).stdout
    version = subprocess.run([binary, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    lines = help_text.rstrip("\n").split("\n")
    usage = []
    while lines and (lines[0].startswith("usage:") or (usage and lines[0].startswith(" "))):
        usage.append(lines.pop(0).replace("usage:", "", 1).strip())
    description = []
    while lines and lines[0].strip():
        description.append(lines.pop(0))
    blocks, block = [], []
    for line in lines:
        if line.strip():
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    if block:
        blocks.append(block)

    paragraphs, commands, options, exits = [], [], [], []
    for block in blocks:
        i = 0
        while i < len(block):
            line = block[i]
            if not line.startswith(" ") and line.endswith(":"):
                j = i + 1
                while j < len(block) and block[j].startswith(" "):
                    j += 1
                items = list_items(block[i + 1:j])
                if line.lower().startswith("exit status"):
                    exits.append((line[:-1], items))
                else:
                    commands.append((line[:-1], items))
                i = j
            elif line.lstrip().startswith("-"):
                j = i
                while j < len(block) and (block[j].lstrip().startswith("-")
                                          or len(block[j]) - len(block[j].lstrip())
                                          > ITEM_INDENT_MAX):
                    j += 1
                options.extend(list_items(block[i:j]))
                i = j
            else:
                paragraphs.append(" ".join(l.strip() for l in block[i:]))
                i = len(block)

    summary = re.split(r"(?<=\.)\s", " ".join(description), maxsplit=1)[0].rstrip(".")
    out = header(name, section, version, "System Administration")
    out += [".SH NAME", f"{roff(name)} \\- {roff(summary)}", ".SH SYNOPSIS"]
    for i, use in enumerate(usage):
        if i:
            out.append(".br")
        prog, _, rest = use.partition(" ")
        out.append(f"\\fB{roff(prog)}\\fR {roff(rest)}")
    out += [".SH DESCRIPTION", roff(" ".join(l.strip() for l in description))]
    for paragraph in paragraphs:
        out += [".PP", roff(paragraph)]
    for title, items in commands:
        out += [f".SH {roff(title.upper())}"] + render_items(items)
    if options:
        out += [".SH OPTIONS"] + render_items(options)
    if exits:
        out.append(".SH EXIT STATUS")
        for title, items in exits:
            out += [".PP", roff(title + ":")] + render_items(items, bold=False)
    paths = sorted(set(re.findall(r"(/\S*/etl\.ini)\b", help_text)))
    if paths:
        out.append(".SH FILES")
        for path in paths:
            out += [".TP", f"\\fI{roff(path)}\\fR", "the configuration read when none is given;"
                    " see \\fBetl.ini\\fR(5)"]
    return out + see_also(name)


def comment_text(line):
    """The text of a comment line ("; text" or "# text"), or None."""
    m = re.match(r"^\s*[;#] ?(.*)$", line)
    return m.group(1) if m else None


def render_comment(lines):
    """Comment lines as roff: paragraphs joined, an empty line a paragraph
    break, lines indented by two spaces or more kept as they are."""
    out, literal = [], False
    for text in lines:
        if text.startswith("  "):
            if not literal:
                out += [".IP", ".nf"]
                literal = True
            out.append(roff(text))
            continue
        if literal:
            out.append(".fi")
            literal = False
        out.append(".IP" if text == "" else roff(text))
    if literal:
        out.append(".fi")
    return out


def ini_page(path):
    lines = open(path, encoding="utf-8").read().split("\n")
    out = header("etl.ini", 5, "etl", "File Formats")
    out += [".SH NAME", "etl.ini \\- configuration of etl\\-supervisor and etl\\-worker",
            ".SH DESCRIPTION"]
    i = 0
    intro = []
    while i < len(lines) and comment_text(lines[i]) is not None and lines[i].strip():
        intro.append(comment_text(lines[i]))
        i += 1
    # The first comment line is the file's title: NAME says it.
    for text in render_comment(intro[1:]):
        out.append(".PP" if text == ".IP" else text)
    pending = []
    for line in lines[i:]:
        text = comment_text(line)
        if text is not None:
            pending.append(text)
            continue
        if not line.strip():
            continue
        section = re.match(r"^\s*\[([^\]]+)\]\s*$", line)
        key = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$", line)
        if section:
            if section.group(1) == "etl":
                out.append(".SH SECTIONS")
            out.append(f".SS [{roff(section.group(1))}]")
            if pending:
                out += [".PP"] + [".PP" if t == ".IP" else t for t in render_comment(pending)]
        elif key:
            out += [".TP", f"\\fB{roff(key.group(1))}\\fR = {roff(key.group(2))}"]
            out += render_comment(pending)
        pending = []
    return out + see_also("etl.ini")


def main(argv):
    if len(argv) == 5 and argv[1] == "program":
        page = program_page(argv[2], int(argv[3]))
        out = argv[4]
    elif len(argv) == 4 and argv[1] == "ini":
        page = ini_page(argv[2])
        out = argv[3]
    else:
        sys.exit(__doc__)
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(page) + "\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main(sys.argv)

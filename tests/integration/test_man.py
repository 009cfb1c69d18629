"""The man pages (make man, docs/man/gen_man.py): each program's page holds
every option and command of its --help, etl.ini(5) every key of
etc/etl.ini, and groff and man render them without a warning.  No
service is needed."""
import os
import re
import subprocess

import pytest

from etlproc import ETC, KEY_RE, REPO_ROOT, SECTION_RE

PROGRAMS = ("etl-supervisor", "etl-worker", "etlctl")
# An option as --help writes it: -c, --config, --max-lag.
OPTION_RE = re.compile(r"(?<![\w./-])(--?[A-Za-z][\w-]*)")


@pytest.fixture(scope="module")
def pages(bin_dir, tmp_path_factory):
    """{page file name: path} of the pages made by make man from the
    binaries under test, into a build directory of its own."""
    build = tmp_path_factory.mktemp("man-build")
    result = subprocess.run(["make", "-C", str(REPO_ROOT), f"BUILD={build}", f"BIN={bin_dir}",
                             "man"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    made = {p.name: p for p in (build / "man").iterdir()}
    assert sorted(made) == sorted([f"{p}.8" for p in PROGRAMS] + ["etl.ini.5"])
    return made


def rendered(path):
    """The page as text (groff -Tutf8), with a warning failing the test;
    minus signs read as the hyphens typed."""
    result = subprocess.run(["groff", "-man", "-Tutf8", "-ww", str(path)], capture_output=True,
                            text=True, env={**os.environ, "LC_ALL": "C.UTF-8"})
    assert result.returncode == 0 and result.stderr == "", result.stderr
    text = re.sub(r".\x08", "", result.stdout)  # overstrikes (bold, underline)
    return text.replace("\u2212", "-").replace("\u2010", "-")


def words(text):
    return " ".join(text.split())


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_page_has_every_option_and_command(program, pages, bin_dir):
    help_text = subprocess.run([str(bin_dir / program), "--help"], capture_output=True,
                               text=True, check=True).stdout
    page = words(rendered(pages[f"{program}.8"]))
    options = set(OPTION_RE.findall(help_text))
    assert "--help" in options and "--config" in options
    for option in sorted(options):
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", page), option
    # Every line of the help text is in the page, word for word (a
    # heading, "Commands:", may be a section's title: in capitals).
    for line in help_text.splitlines():
        if not line.startswith(" ") and line.endswith(":"):
            assert line[:-1].upper() in page.upper(), line
        elif line.strip():
            assert words(line.replace("usage:", "")) in page, line
    version = subprocess.run([str(bin_dir / program), "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert version in page


def test_ini_page_has_every_key(pages):
    page = words(rendered(pages["etl.ini.5"]))
    sections, keys = 0, 0
    for line in (ETC / "etl.ini").read_text().splitlines():
        if line.lstrip().startswith((";", "#")):
            text = words(line.lstrip()[1:])
            # Every comment's words are there (the first line is NAME's).
            if text:
                assert text in page or "etl.ini" in text, line
            continue
        section = SECTION_RE.match(line)
        key = KEY_RE.match(line)
        if section:
            sections += 1
            assert f"[{section.group(1)}]" in page, line
        elif key:
            keys += 1
            assert f"{key.group(1)} = " in page, line
    assert sections >= 7 and keys >= 50


def test_pages_render_with_man(pages):
    for path in pages.values():
        result = subprocess.run(["man", "--warnings", "-l", str(path)], capture_output=True,
                                text=True, env={**os.environ, "MANPAGER": "cat", "PAGER": "cat",
                                                "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert path.name.split(".")[0].upper() in result.stdout

"""Korean catalogues: every Tailor string has a Korean translation, the compiled .mo files match
their .po files, the catalogues cover every string in the source, and Django serves them."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

ROOT = Path(__file__).resolve().parents[1]
APPS = ("cms", "rules", "variants", "themes", "sample_site/home")
MSGFMT = shutil.which("msgfmt")
needs_msgfmt = pytest.mark.skipif(MSGFMT is None, reason="msgfmt not installed (apt-get install gettext)")


ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def catalogue(app: str) -> Path:
    return ROOT / app / "locale" / "ko" / "LC_MESSAGES" / "django.po"


def entries(po: Path) -> list[tuple[str | None, str, list[str]]]:
    """(context, msgid, translations) of every entry but the header, read with a small PO reader."""
    out = []
    ctx = msgid = None
    strs: list[str] = []
    field = None

    def unquote(s: str) -> str:
        return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(1)), s[1:-1])

    def flush():
        if msgid is not None:
            out.append((ctx, msgid, list(strs)))

    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            ctx = msgid = None
            strs, field = [], None
            continue
        if line.startswith("#"):
            continue
        m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$', line)
        if m:
            field, value = m.group(1), unquote(m.group(2))
            if field == "msgctxt":
                ctx = value
            elif field == "msgid":
                msgid = value
            elif field == "msgid_plural":
                msgid += "\x00" + value  # both forms, so their placeholders are known
            elif field.startswith("msgstr"):
                strs.append(value)
        elif line.startswith('"'):
            value = unquote(line)
            if field == "msgctxt":
                ctx += value
            elif field in ("msgid", "msgid_plural"):
                msgid += value
            elif field and field.startswith("msgstr"):
                strs[-1] += value
    return [e for e in out if e[1] != ""]


@pytest.mark.parametrize("app", APPS)
def test_every_message_has_a_korean_translation(app):
    po = catalogue(app)
    assert po.is_file(), f"{po} is missing: run manage.py makemessages -l ko in {app}/"
    text = po.read_text(encoding="utf-8")
    assert "#, fuzzy" not in text, f"{po}: fuzzy entries are not used; review them"
    assert re.search(r'"Plural-Forms: nplurals=1; plural=0;\\n"', text)
    found = entries(po)
    assert found
    untranslated = [msgid for _ctx, msgid, strs in found if not all(strs)]
    assert not untranslated, f"{app}: untranslated: {untranslated[:10]}"
    for _ctx, msgid, strs in found:
        # Korean has one plural form: it names what the plural English form names.
        wanted = placeholders(msgid.split("\x00")[-1])
        for s in strs:
            assert placeholders(s) == wanted, (msgid, s)
            if re.search(r"[a-zA-Z]{4,}", msgid) and not re.search(r"%\(|<|`|\.py|[_.]\w", msgid):
                # A sentence left in English is not a translation (names such as UCB1 are allowed).
                assert re.search(r"[\uac00-\ud7a3]", s) or msgid in KEPT_AS_IS, (msgid, s)


def placeholders(text: str) -> list[str]:
    return sorted(set(re.findall(r"%\(\w+\)(?:\.\d+)?[sdrf]", text)))


#: strings whose Korean is the same as the English (a product name, an algorithm)
KEPT_AS_IS = {"Tailor", "UCB1", "Url", "Daylight", "Midnight"}


@needs_msgfmt
@pytest.mark.parametrize("app", APPS)
def test_compiled_catalogue_is_current(app, tmp_path):
    po = catalogue(app)
    fresh = tmp_path / "django.mo"
    subprocess.run([MSGFMT, "--check-format", "-o", str(fresh), str(po)], check=True, capture_output=True)
    shipped = po.with_suffix(".mo")
    assert shipped.is_file(), f"{shipped} is missing: run manage.py compilemessages in {app}/"
    with open(fresh, "rb") as a, open(shipped, "rb") as b:
        assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog, (
            f"{shipped} is stale: run manage.py compilemessages in {app}/"
        )


@needs_msgfmt
@pytest.mark.parametrize("app", APPS)
def test_catalogue_covers_every_string_in_the_source(app, tmp_path, monkeypatch):
    """makemessages run on a copy of the app finds no string the shipped catalogue lacks."""
    copy = tmp_path / Path(app).name
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "*.mo"))
    (copy / "locale").mkdir()
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["ko"], verbosity=0)
    source = {(ctx, msgid) for ctx, msgid, _strs in entries(copy / "locale" / "ko" / "LC_MESSAGES" / "django.po")}
    shipped = {(ctx, msgid) for ctx, msgid, _strs in entries(catalogue(app))}
    missing = sorted(source - shipped, key=str)
    assert not missing, f"{app}: not in the catalogue (run makemessages -l ko and translate): {missing[:10]}"


def test_django_serves_the_korean_catalogues():
    from django.utils.translation import gettext, pgettext

    with translation.override("ko"):
        assert gettext("Simulator") == "시뮬레이터"
        assert gettext("Personalized region") == "개인화 영역"
        assert pgettext("emotion", "sadness") == "슬픔"
        assert gettext("No variant matched; showing the default") == "일치하는 변형이 없어 기본 콘텐츠를 보여 줍니다"
    with translation.override("en"):
        assert gettext("Simulator") == "Simulator"

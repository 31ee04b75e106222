"""The message catalogues: regenerate them from the code, and find what is left
to translate.

``python -m couponsite.catalogues`` (``make messages``) runs ``makemessages``
for zh-hant and zh-hans over the project's own code (its apps and templates,
not tests, the benchmark or the contract client) into ``locale/``, then lists
every entry still untranslated or fuzzy and exits 1 if there is one.
``--check`` does the same in a temporary copy and leaves ``locale/`` alone
(``couponsite/tests/test_languages.py`` runs it). ``makemessages`` needs GNU
gettext (``xgettext``, ``msgmerge``); compiling (``scripts/compilemessages``)
does not.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent

# What makemessages reads: every directory holding customer- or staff-facing text.
SOURCES = (
    "couponsite",
    "campaigns",
    "customers",
    "draws",
    "messaging",
    "vouchers",
    "webhooks",
    "templates",
)
LOCALES = ("zh_Hant", "zh_Hans")
MAKEMESSAGES = [
    "makemessages",
    *(f"--locale={locale}" for locale in LOCALES),
    "--no-location",
    "--no-obsolete",
    "--ignore=.venv",
    "--ignore=bench",
    "--ignore=contract",
    "--ignore=scripts",
    "--ignore=deploy",
    "--ignore=staticfiles",
    "--ignore=var",
    "--ignore=*/tests/*",
    "--ignore=couponsite/testing/*",
    "--ignore=*/migrations/*",
]


def makemessages(root: Path) -> None:
    """``manage.py makemessages`` in ``root`` (the project or a copy of it)."""
    subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    )


def untranslated(root: Path) -> dict[str, list[str]]:
    """Per locale, the msgids in ``root/locale`` with no translation, or fuzzy."""
    left = {}
    for locale in LOCALES:
        path = root / "locale" / locale / "LC_MESSAGES" / "django.po"
        with path.open("rb") as f:
            catalog = read_po(f, locale=locale)
        left[locale] = [
            str(message.id)
            for message in catalog
            if message.id
            and (
                message.fuzzy
                or not (
                    all(message.string)
                    if isinstance(message.string, tuple)
                    else message.string
                )
            )
        ]
    return left


def check_copy() -> dict[str, list[str]]:
    """``untranslated`` after ``makemessages`` in a copy of the project's sources."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp)
        shutil.copy2(ROOT / "manage.py", copy / "manage.py")
        for name in (*SOURCES, "locale"):
            shutil.copytree(
                ROOT / name,
                copy / name,
                ignore=shutil.ignore_patterns("__pycache__", "*.mo"),
            )
        makemessages(copy)
        return untranslated(copy)


def main(argv: list[str]) -> int:
    if "--check" in argv:
        left = check_copy()
    else:
        makemessages(ROOT)
        left = untranslated(ROOT)
    missing = [(locale, msgid) for locale, ids in left.items() for msgid in ids]
    for locale, msgid in missing:
        print(f"{locale}: untranslated: {msgid!r}")
    if not missing:
        print("catalogues: every entry is translated for " + ", ".join(LOCALES))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Fills msgstr of given msgids in a catalog: ``po_fill.py LANG FILE.json`` (a {msgid: msgstr} map),
or ``po_fill.py en --copy`` to carry every untranslated English msgid over as its own translation."""

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

lang, source = sys.argv[1], sys.argv[2]
path = Path("content/locales") / lang / "LC_MESSAGES" / "messages.po"
with path.open("rb") as f:
    catalog = read_po(f, locale=lang)
mapping = {} if source == "--copy" else json.loads(Path(source).read_text(encoding="utf-8"))
for message in catalog:
    if not message.id:
        continue
    if source == "--copy" and (not message.string or message.fuzzy):
        message.string = message.id
        message.flags.discard("fuzzy")
    elif message.id in mapping:
        message.string = mapping[message.id]
        message.flags.discard("fuzzy")
with path.open("wb") as f:
    write_po(f, catalog, width=76, omit_header=False)

"""Two people editing one member: merge what did not collide, show what did.

The edit form carries a fingerprint of the values it was opened with. When the save
finds a newer version, each field falls in one of three cases:
- only the other person changed it: take theirs (the form now shows their value);
- only this user changed it: keep this user's value;
- both changed it, differently: keep this user's value and flag it.
Nothing is saved until the user, now seeing all of it, saves again.
"""

import json
from dataclasses import dataclass
from datetime import date

from flask_wtf import FlaskForm

from baojing.models.members import MEMBERSHIPS

SKIP = {"id_number"}  # never shown in full, never merged: left blank means unchanged


@dataclass
class FieldChange:
    label: str
    theirs: str
    mine: str
    collided: bool  # both changed it; this user's value is kept


def _text(value) -> str:
    """The value as one string, comparable between the form and the database."""
    if value is None or value is False:
        return ""
    if value is True:
        return "y"
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _shown(name: str, text: str) -> str:
    if name == "membership":
        return MEMBERSHIPS.get(text, text)
    return text


def fingerprint(form: FlaskForm, fields) -> str:
    return json.dumps({f: _text(form[f].data) for f in fields if f not in SKIP}, ensure_ascii=False)


def merge_into(form: FlaskForm, theirs: dict, fields) -> list[FieldChange]:
    """Fold the other person's changes into the form; return what they changed."""
    try:
        original = json.loads(form.original.data or "{}")
    except ValueError:
        original = {}
    changes = []
    for name in fields:
        if name in SKIP or name not in form:
            continue
        field = form[name]
        mine, their = _text(field.data), _text(theirs.get(name))
        # Without a fingerprint (an old or hand-made form) assume this user changed it.
        base = original.get(name)
        if their == mine or their == base:
            continue
        if mine == base:
            field.data = theirs.get(name)
            field.raw_data = None  # render the new data, not what was posted
        changes.append(
            FieldChange(field.label.text, _shown(name, their), _shown(name, mine), mine != base)
        )
    form.original.data = json.dumps(
        {f: _text(theirs.get(f)) for f in fields if f not in SKIP}, ensure_ascii=False
    )
    return changes

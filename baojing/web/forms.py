"""Small helpers shared by the blueprints' forms: select options, filters, service errors."""

import uuid
from collections.abc import Iterable

from flask import abort, flash
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import DateField, HiddenField, SelectChoice, StringField, TextAreaField
from wtforms.meta import DefaultMeta
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)

from baojing.db import done_writing, retry_after_conflict
from baojing.extensions import db
from baojing.services import DuplicateRequest, RuleViolation
from baojing.validators import InvalidValue


class Form(FlaskForm):
    """FlaskForm whose WTForms messages (不是有效的整数 …) come in Chinese, loaded once.

    Flask-WTF's own i18n re-reads the translation catalogue from disk on every
    request; the UI is zh_CN only, so WTForms' per-process cache does the same job.
    """

    class Meta:
        locales = ("zh_CN",)

        def get_translations(self, form):
            return DefaultMeta.get_translations(self, form)


FORM_EXPIRED = "表单已过期，请刷新页面后重试"


def new_request_id() -> str:
    """The idempotency key rendered into a form: a replay of the form saves once."""
    return uuid.uuid4().hex


def request_id_field(required: bool = True) -> HiddenField:
    """The hidden request_id of a form that creates something (checked for shape)."""
    first = InputRequired(FORM_EXPIRED) if required else Optional()
    return HiddenField(validators=[first, Regexp(r"^[A-Za-z0-9_-]{8,40}$", message=FORM_EXPIRED)])


def flash_saved(message: str, draft: str) -> None:
    """Say a form was saved, and let the next page drop its draft (static/js/app.js)."""
    flash(message, "success")
    flash(draft, "clear-draft")


def text_field(label: str, max_len: int, required: str | None = None, area: bool = False, **kw):
    """A trimmed text field with a length limit, required when given its message."""
    checks = [DataRequired(required)] if required else []
    checks.append(Length(max=max_len, message=f"最多 {max_len} 个字"))
    field = TextAreaField if area else StringField
    return field(label, filters=[strip_text], validators=checks, **kw)


def date_field(label: str, required: str | None = None, **kw):
    """A date, required when given its message; the phone shows its date picker, no keyboard."""
    first = InputRequired(required) if required else Optional()
    kw.setdefault("render_kw", {"inputmode": "none"})
    return DateField(label, validators=[first], **kw)


def first_error(form, fallback: str = "") -> str:
    """The first message of a refused form, field by field in their order, then those
    about no field, for a page that shows one message (a flash, an alert above a list)."""
    return next((messages[0] for messages in form.errors.values() if messages), fallback)


def normalized_by(normalize):
    """A field validator from a baojing.validators normaliser: the field keeps the
    normalised value, and the normaliser's InvalidValue message goes next to it."""

    def validate(form, field):
        if field.data:
            try:
                field.data = normalize(field.data)
            except InvalidValue as exc:
                raise ValidationError(str(exc)) from exc

    return validate


def options(pairs: Iterable[tuple]) -> list[SelectChoice]:
    """(value, label) pairs as SelectChoice objects."""
    return [SelectChoice(value, label) for value, label in pairs]


def strip_text(value):
    """Field filter: surrounding spaces off, and a missing field reads as empty text."""
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else value


def apply_errors(form, errors: dict[str, str]) -> None:
    """Put a service's RuleViolation messages next to the fields they are about; one
    about something the form has no field for goes to form.form_errors (first_error
    shows it), never dropped."""
    for name, message in errors.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            form.form_errors.append(message)


def commit_or_errors(form, action) -> tuple[bool, object]:
    """Run one service call for a submitted form, the way every form view needs it.

    Success: commit and return (True, what the service returned). A RuleViolation:
    roll back, put its messages next to the fields and return (False, None) — the
    view re-renders with 422. An idempotency key reused for other content: 409.
    """
    for attempt in range(2):
        try:
            result = action()
            db.session.commit()
        except RuleViolation as exc:
            db.session.rollback()
            apply_errors(form, exc.errors)
            return False, None
        except DuplicateRequest:
            db.session.rollback()
            abort(409)
        except IntegrityError:
            # PostgreSQL lets two requests with one idempotency key (a double tap on two
            # connections) both pass the replay check; the unique index stops the second.
            # Run once more: this time the check finds what the first one wrote.
            db.session.rollback()
            if attempt or not retry_after_conflict():
                raise
            continue
        # What the view does next (render, redirect) only reads: no write lock for it.
        done_writing()
        return True, result
    raise AssertionError("unreachable")

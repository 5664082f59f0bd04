"""The center admin's form of the adjustable trading rules: one field per rule, built from the declarations
(``services.RULES``), the basis of the change, and the fingerprint of the values the page showed.  The fields are
plain text (a select for a time of day) and the service parses them, so every refusal reads in Chinese."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField

from exchange.tradingrules.services import BASIS_MAX, TIME, editable_rules


def _form_class() -> type[FlaskForm]:
    fields: dict = {}
    for r in editable_rules():
        if r.kind == TIME:
            fields[r.key] = SelectField(r.name, choices=[(c, c) for c in r.choices()], validate_choice=False)
        else:
            fields[r.key] = StringField(f"{r.name}（工作日）")
    fields["basis"] = StringField("调整依据", render_kw={"maxlength": BASIS_MAX})
    fields["seen"] = HiddenField()
    return type("TradingRulesForm", (FlaskForm,), fields)


TradingRulesForm = _form_class()

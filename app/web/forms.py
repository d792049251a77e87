"""Small forms (urlencoded, no files) handled by Flask-WTF; uploads are stream-parsed instead."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length


class CodeLoginForm(FlaskForm):
    code = StringField("Your code", validators=[InputRequired(), Length(max=400)])


class CodePracticeForm(FlaskForm):
    code = HiddenField(validators=[InputRequired(), Length(max=400)])
    attempt = StringField("Type your code", validators=[InputRequired(), Length(max=400)])


class BurnCodeForm(FlaskForm):
    confirm = BooleanField(
        "I understand that my code will stop working and I cannot read replies any more.",
        validators=[DataRequired()],
    )


class EmptyForm(FlaskForm):
    """A button that changes something (logout): only the CSRF token."""

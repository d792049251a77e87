"""Small forms (urlencoded, no files) handled by Flask-WTF; uploads are stream-parsed instead."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

# A one-time code: ASCII digits, spaces allowed ("123 456"); "²" or "٣" is no code.
TOTP_DIGITS = Regexp(r"^[0-9 ]*$", message="The one-time code is six digits.")


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


class StaffLoginForm(FlaskForm):
    username = StringField("User name", validators=[InputRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)])
    totp = StringField("One-time code", validators=[InputRequired(), Length(max=16), TOTP_DIGITS])


class InvitationForm(FlaskForm):
    password = PasswordField("New password", validators=[InputRequired(), Length(max=1024)])
    confirm = PasswordField("New password again", validators=[InputRequired(), Length(max=1024)])
    totp = StringField("One-time code", validators=[InputRequired(), Length(max=16), TOTP_DIGITS])


class PasswordChangeForm(FlaskForm):
    current = PasswordField("Current password", validators=[InputRequired(), Length(max=1024)])
    password = PasswordField("New password", validators=[InputRequired(), Length(max=1024)])
    confirm = PasswordField("New password again", validators=[InputRequired(), Length(max=1024)])
    totp = StringField("One-time code", validators=[InputRequired(), Length(max=16), TOTP_DIGITS])


class StaffTextForm(FlaskForm):
    """A reply to the tipster or an internal note (the length rule lives in the service)."""

    text = TextAreaField("Text", validators=[Length(max=40_000)])

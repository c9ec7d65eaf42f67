"""Forms for logging in, members, invitations, tokens and the audit filter."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from console.lib.phone import check_e164, suggest_e164
from projects.models import Role


class LoginForm(AuthenticationForm):
    """Email and password. Accounts made by invitation use the email as the
    username; an account whose username differs (made with createsuperuser)
    is found by its email."""

    username = forms.CharField(label=_("Email"), max_length=254)

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The email or password is not right."),
    }

    def clean(self) -> dict:
        raw = (self.cleaned_data.get("username") or "").strip()
        User = get_user_model()
        if raw and not User.objects.filter(username=raw).exists():
            matches = list(User.objects.filter(email__iexact=raw)[:2])
            if len(matches) == 1:
                self.cleaned_data["username"] = matches[0].get_username()
        return super().clean()


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MARKETER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ProfileForm(forms.Form):
    phone_number = forms.CharField(
        label=_("Phone number for test sends"),
        required=False,
        max_length=20,
        help_text=_("E.164, for example +821012345678. Leave empty to receive no test sends."),
    )

    def clean_phone_number(self) -> str:
        value = self.cleaned_data["phone_number"].strip()
        if not value:
            return ""
        problem = check_e164(value)
        if problem is None:
            return value
        suggestion = suggest_e164(value)
        if suggestion:
            raise forms.ValidationError(
                _("'%(value)s' is not in E.164 format; write it as %(suggestion)s."),
                params={"value": value, "suggestion": suggestion},
            )
        raise forms.ValidationError(
            _("'%(value)s' is not a valid phone number in E.164 format (+ country code, number)."),
            params={"value": value},
        )


class SignUpForm(forms.Form):
    """A new account for an invited person; the email comes from the invitation."""

    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: object, email: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password2(self) -> str:
        first = self.cleaned_data.get("password1")
        second = self.cleaned_data["password2"]
        if first and first != second:
            raise forms.ValidationError(_("The two passwords are not the same."))
        return second

    def clean(self) -> dict:
        cleaned = super().clean()
        password = cleaned.get("password1")
        if password and not self.errors:
            User = get_user_model()
            candidate = User(username=self.email, email=self.email)
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What uses this token, for example “shop backend”."),
    )


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False)

    def __init__(self, *args: object, actions: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", _("All actions")), *actions]

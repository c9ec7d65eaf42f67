"""`manage.py bootstrap_project`: a ready-to-send project in one command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from channels.actions import do_add_optout_pool_numbers
from channels.models import Gateway, OptOutNumber, SenderNumber, SmsChannel
from channels.queries import sendable_sender
from projects.actions import hash_token
from projects.models import ApiToken, AuditLog, Membership, Project

ARGS = ["--name", "Demo", "--company", "데모 주식회사", "--sender-number", "+8225551234"]


def _run(*args: str) -> dict:
    out = StringIO()
    call_command("bootstrap_project", *args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_it_provisions_an_approved_project_and_prints_json(db):
    result = _run(*ARGS, "--approve", "--token", "--optout-number", "+82801234567")
    project = Project.objects.get(pk=result["projectId"])
    assert project.company_name == "데모 주식회사"
    assert result["senderNumber"] == "+8225551234"
    assert result["optOutNumber"] == "+82801234567"
    sender = sendable_sender(project, "+8225551234")
    assert sender.is_default
    assert OptOutNumber.objects.get(project=project).number == "+82801234567"
    gateway = SmsChannel.objects.get(project=project).gateway
    assert (gateway.name, gateway.backend) == ("Sandbox carrier", Gateway.Backend.SANDBOX)
    token = ApiToken.objects.get(token_hash=hash_token(result["token"]))
    assert token.project == project
    registered = AuditLog.objects.get(project=project, action="sender_number.registered")
    assert registered.detail["provisioned_by_operator"] is True
    assert registered.actor_label == "system"


def test_without_approve_and_token_the_number_is_pending_and_token_null(db):
    do_add_optout_pool_numbers(["+82801234567"], None)
    result = _run(*ARGS)
    assert result["token"] is None
    assert result["optOutNumber"] == "+82801234567"
    assert SenderNumber.objects.get().status == SenderNumber.Status.PENDING


def test_a_second_project_reuses_the_sandbox_gateway(db):
    do_add_optout_pool_numbers(["+82801234567", "+82801234568"], None)
    _run(*ARGS, "--approve")
    _run("--name", "Two", "--company", "Two Ltd", "--sender-number", "+8225551234")
    assert Gateway.objects.filter(backend="sandbox").count() == 1
    assert OptOutNumber.objects.filter(project=None).count() == 0


def test_it_makes_an_admin_who_can_log_in(db):
    do_add_optout_pool_numbers(["+82801234567"], None)
    result = _run(*ARGS, "--admin-email", "ops@demo.test", "--admin-password", "s3cure-Passw0rd!")
    user = User.objects.get(username="ops@demo.test")
    assert user.check_password("s3cure-Passw0rd!")
    membership = Membership.objects.get(user=user)
    assert (str(membership.project_id), membership.role) == (result["projectId"], "admin")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--sender-number", "02-555-1234"], "+8225551234"),
        (["--sender-number", "+12"], "--sender-number"),
        (["--optout-number", "+821012345678"], "not a Korean 080 number"),
        (["--name", " "], "--name must not be empty"),
        (["--admin-email", "new@demo.test"], "--admin-password is required"),
        (["--admin-email", "new@demo.test", "--admin-password", "123"], "--admin-password"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_written(db, args, words):
    merged = dict(zip(ARGS[::2], ARGS[1::2], strict=True))
    merged.setdefault("--optout-number", "+82801234567")
    merged.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [item for pair in merged.items() for item in pair]
    with pytest.raises(CommandError) as exc:
        _run(*flat)
    assert words in str(exc.value)
    assert not Project.objects.exists()
    assert not OptOutNumber.objects.exists()
    assert not User.objects.exists()


def test_an_empty_pool_without_optout_number_is_refused(db):
    with pytest.raises(CommandError, match="pool has no free number"):
        _run(*ARGS, "--approve")
    assert not Project.objects.exists()


def test_an_optout_number_of_another_project_is_refused(db):
    _run(*ARGS, "--optout-number", "+82801234567")
    with pytest.raises(CommandError, match="already assigned"):
        _run(
            "--name",
            "B",
            "--company",
            "B",
            "--sender-number",
            "+8225551234",
            "--optout-number",
            "+82801234567",
        )
    assert Project.objects.count() == 1


def _readme_example() -> list[str]:
    """The README's bootstrap_project command, as a shell would split it."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    match = re.search(r"manage\.py (bootstrap_project .*?)\n(?!\s)", readme, re.S)
    assert match, "the README shows a bootstrap_project example"
    return shlex.split(match.group(1).replace("\\\n", " "))[1:]


def test_the_readme_example_works_right_after_the_demo_is_seeded(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    call_command("seed_demo", stdout=StringIO())  # what `make run` does first
    args = _readme_example()
    assert "--optout-number" in args
    result = _run(*args)
    assert result["projectId"] and result["token"].startswith("mj_")
    assert result["optOutNumber"] == args[args.index("--optout-number") + 1]

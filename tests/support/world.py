"""A small named world: Acme (alice admin, carol marketer, dave viewer) and
Bolt (bob admin), each with an API token, plus platform staff."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from projects.actions import do_create_api_token, do_create_project
from projects.models import Membership, Project, Role

PASSWORD = "correct-horse-battery-staple"


@dataclass
class World:
    alice: User
    bob: User
    carol: User
    dave: User
    staff: User
    acme: Project
    bolt: Project
    acme_token: str
    bolt_token: str


def make_user(email: str, *, staff: bool = False) -> User:
    user = User.objects.create_user(username=email, email=email, password=PASSWORD)
    if staff:
        user.is_staff = True
        user.is_superuser = True
        user.save()
    return user


@pytest.fixture
def world(db) -> World:
    alice = make_user("alice@acme.test")
    bob = make_user("bob@bolt.test")
    carol = make_user("carol@acme.test")
    dave = make_user("dave@acme.test")
    staff = make_user("staff@munja.test", staff=True)
    acme = do_create_project("Acme", "에이크미 주식회사", owner=alice)
    bolt = do_create_project("Bolt", "Bolt Ltd", owner=bob)
    Membership.objects.create(project=acme, user=carol, role=Role.MARKETER)
    Membership.objects.create(project=acme, user=dave, role=Role.VIEWER)
    _, acme_token = do_create_api_token(acme, "acme integration", alice)
    _, bolt_token = do_create_api_token(bolt, "bolt integration", bob)
    return World(alice, bob, carol, dave, staff, acme, bolt, acme_token, bolt_token)

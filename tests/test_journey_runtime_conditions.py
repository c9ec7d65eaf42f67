"""The journey condition evaluators: data `where`, split branches, A/B."""

from collections import Counter

import pytest

from audiences.models import Customer, CustomerTag, Segment
from journeys.conditions import ab_variant, branch_matches, data_matches


def test_data_matches_each_operator_on_dotted_keys():
    data = {"cart": {"id": "c1", "total": 120}, "tags": ["x", "y"], "name": "Kim Minsu"}
    assert data_matches([{"field": "cart.id", "op": "eq", "value": "c1"}], data)
    assert not data_matches([{"field": "cart.id", "op": "eq", "value": "c2"}], data)
    assert data_matches([{"field": "cart.id", "op": "neq", "value": "c2"}], data)
    assert data_matches([{"field": "missing", "op": "neq", "value": "c2"}], data)
    assert data_matches([{"field": "cart.total", "op": "gt", "value": 100}], data)
    assert not data_matches([{"field": "cart.total", "op": "lt", "value": 100}], data)
    assert not data_matches([{"field": "missing", "op": "gt", "value": 1}], data)
    assert data_matches([{"field": "name", "op": "contains", "value": "minsu"}], data)
    assert data_matches([{"field": "tags", "op": "contains", "value": "y"}], data)
    assert data_matches([{"field": "cart.id", "op": "is_set"}], data)
    assert data_matches([{"field": "cart.nope", "op": "is_not_set"}], data)
    assert not data_matches([{"field": "cart", "op": "is_not_set"}], data)
    # All must match; an empty list matches.
    assert not data_matches(
        [
            {"field": "cart.id", "op": "eq", "value": "c1"},
            {"field": "cart.total", "op": "lt", "value": 1},
        ],
        data,
    )
    assert data_matches([], data)
    # Types matter for eq, as in JSON: "1" is not 1.
    assert not data_matches([{"field": "n", "op": "eq", "value": 1}], {"n": "1"})
    assert data_matches([{"field": "n", "op": "eq", "value": 1}], {"n": 1.0})


@pytest.mark.django_db
def test_branch_matches_segment_for_one_user_and_entry_data(world):
    gold = Customer.objects.create(project=world.acme, user_id="gold", country="KR")
    plain = Customer.objects.create(project=world.acme, user_id="plain", country="KR")
    CustomerTag.objects.create(customer=gold, key="plan", value="gold")
    definition = {
        "match": "all",
        "conditions": [{"kind": "tag", "key": "plan", "op": "eq", "value": "gold"}],
    }
    branch = {"label": "gold", "segment": definition}
    assert branch_matches(world.acme, branch, gold, {})
    assert not branch_matches(world.acme, branch, plain, {})
    both = {
        "segment": definition,
        "entry_data": [{"field": "total", "op": "gt", "value": 50}],
    }
    assert branch_matches(world.acme, both, gold, {"total": 60})
    assert not branch_matches(world.acme, both, gold, {"total": 10})
    saved = Segment.objects.create(project=world.acme, name="gold", definition=definition)
    assert branch_matches(world.acme, {"segment": saved.pk}, gold, {})
    assert not branch_matches(world.acme, {"segment": saved.pk}, plain, {})
    assert branch_matches(world.acme, {"label": "any"}, plain, {})


def test_ab_variant_is_stable_per_run_and_follows_percents():
    variants = [{"key": "a", "percent": 20}, {"key": "b", "percent": 80}]
    assert all(ab_variant(variants, run) == ab_variant(variants, run) for run in range(200))
    split = Counter(ab_variant(variants, run) for run in range(1, 20001))
    assert set(split) == {"a", "b"}
    assert 0.18 < split["a"] / 20000 < 0.22
    assert ab_variant([{"key": "only", "percent": 100}], 7) == "only"

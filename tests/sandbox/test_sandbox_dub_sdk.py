"""The official Dub Python SDK talks to the sandbox as it would to api.dub.co."""

from __future__ import annotations

import pytest

dub = pytest.importorskip("dub")
from dub.models import errors  # noqa: E402


@pytest.fixture
def sdk_and_sandbox(make_sandbox):
    seed = [
        {"email": "ann@example.com", "name": "Ann", "tenantId": "t1", "country": "US"},
        {"email": "bob@example.com", "status": "banned", "totalSaleAmount": 1200},
    ]
    sandbox = make_sandbox("dub", seed=seed, rate_limit=50)
    with dub.Dub(token="dub_test", server_url=sandbox.base_url) as client:
        yield client, sandbox


def test_sdk_lists_partners(sdk_and_sandbox):
    client, _ = sdk_and_sandbox
    listed = client.partners.list(
        request={"page_size": 10, "sort_by": "createdAt", "sort_order": "asc"}
    )
    assert [p.email for p in listed] == ["ann@example.com", "bob@example.com"]
    assert listed[0].tenant_id == "t1"
    assert listed[1].status.value == "banned"
    assert listed[0].links and listed[0].links[0].short_link.startswith("https://")
    by_tenant = client.partners.list(request={"tenant_id": "t1"})
    assert [p.email for p in by_tenant] == ["ann@example.com"]


def test_sdk_creates_a_partner_with_link_props(sdk_and_sandbox):
    client, sandbox = sdk_and_sandbox
    created = client.partners.create(
        request={
            "email": "cat@example.com",
            "name": "Cat",
            "tenant_id": "t3",
            "link_props": {
                "external_id": "ext_123",
                "tag_ids": ["tag_1"],
                "test_variants": [
                    {"url": "https://example.com/variant-1", "percentage": 50},
                    {"url": "https://example.com/variant-2", "percentage": 50},
                ],
            },
        }
    )
    assert created.id.startswith("pn_")
    assert created.tenant_id == "t3"
    assert created.status.value == "approved"
    assert len(sandbox.partners()) == 3


def test_sdk_upsert_returns_the_existing_partner(sdk_and_sandbox):
    client, sandbox = sdk_and_sandbox
    again = client.partners.create(request={"email": "ann@example.com"})
    assert again.id == sandbox.partners()[0]["id"]


def test_sdk_maps_error_codes_to_its_exceptions(sdk_and_sandbox):
    client, _ = sdk_and_sandbox
    with pytest.raises(errors.UnprocessableEntity) as invalid:
        client.partners.create(request={"email": "not-an-email"})
    assert invalid.value.data.error.message == "invalid_format: email: Invalid email address"
    client.partners.create(request={"email": "cat@example.com", "tenant_id": "tc"})
    with pytest.raises(errors.Conflict):
        # Ann's enrolment is found first by email, and "tc" already belongs to Cat.
        client.partners.create(request={"email": "ann@example.com", "tenant_id": "tc"})


def test_sdk_sees_the_rate_limit(make_sandbox, limiter_clock):
    sandbox = make_sandbox("dub", rate_limit=1, window=30)
    with dub.Dub(token="dub_test", server_url=sandbox.base_url) as client:
        client.partners.list(request={})
        with pytest.raises(errors.RateLimitExceeded) as limited:
            client.partners.list(request={})
    # Epoch milliseconds: the end of the 30-second window the two requests fell in.
    assert int(limited.value.raw_response.headers["Retry-After"]) == (limiter_clock.now + 30) * 1000

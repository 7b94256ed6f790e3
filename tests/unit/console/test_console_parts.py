"""The console's pure parts: the guard, error masking, bounded counts, form field errors; and its imports."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from ganger.console.counts import BoundedCounts
from ganger.console.dead import error_type, mask
from ganger.console.forms import limits_edit
from ganger.console.security import Guard
from ganger.labourer import Labourer
from ganger.tasks import TableNames


def test_the_guard_serves_its_own_host_and_origin_only() -> None:
    guard = Guard(8765, token="t0ken")
    assert guard.refusal("127.0.0.1:8765", None, None) is None
    assert guard.refusal("localhost:8765", "http://localhost:8765", "same-origin") is None
    assert "Host 'evil.example:8765'" in (guard.refusal("evil.example:8765", None, None) or "")
    assert "Origin 'http://evil.example'" in (guard.refusal("127.0.0.1:8765", "http://evil.example", None) or "")
    assert "cross-site" in (guard.refusal("127.0.0.1:8765", None, "cross-site") or "")
    assert guard.post_refusal("127.0.0.1:8765", "http://127.0.0.1:8765", "same-origin", "t0ken") is None
    assert "CSRF" in (guard.post_refusal("127.0.0.1:8765", None, None, "wrong") or "")
    assert "same-site POST" in (guard.post_refusal("127.0.0.1:8765", None, "same-site", "t0ken") or "")


def test_errors_group_with_ids_and_numbers_masked() -> None:
    a = mask("ValueError: store 1234 has no row 5f3a9c0d12ab for 'north'")
    b = mask("ValueError: store 77 has no row 0c1d2e3f4a5b for 'south'")
    assert a == b == "ValueError: store <n> has no row <id> for '<s>'"
    assert error_type(a) == "ValueError" and error_type("worker reported failure: x") == "failure"
    assert mask("") == "no reason recorded"


class _Pages:
    """A DynamoDB client whose COUNT queries find ``total`` items, 1,000 a page."""

    def __init__(self, total: int) -> None:
        self.total, self.calls = total, 0

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        done = int(kwargs.get("ExclusiveStartKey", {}).get("n", 0))
        count = min(kwargs["Limit"], self.total - done)
        page: dict[str, Any] = {"Count": count}
        if done + count < self.total:
            page["LastEvaluatedKey"] = {"n": done + count}
        return page


def test_counts_stop_at_the_cap_and_say_so() -> None:
    labourer = Labourer(id="w")
    big = _Pages(100_000)
    assert str(BoundedCounts(big, TableNames(), cap=10_000).queued(labourer, 2e9)) == "10,000+"
    assert big.calls == 11, "never reads past the cap"
    exact = _Pages(10_000)
    assert str(BoundedCounts(exact, TableNames(), cap=10_000).queued(labourer, 2e9)) == "10,000"
    assert str(BoundedCounts(_Pages(42), TableNames()).dead(labourer, 0)) == "42"


def test_a_limits_edit_names_the_field_the_schema_refuses() -> None:
    document = {"labourers": {"w": {"max_simultaneous_invocations": 5}}}
    proposal = limits_edit(document, "w", {"max_simultaneous_invocations": "lots"}, 3)
    assert proposal.field == "max_simultaneous_invocations" and "expected int" in str(proposal.error)
    proposal = limits_edit(document, "w", {"max_simultaneous_invocations": "-1"}, 3)
    assert proposal.field == "max_simultaneous_invocations" and "too small" in str(proposal.error)
    proposal = limits_edit(document, "w", {"max_simultaneous_invocations": "7"}, 3)
    assert proposal.error is None and any(line.startswith("+") and "7" in line for line in proposal.diff)


def test_a_limits_edit_sets_and_clears_the_flow_limits() -> None:
    document = {"labourers": {"w": {"max_simultaneous_invocations": 5}}}
    keyed = {"concurrency_key": "tenant", "max_per_key": "2", "rate.per_second": "0.5", "rate.burst": "3"}
    proposal = limits_edit(document, "w", keyed, 3)
    assert proposal.error is None, proposal.error
    assert proposal.new["labourers"]["w"] == {
        "max_simultaneous_invocations": 5, "concurrency_key": "tenant", "max_per_key": 2,
        "rate": {"per_second": 0.5, "burst": 3},
    }  # fmt: skip
    cleared = limits_edit(proposal.new, "w", dict.fromkeys(keyed, ""), 4)
    assert cleared.error is None and cleared.new["labourers"]["w"] == {"max_simultaneous_invocations": 5}


def test_a_flow_limit_the_schema_refuses_is_named_by_its_field() -> None:
    document = {"labourers": {"w": {"max_simultaneous_invocations": 5}}}
    proposal = limits_edit(document, "w", {"rate.per_second": "2", "rate.burst": "0"}, 3)
    assert proposal.field == "rate.burst", proposal.error
    proposal = limits_edit(document, "w", {"rate.per_second": "-1"}, 3)
    assert proposal.field == "rate.per_second", proposal.error
    proposal = limits_edit(document, "w", {"max_per_key": "2"}, 3)
    assert proposal.error is not None and proposal.field in ("max_per_key", "concurrency_key"), proposal.error


def test_the_console_imports_nothing_of_local_mode() -> None:
    code = ("import sys, ganger.console.build, ganger.console.app; "
            "print(sorted(m for m in sys.modules if m.startswith('ganger.local')))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_logs_are_linked_on_aws_only() -> None:
    import boto3

    from ganger.console.insights import insights_url, on_aws

    aws = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    local = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url="http://127.0.0.1:4566",
                         aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    assert on_aws(aws) and not on_aws(local)
    url = insights_url("eu-west-1", "/aws/lambda/w", "t-1")
    # the console's own format: the object's ~ ( ' escaped twice and $-encoded, strings' % as *
    assert url.startswith("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:"
                          "logs-insights$3FqueryDetail$3D$257E$2528end$257E0$257Estart$257E-604800")  # fmt: skip
    assert url.endswith("$257Esource$257E$2528$257E$2527*2Faws*2Flambda*2Fw$2529$2529")
    assert "like*20*22t-1*22" in url

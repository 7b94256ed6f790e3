"""The console as an operator uses it, in headless Chromium: what each page shows, what each action does after
its confirmation, and what the console refuses (read-only, a foreign origin, a bad config edit)."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from benchmarks.harness import Clock, InProcessSystem
from ganger.console.server import ConsoleServer
from ganger.labourer import LABOURERS_DOCUMENT
from tests.console.conftest import OPERATOR, job, shoot

Console = Callable[..., ConsoleServer]


def cell(page: Any, labourer: str, column: int) -> Any:
    return page.locator(f'#labourers tr[data-labourer="{labourer}"] td').nth(column)


def dead_tasks(system: InProcessSystem, n: int) -> list[str]:
    """``n`` tasks of example_worker dead: each fails both of its attempts."""
    system.schedule(job(n, fail_attempts=5))
    system.tick()
    system.clock.advance(11)  # type: ignore[union-attr]
    system.tick()
    system.tick()
    closed = system.scan("sosw_closed_tasks")
    assert len(closed) == n and {r["labourer_id_task_status"] for r in closed} == {"example_worker_0"}
    return sorted(r["task_id"] for r in closed)


def csrf(page: Any) -> str:
    return str(page.locator('input[name="csrf"]').first.get_attribute("value"))


def test_overview_lists_the_labourers_and_changes_without_a_reload_when_a_job_runs(
    page: Any, console: Console, system: InProcessSystem
) -> None:
    server = console(allow_actions=False)
    page.goto(server.url)
    expect(page.locator("#labourers tbody tr")).to_have_count(2)
    expect(cell(page, "example_worker", 0)).to_have_text("example_worker")
    expect(cell(page, "other_worker", 0)).to_have_text("other_worker")
    expect(cell(page, "example_worker", 2)).to_have_text("0")
    page.evaluate("window.loadedOnce = true")

    system.schedule(job(3))
    expect(cell(page, "example_worker", 2)).to_have_text("3", timeout=10_000)  # queued, live
    shoot(page, "overview")
    system.tick()
    expect(cell(page, "example_worker", 4)).to_have_text("3", timeout=10_000)  # completed in the last hour
    expect(cell(page, "example_worker", 2)).to_have_text("0")
    assert page.evaluate("window.loadedOnce") is True, "the page was reloaded"


def test_a_task_page_shows_its_attempts(page: Any, console: Console, system: InProcessSystem, clock: Clock) -> None:
    system.schedule(job(1, fail_attempts=1))
    system.tick()  # the first attempt fails
    clock.advance(11)
    system.tick()  # back in the queue
    system.tick()  # the second attempt completes
    task_id = system.scan("sosw_closed_tasks")[0]["task_id"]

    page.goto(console(allow_actions=False).url + f"tasks/{task_id}")
    expect(page.locator("h1")).to_have_text(f"task {task_id}")
    expect(page.locator("dl")).to_contain_text("completed")
    steps = page.locator("#attempts tbody tr td:nth-child(2)")
    expect(steps.first).to_have_text("created")
    # The audit rows carry the wall clock, the task row this test's clock (11 s ahead): compare the steps, not
    # their order.
    assert sorted(steps.all_inner_texts()) == sorted(["created", "failed retried (attempt 1)", "attempt 2 invoked",
        "completed (attempt 2)", "reported completed", "closed as completed"])  # fmt: skip
    wait = re.compile(r"\+1[01](\.\d)? s")  # the retry's wait, from the timestamps
    expect(page.locator("#attempts")).to_contain_text(wait)
    # moto in-process answers for dynamodb.us-east-1.amazonaws.com: the page links to Logs Insights
    logs = page.locator("#logs").get_attribute("href") or ""
    assert logs.startswith("https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:")
    assert "*2Faws*2Flambda*2Fexample_worker" in logs and task_id.replace("-", "") in logs.replace("-", "")
    shoot(page, "task")


def test_redrive_a_group_after_confirming_its_exact_count(page: Any, console: Console, system: InProcessSystem) -> None:
    ids = dead_tasks(system, 3)
    page.goto(console().url + "dead")
    expect(page.locator("#groups tbody tr")).to_have_count(1)
    expect(page.locator("#groups tbody tr td").nth(2)).to_contain_text("used <n> of <n> attempts")
    shoot(page, "dead")
    page.get_by_role("button", name="redrive 3…").click()

    expect(page.locator("#count")).to_have_text("3")  # the exact count, before anything is done
    assert len(system.scan("sosw_closed_tasks")) == 3, "nothing moved before the confirmation"
    page.get_by_role("button", name="redrive 3 task(s)").click()

    expect(page.locator("#done")).to_have_text("3 dead task(s) of example_worker back in the queue")
    expect(page.locator("main")).to_contain_text("recorded in the audit trail")
    assert system.scan("sosw_closed_tasks") == []
    queued = sorted(r["task_id"] for r in system.scan("sosw_tasks") if r["task_id"] in ids)
    assert queued == ids
    rows = [r for r in system.scan("ganger_task_audit") if r["event"] == "redriven"]
    assert sorted(r["task_id"] for r in rows) == ids and {r["details"]["by"] for r in rows} == {OPERATOR}


def test_a_redrive_confirmed_for_a_count_that_changed_is_not_done(
    page: Any, console: Console, system: InProcessSystem
) -> None:
    dead_tasks(system, 2)
    page.goto(console().url + "dead")
    page.get_by_role("button", name="redrive 2…").click()
    page.locator('#confirm input[name="count"]').evaluate("input => input.value = '1'")  # confirmed 1, not 2
    page.get_by_role("button", name="redrive 2 task(s)").click()
    expect(page.locator("main")).to_contain_text("not redriven: the group has 2 task(s) now, not the 1 you confirmed")
    assert len(system.scan("sosw_closed_tasks")) == 2


def test_pause_and_resume_after_confirmation(page: Any, console: Console, system: InProcessSystem) -> None:
    page.goto(console().url + "labourers/example_worker")
    page.get_by_role("button", name="pause…").click()
    assert system.config.get(LABOURERS_DOCUMENT).value["labourers"]["example_worker"].get("paused") is not True
    page.fill('input[name="reason"]', "deploying a fix")
    page.get_by_role("button", name="pause example_worker").click()
    expect(page.locator("#done")).to_have_text("labourer example_worker paused")

    entry = system.config.get(LABOURERS_DOCUMENT).value["labourers"]["example_worker"]
    assert entry["paused"] is True and entry["paused_reason"] == "deploying a fix"
    system.schedule(job(2))
    system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 0, "a paused labourer starts nothing"
    page.goto(page.url.split("/labourers")[0] + "/labourers/example_worker")
    expect(page.locator("dl")).to_contain_text("deploying a fix")
    expect(page.locator("#waiting")).to_contain_text("is paused")  # why each queued task waits
    shoot(page, "labourer")

    page.get_by_role("button", name="resume…").click()
    page.get_by_role("button", name="resume example_worker").click()
    expect(page.locator("#done")).to_have_text("labourer example_worker resumed")
    events = {r["event"]: r for r in system.scan("ganger_task_audit") if r["task_id"] == "labourer:example_worker"}
    assert set(events) == {"labourer_paused", "labourer_resumed"}
    assert events["labourer_paused"]["details"]["by"] == OPERATOR


def test_a_read_only_console_refuses_every_action(page: Any, console: Console, system: InProcessSystem) -> None:
    dead_tasks(system, 2)
    server = console(allow_actions=False)
    page.goto(server.url + "dead")
    expect(page.get_by_role("button", name="redrive 2…")).to_be_disabled()
    expect(page.locator("#mode")).to_contain_text("read-only")
    token = csrf(page)
    group = page.locator('input[name="group"]').first.get_attribute("value")

    posts = {
        "dead/redrive": {"group": group, "count": "2", "confirm": "yes"},
        "labourers/example_worker/pause": {"confirm": "yes", "reason": "x"},
        "labourers/example_worker/limits": {"confirm": "yes", "version": "2", "max_attempts": "9"},
        "config/ganger_labourers": {"confirm": "yes", "version": "2", "text": "{}"},
    }
    for path, form in posts.items():
        response = page.request.post(server.url + path, form={"csrf": token, **form},
                                     headers={"Origin": server.url.rstrip("/")})  # fmt: skip
        assert response.status == 403 and "read-only" in html.unescape(response.text()), path
    assert len(system.scan("sosw_closed_tasks")) == 2
    labourers = system.config.get(LABOURERS_DOCUMENT).value["labourers"]
    assert not labourers["example_worker"].get("paused") and labourers["example_worker"]["max_attempts"] == 2


def test_an_invalid_limit_shows_the_fields_error_and_saves_nothing(
    page: Any, console: Console, system: InProcessSystem
) -> None:
    before = system.config.get(LABOURERS_DOCUMENT)
    page.goto(console().url + "labourers/example_worker")
    page.fill('#limits input[name="max_simultaneous_invocations"]', "lots")
    page.get_by_role("button", name="check and show the diff").click()

    expect(page.locator("#error-max_simultaneous_invocations")).to_have_text("expected int, got str 'lots'")
    expect(page.locator('#limits input[name="max_simultaneous_invocations"]')).to_have_value("lots")
    shoot(page, "labourer-invalid-edit")
    assert system.config.get(LABOURERS_DOCUMENT) == before, "nothing saved"

    page.fill('#limits input[name="max_simultaneous_invocations"]', "7")
    page.get_by_role("button", name="check and show the diff").click()
    expect(page.locator("#diff")).to_contain_text('-   "max_simultaneous_invocations": 5')
    expect(page.locator("#diff")).to_contain_text('+   "max_simultaneous_invocations": 7')
    assert system.config.get(LABOURERS_DOCUMENT) == before, "nothing saved before the diff is confirmed"
    page.get_by_role("button", name="save").click()
    expect(page.locator("#done")).to_contain_text(f"version {before.version} -> {before.version + 1}")
    saved = system.config.get(LABOURERS_DOCUMENT).value["labourers"]["example_worker"]
    assert saved["max_simultaneous_invocations"] == 7


def test_flow_limits_are_edited_from_the_form(page: Any, console: Console, system: InProcessSystem) -> None:
    before = system.config.get(LABOURERS_DOCUMENT)
    page.goto(console().url + "labourers/example_worker")
    for name, value in {"concurrency_key": "tenant", "max_per_key": "2", "rate.per_second": "5",
                        "rate.burst": "0"}.items():  # fmt: skip
        page.fill(f'#limits input[name="{name}"]', value)
    page.get_by_role("button", name="check and show the diff").click()
    expect(page.locator('[id="error-rate.burst"]')).to_contain_text("`burst` must be an integer from 1")
    assert system.config.get(LABOURERS_DOCUMENT) == before, "nothing saved"

    page.fill('#limits input[name="rate.burst"]', "10")
    page.get_by_role("button", name="check and show the diff").click()
    expect(page.locator("#diff")).to_contain_text('+   "max_per_key": 2')
    page.get_by_role("button", name="save").click()
    expect(page.locator("#done")).to_contain_text(f"version {before.version} -> {before.version + 1}")
    saved = system.config.get(LABOURERS_DOCUMENT).value["labourers"]["example_worker"]
    assert (saved["concurrency_key"], saved["max_per_key"], saved["rate"]) == ("tenant", 2, {"per_second": 5,
                                                                                             "burst": 10})  # fmt: skip


def test_a_config_document_edit_is_checked_against_its_schema(
    page: Any, console: Console, system: InProcessSystem
) -> None:
    before = system.config.get("sosw_scavenger_config")
    page.goto(console().url + "config")
    expect(page.locator("#documents")).to_contain_text("sosw_scavenger_config")
    shoot(page, "config")
    page.goto(page.url + "/sosw_scavenger_config")
    value = {**before.value, "batch_limit": "many"}
    page.fill('textarea[name="text"]', json.dumps(value))
    page.get_by_role("button", name="check and show the diff").click()
    expect(page.locator("#error-text")).to_contain_text("field `batch_limit`: expected int, got str 'many'")
    assert system.config.get("sosw_scavenger_config") == before


@pytest.fixture
def evil_site() -> Iterator[Callable[[str], str]]:
    """Another origin (another port of 127.0.0.1) whose page posts a form to the console when opened."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        pages["/attack"] = html.encode()
        return f"http://127.0.0.1:{server.server_address[1]}/attack"

    yield serve
    server.shutdown()
    server.server_close()


def test_a_post_from_a_foreign_origin_is_refused(
    page: Any, console: Console, system: InProcessSystem, evil_site: Callable[[str], str]
) -> None:
    server = console(allow_actions=True)
    page.goto(server.url + "labourers/example_worker")
    token = csrf(page)  # even with the right token (which another origin cannot read)
    pause = server.url + "labourers/example_worker/pause"
    form = {"csrf": token, "confirm": "yes", "reason": "evil"}

    response = page.request.post(pause, form=form, headers={"Origin": "http://evil.example"})
    refused = html.unescape(response.text())
    assert response.status == 403 and "Origin 'http://evil.example' is not this console's own" in refused
    response = page.request.post(pause, form=form, headers={"Host": "evil.example:80"})  # DNS rebinding
    assert response.status == 403 and "Host 'evil.example:80'" in html.unescape(response.text())
    response = page.request.post(pause, form={**form, "csrf": "guessed"})
    assert response.status == 403 and "CSRF token" in html.unescape(response.text())

    attack = evil_site(f'<form method="post" action="{pause}"><input name="csrf" value="{token}">'
                       '<input name="confirm" value="yes"><input name="reason" value="evil"></form>'
                       "<script>document.forms[0].submit()</script>")  # fmt: skip
    page.goto(attack)
    expect(page.locator("#problem")).to_contain_text(re.compile("Origin 'http://127.0.0.1:\\d+' is not"))
    assert not system.config.get(LABOURERS_DOCUMENT).value["labourers"]["example_worker"].get("paused")


def test_the_cost_page_shows_ganger_cost(page: Any, console: Console) -> None:
    page.goto(console(allow_actions=False).url + "cost")
    expect(page.locator("#cost")).to_contain_text("Step Functions Standard")
    expect(page.locator("#cost")).to_contain_text("dynamodb index writes")
    shoot(page, "cost")


def slow_worker(system: InProcessSystem, clock: Clock, seconds: float) -> None:
    """example_worker's attempts each take ``seconds`` of the test's clock before they report."""
    from examples import sosw_protocol_worker

    def handler(event: Any, context: Any) -> Any:
        clock.advance(seconds)
        return sosw_protocol_worker.lambda_handler(event, context)

    system.register_worker("example_worker", handler)


def test_the_overview_charts_the_completions_a_job_made_and_redraws_them_live(
    page: Any, console: Console, system: InProcessSystem, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ganger.console.reads.CHARTS_EVERY", 0.0)  # the live refresh reads them every time
    page.goto(console(allow_actions=False).url)
    completions = cell(page, "example_worker", 9).locator("svg.completions")
    expect(completions).to_have_attribute("data-total", "0")
    expect(cell(page, "example_worker", 9)).to_contain_text("no task completed in the last hour")
    page.evaluate("window.loadedOnce = true")

    system.schedule(job(3))
    system.tick()
    expect(completions).to_have_attribute("data-total", "3", timeout=10_000)  # redrawn by the live refresh
    expect(cell(page, "example_worker", 9)).to_contain_text("all 3 completed in the last hour")
    assert page.evaluate("window.loadedOnce") is True, "the page was reloaded"
    latency = cell(page, "example_worker", 8)
    expect(latency.locator("svg.latency")).to_have_attribute("aria-label", re.compile(r"^start latency p50 0 s, "
                                                             r"p95 0 s over 3 tasks; all 3 completed"))  # fmt: skip
    expect(latency).to_contain_text("p50 0 s · p95 0 s")
    expect(cell(page, "other_worker", 9).locator("svg.completions")).to_have_attribute("data-total", "0")
    shoot(page, "overview-charts")


def test_a_labourer_page_draws_its_capacity_over_the_last_hour(
    page: Any, console: Console, system: InProcessSystem, clock: Clock
) -> None:
    clock.now = clock.now - 900  # the job ran 15 minutes ago, each attempt for 40 s of the test's clock
    slow_worker(system, clock, 40)
    system.schedule(job(3))
    system.tick()
    assert len(system.scan("sosw_closed_tasks")) == 3

    page.goto(console(allow_actions=False).url + "labourers/example_worker")
    timeline = page.locator("svg.timeline")
    expect(timeline).to_have_attribute("data-peak", "3")  # the three attempts overlapped
    expect(timeline).to_contain_text("configured cap 5")
    expect(page.locator("#timeline-notes")).to_contain_text("all 3 completed in the last hour")
    expect(page.locator("#timeline-notes")).to_contain_text("plus the 0 attempts holding a slot now")
    shoot(page, "labourer-timeline")

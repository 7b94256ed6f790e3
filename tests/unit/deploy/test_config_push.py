from __future__ import annotations

from ganger.deploy.config_push import DocumentChange


def test_an_update_shows_a_unified_diff_of_the_stored_form() -> None:
    change = DocumentChange("sosw_scavenger_config", "update", {"batch_limit": 100}, {"batch_limit": 500}, 3)

    diff = change.diff()

    assert diff.splitlines() == [
        "--- table/sosw_scavenger_config",
        "+++ folder/sosw_scavenger_config.json",
        "@@ -1,3 +1,3 @@",
        " {",
        '- "batch_limit": 500',
        '+ "batch_limit": 100',
        " }",
    ]


def test_a_new_document_diffs_against_nothing() -> None:
    diff = DocumentChange("x", "create", {"a": 1}).diff()

    assert diff.splitlines()[2:] == ["@@ -0,0 +1,3 @@", "+{", '+ "a": 1', "+}"]

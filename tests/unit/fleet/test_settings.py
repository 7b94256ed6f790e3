"""The ganger_fleets document and handler paths."""

from __future__ import annotations

import pytest

from ganger.documents import validate
from ganger.errors import ConfigError
from ganger.fleet.settings import FLEETS_DOCUMENT, load_handler, parse_fleets


def test_settings_parse_with_defaults() -> None:
    fleets = parse_fleets({"fleets": {"video_fleet": {"processor": "processors.video.worker.lambda_handler"}}})
    settings = fleets["video_fleet"]
    assert settings.visibility_timeout_seconds == 1800
    assert settings.wait_seconds == 20
    assert settings.report == "handler"


@pytest.mark.parametrize(
    ("fleet", "field"),
    [
        ({"wait_seconds": 21}, "fleets.f"),
        ({"heartbeat_seconds": 1900}, "fleets.f"),
        ({"report": "nobody"}, "fleets.f.report"),
        ({"procesor": "x.y"}, "fleets.f.procesor"),
    ],
)
def test_bad_settings_name_the_field(fleet: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fleets({"fleets": {"f": fleet}})
    assert caught.value.document == FLEETS_DOCUMENT
    assert caught.value.field == field


def test_the_document_validates_like_any_other() -> None:
    with pytest.raises(ConfigError, match="wait_seconds"):
        validate(FLEETS_DOCUMENT, {"fleets": {"f": {"wait_seconds": -1}}})


def test_handlers_load_by_path() -> None:
    from processors.video import worker as video_worker

    assert load_handler("processors.video.worker.lambda_handler") is video_worker.lambda_handler


@pytest.mark.parametrize("path", ["nodots", "processors.nope.lambda_handler", "processors.video.worker.nope",
                                  "processors.video.worker.CONFIG_DOCUMENT"])  # fmt: skip
def test_bad_handler_paths_are_config_errors(path: str) -> None:
    with pytest.raises(ConfigError, match="processor"):
        load_handler(path)

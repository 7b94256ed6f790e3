from __future__ import annotations

import pytest

from processors.demo import DATA_DIR
from processors.detectors import Detection, HogPeopleDetector, annotate, decode, summary

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
    assert summary(["person", "dog", "person"]) == "person: 2\ndog: 1"
    assert summary([]) == "No objects detected."

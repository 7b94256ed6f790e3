"""Object detectors for the image worker: a small interface and its implementations.

``HogPeopleDetector`` (the default) is OpenCV's HOG + linear SVM pedestrian detector: it ships
with OpenCV, so no weights are downloaded. ``OnnxDetector`` runs a YOLO-style ONNX model through
``cv2.dnn`` (output rows ``[cx, cy, w, h, objectness, class scores...]`` in input pixels, as
YOLOv5/v8 exports give); the worker loads its bytes from S3. Any object with a ``detect(image)``
method returning ``Detection``s fits ``Detector``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

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
        }


class Detector(Protocol):
    def detect(self, image: Image) -> list[Detection]: ...


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


def decode(data: bytes) -> Image:
    """An image from JPEG/PNG bytes; ValueError when it is not one."""
    import cv2
    import numpy as np

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
    """``person: 2`` lines, most frequent first."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if not counts:
        return "No objects detected."
    return "\n".join(f"{label}: {n}" for label, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

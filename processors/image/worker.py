"""Image worker (Polybot's detector): photo in S3 -> objects -> prediction row + annotated image -> /results.

Event (a task of the ``image_worker`` labourer): ``{"prediction_id", "chat_id", "bucket", "image_key"}``.
The prediction id comes from the Telegram message, so a retried task rewrites the same row and
image. A photo that is refused (not JPEG, PNG or WebP by its magic bytes, over ``max_image_bytes``, or
over ``max_image_pixels`` by its header: ``processors.image.limits``, checked before any decoder runs) or
that cannot be decoded completes the task with an error (retrying cannot fix it), and the chat is told
through ``/results`` all the same. ``reply_to`` (the photo's message id)
threads the answer under the photo.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Literal

from ganger import constants
from ganger.errors import GangerError, InvalidEvent
from ganger.processor import handler_for
from processors.configured_worker import ConfiguredWorker
from processors.image import detectors, limits
from processors.image.predictions import Prediction, PredictionStore
from processors.image.signed_request import NoCredentials, sigv4_headers

logger = logging.getLogger(__name__)
CONFIG_DOCUMENT = "image_worker_config"
ENV_RESULTS_URL = "GANGER_RESULTS_URL"  # fallback for `results_url` (local mode sets it)


@dataclass(frozen=True)
class DetectorConfig:
    kind: Literal["yolov4-tiny", "onnx", "hog"] = "yolov4-tiny"
    model_dir: str = ""  # yolov4-tiny: empty means $GANGER_MODEL_DIR or ~/.cache/ganger/models
    win_stride: int = 8
    scale: float = 1.05
    min_score: float = 0.25
    nms_threshold: float = 0.45
    onnx_bucket: str = ""  # kind "onnx": the model in S3
    onnx_key: str = ""
    classes: list[str] = field(default_factory=list)
    input_size: int = 416


@dataclass(frozen=True)
class ImageWorkerConfig:
    bucket: str = "ganger-media"
    predictions_table: str = "ganger_predictions"
    predicted_prefix: str = "predictions"
    results_url: str = ""  # the bot's POST /results; empty: GANGER_RESULTS_URL
    results_timeout_seconds: float = 15.0
    max_image_bytes: int = limits.DEFAULT_MAX_BYTES  # larger data is refused, never cut to fit
    max_image_pixels: int = limits.DEFAULT_MAX_PIXELS  # from the header, before decoding
    detector: DetectorConfig = field(default_factory=DetectorConfig)


class ResultsCallFailed(GangerError):
    """The bot's /results endpoint did not accept the prediction (the task is retried)."""


@dataclass(frozen=True)
class ImageTask:
    prediction_id: str
    chat_id: int
    bucket: str
    image_key: str
    reply_to: int = 0

    @classmethod
    def from_event(cls, event: dict[str, Any], default_bucket: str) -> ImageTask:
        for name in ("prediction_id", "chat_id", "image_key"):
            if not event.get(name):
                raise InvalidEvent(name, "missing")
        return cls(
            str(event["prediction_id"]),
            int(event["chat_id"]),
            str(event.get("bucket") or default_bucket),
            str(event["image_key"]),
            int(event.get("reply_to") or 0),
        )


def build_detector(config: DetectorConfig, s3: Any) -> detectors.Detector:
    if config.kind == "onnx":
        model = s3.get_object(Bucket=config.onnx_bucket, Key=config.onnx_key)["Body"].read()
        return detectors.OnnxDetector(model, config.classes, config.input_size, config.min_score, config.nms_threshold)
    if config.kind == "hog":
        return detectors.HogPeopleDetector(config.win_stride, config.scale, config.min_score)
    return detectors.YoloDarknetDetector.installed(
        config.model_dir or None,
        input_size=config.input_size,
        min_score=config.min_score,
        nms_threshold=config.nms_threshold,
    )


class ImageWorker(ConfiguredWorker[ImageWorkerConfig]):
    config_class = ImageWorkerConfig
    default_function_name = "image_worker"

    def __init__(self, *args: Any, detector: detectors.Detector | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._detector = detector

    def detector(self) -> detectors.Detector:
        if self._detector is None:
            self._detector = build_detector(self.config.detector, self.clients.get("s3"))
        return self._detector

    def read_image(self, task: ImageTask, image_limits: limits.ImageLimits) -> bytes:
        """The photo's bytes: refused by its stored size before reading, and by its length after (never cut)."""
        stored = self.clients.get("s3").get_object(Bucket=task.bucket, Key=task.image_key)
        image_limits.check_size(int(stored.get("ContentLength") or 0))
        data = bytes(stored["Body"].read(image_limits.max_bytes + 1))
        image_limits.check_size(len(data))
        return data

    def refuse(self, task: ImageTask, error: str) -> dict[str, Any]:
        """Tell the chat why (through /results) and end the task as done: a retry cannot change the photo."""
        store = PredictionStore(self.clients.dynamodb, self.config.predictions_table)
        prediction = Prediction(
            task.prediction_id, task.chat_id, task.image_key, "", [], self.clock(), task.bucket, task.reply_to, error
        )
        store.put(prediction)
        self.call_results(task.prediction_id)
        return {"prediction_id": task.prediction_id, "error": error}

    def process(self, event: dict[str, Any]) -> dict[str, Any] | None:
        config = self.config
        task = ImageTask.from_event(event, config.bucket)
        s3 = self.clients.get("s3")
        image_limits = limits.ImageLimits(config.max_image_bytes, config.max_image_pixels)
        try:
            image = detectors.decode(self.read_image(task, image_limits), image_limits)
        except limits.ImageRefused as exc:
            logger.warning("prediction %s: the photo is refused: %s", task.prediction_id, exc.reason)
            self.stats["images_refused"] += 1
            return self.refuse(task, exc.reason)
        except ValueError:
            logger.warning("prediction %s: the photo is not an image", task.prediction_id)
            return self.refuse(task, "it is not an image I can read")
        store = PredictionStore(self.clients.dynamodb, config.predictions_table)
        found = self.detector().detect(image)
        predicted_key = f"{config.predicted_prefix}/{task.chat_id}/{task.prediction_id}.jpg"
        s3.put_object(
            Bucket=task.bucket, Key=predicted_key, Body=detectors.annotate(image, found), ContentType="image/jpeg"
        )
        prediction = Prediction(
            task.prediction_id,
            task.chat_id,
            task.image_key,
            predicted_key,
            [d.to_label() for d in found],
            self.clock(),
            task.bucket,
            task.reply_to,
        )
        store.put(prediction)
        self.stats["objects_detected"] += len(found)
        self.call_results(task.prediction_id)
        return {"prediction_id": task.prediction_id, "objects": len(found)}

    def call_results(self, prediction_id: str) -> None:
        base = self.config.results_url or constants.getenv(ENV_RESULTS_URL) or ""
        if not base:
            raise ResultsCallFailed("no results_url configured")
        url = f"{base}{'&' if '?' in base else '?'}{urllib.parse.urlencode({'predictionId': prediction_id})}"
        try:  # POST /results is IAM-authorized: signed as this function's role
            headers = sigv4_headers(url, "POST", b"", self.clients.dynamodb.meta.region_name)
        except NoCredentials as exc:
            raise ResultsCallFailed(str(exc)) from exc
        request = urllib.request.Request(url, data=b"", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.config.results_timeout_seconds) as response:
                status = response.status
        except (urllib.error.URLError, OSError) as exc:
            raise ResultsCallFailed(f"POST /results failed: {exc}") from exc
        if not 200 <= status < 300:
            raise ResultsCallFailed(f"POST /results answered {status}")


lambda_handler = handler_for(ImageWorker)

"""The service's JSON, as pydantic models, so /openapi.json documents every answer. A face has
the fields of `Face.to_dict()`, the same as a row of `Prediction.to_jsonl()`: one shape for a
face everywhere (its `prob_<class>` fields are made from the served model's classes)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from scancci.inference.results import PROB_PREFIX


class ErrorOut(BaseModel):
    """Every refusal and failure: one line saying what is wrong and how to fix it."""

    error: str = Field(description="what went wrong, naming the limit or field, and the fix")


class ModelOut(BaseModel):
    """The model behind the answers (GET /info, and every POST /predict)."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    name: str = Field(description="the baseline's name or the architecture (a row's `model`)")
    version: str | None = Field(None, description='"sha256:" and 16 hex digits of the weights '
                                                  "(a row's `model_version`)")
    arch: str = Field(description="architecture")
    classes: list[str] = Field(description="class names, in the order of the prob_ fields")
    backend: str | None = Field(None, description="torch or onnx")
    precision: str | None = Field(None, description="fp32, bf16 or int8")
    detector: str | None = Field(None, description="face detector; none: the whole image")
    attention: bool = Field(False, description="whether attention maps can be asked for")


class SettingsOut(BaseModel):
    """The detector settings one request ran with (the service's, or the request's own)."""

    detector: str | None = Field(None, description="face detector; none: the whole image")
    min_score: float | None = Field(None, description="faces scoring below were dropped")
    min_face_size: float | None = Field(None, description="smaller faces (px) were dropped")
    rotation: int | str | None = Field(None, description="auto or a quarter turn searched")


class HealthOut(BaseModel):
    """Liveness and load."""

    status: str
    in_flight: int = Field(description="requests inferring now")
    waiting: int = Field(description="requests waiting for a model slot")
    max_concurrency: int


class InfoOut(BaseModel):
    """What the service runs and accepts."""

    model_config = ConfigDict(protected_namespaces=())

    service: str
    version: str
    model: ModelOut
    classes: list[str]
    limits: dict[str, int | float] = Field(description="the limits every refusal quotes")
    settings: SettingsOut
    capabilities: dict[str, Any]


def face_model(class_names: Sequence[str]) -> type[BaseModel]:
    """The pydantic model of one face for a model with these classes."""
    probabilities: dict[str, Any] = {
        f"p{i}": (float, Field(alias=PROB_PREFIX + name,
                               description=f"probability of {name}"))
        for i, name in enumerate(class_names)}
    return create_model(
        "Face",
        __config__=ConfigDict(populate_by_name=True),
        face=(int, Field(description="index of the face in the image, largest first (as in "
                                           "the rows of `scancci predict`)")),
        track_id=(int | None, Field(None, description="track id (videos; null here)")),
        x1=(float, Field(description="box left, pixels of the uploaded image")),
        y1=(float, Field(description="box top")),
        x2=(float, Field(description="box right")),
        y2=(float, Field(description="box bottom")),
        detection_score=(float | None, Field(description="detector score; null without one")),
        rotation=(int, Field(0, description="quarter turn (degrees clockwise) that showed the "
                                            "face upright to the detector")),
        label=(str, Field(description="the most probable class")),
        landmarks=(list[list[float]] | None,
                   Field(None, description="eyes, nose, mouth corners [[x, y] x 5]")),
        attention_png=(str | None, Field(None, description="attention overlay, base64 RGBA PNG "
                                                           "(only with attention=true)")),
        **probabilities,
    )


def prediction_model(class_names: Sequence[str]) -> type[BaseModel]:
    """The pydantic model of a POST /predict answer for a model with these classes."""
    face = face_model(class_names)
    return create_model(
        "PredictionOut",
        __config__=ConfigDict(protected_namespaces=()),
        width=(int, Field(description="width of the uploaded image, pixels")),
        height=(int, Field(description="height of the uploaded image, pixels")),
        faces=(list[face],  # type: ignore[valid-type]  # a model made for these classes
               Field(description="every face found (at most max_faces)")),
        model=(ModelOut, Field(description="the model that answered")),
        settings=(SettingsOut, Field(description="the detector settings used")),
        elapsed_ms=(float, Field(description="time spent on the request, milliseconds")),
    )

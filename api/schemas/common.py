"""What every response model shares: extra columns ignored, pages, the labels and model kinds."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

TrendLabel = Literal["Viral", "Hot", "Stable", "Cooling", "Cold"]
ModelKind = Literal["trust", "success"]
# What the API serves from MLflow: the two scores' models and trust's account component.
ServedKind = Literal["trust", "success", "account"]


class Out(BaseModel):
    # Gold rows arrive as dicts with extra columns; responses show only the declared fields.
    model_config = ConfigDict(extra="ignore")


# Media type of the routes that return their body already serialised (a prebuilt Response).
JSON = "application/json"


class Page(Out, Generic[T]):
    items: list[T]
    total: int = Field(description="Matches over all pages.")
    limit: int
    offset: int

"""Trust from a request: its components, what each rests on, and trust put together.

* **audience** (the ``trust`` model, ``kol_trust``): run only when the request carries behaviour
  features (anything beyond what a profile shows, :data:`ml.features.PROFILE_FEATURES`). Given
  a profile alone it ranks inauthentic creators barely better than chance (ROC AUC 0.54), so it
  is not asked.
* **account** (``kol_trust_account``): the profile's own fields (``profile`` in the body) and
  its counters, through :func:`ml.account.account_features`; run whenever its model is loaded.

Trust is :func:`ml.scoring.combine_trust` of the two. Its label is a trust band only when the
audience component is in the basis (the component's own label when it set the score, else the
band of the score); from the account alone, the account component's own label
(``Genuine account``...), never a trust band: a profile cannot show a bought audience.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from api.errors import ServiceUnavailable
from api.models import ModelOutput, ModelRegistry, ScoringModel, predict
from api.schemas import KolFeatures, Prediction, ProfileFields
from kol.settings import ApiSettings
from ml.account import account_features
from ml.features import PROFILE_FEATURES
from ml.scoring import ACCOUNT, AUDIENCE, TRUST_BANDS, band_label, combine_trust


def has_behaviour(features: KolFeatures) -> bool:
    """Does the request carry anything a profile alone does not show?"""
    return any(
        value is not None and name not in PROFILE_FEATURES
        for name, value in features.model_dump().items()
    )


def account_row(features: KolFeatures, profile: ProfileFields | None) -> dict[str, Any]:
    p = profile or ProfileFields()
    return account_features(
        username=p.username,
        nickname=p.nickname,
        bio=p.bio,
        avatar_url=p.avatar_url,
        followers=features.followers,
        following=features.following,
        posts=features.posts,
    )


def _component(model: ScoringModel, out: ModelOutput) -> dict[str, Any]:
    return {
        "score": out.score,
        "label": out.label,
        "model_version": str(model.version),
        "reasons": out.reasons,
        "model_name": model.name,
    }


async def trust_predictions(
    items: Sequence[tuple[KolFeatures, ProfileFields | None]],
    models: ModelRegistry,
    s: ApiSettings,
) -> list[Prediction]:
    """One trust prediction per (features, profile); 503 naming each missing component when
    no component can score an item."""
    audience, audience_why = models.find("trust")
    account, account_why = models.find(ACCOUNT)
    parts: list[dict[str, dict[str, Any]]] = [{} for _ in items]
    behaviour = [i for i, (f, _) in enumerate(items) if has_behaviour(f)]
    if audience is not None and behaviour:
        outs = await predict(audience, [items[i][0] for i in behaviour])
        for i, out in zip(behaviour, outs, strict=True):
            parts[i][AUDIENCE] = _component(audience, out)
    if account is not None:
        outs = await predict(account, [account_row(f, p) for f, p in items])
        for i, out in enumerate(outs):
            parts[i][ACCOUNT] = _component(account, out)
    missing = [i for i, p in enumerate(parts) if not p]
    if missing:
        why = [f"the account component is unavailable ({account_why})"]
        if missing[0] in behaviour:
            why.insert(0, f"the audience component is unavailable ({audience_why})")
        else:
            why.insert(
                0,
                "the audience component needs behaviour features (growth, engagement, "
                "comments), not only the profile",
            )
        raise ServiceUnavailable(
            "models", f"no trust component can score this: {'; '.join(why)}", 60
        )
    nan = float("nan")
    trust, setter, basis = combine_trust(
        np.array([p.get(AUDIENCE, {}).get("score", nan) for p in parts], dtype="float64"),
        np.array([p.get(ACCOUNT, {}).get("score", nan) for p in parts], dtype="float64"),
    )
    predictions = []
    for p, score, by, b in zip(parts, trust.tolist(), setter.tolist(), basis, strict=True):
        lead = p[by]
        if by == AUDIENCE:
            label = lead["label"] or band_label(score, s.score_bands)
        elif AUDIENCE in p:
            label = band_label(score, TRUST_BANDS)
        else:
            label = lead["label"]
        predictions.append(
            Prediction.model_validate(
                {
                    "model": "trust",
                    "score": score,
                    "label": label,
                    "model_name": lead["model_name"],
                    "model_version": lead["model_version"],
                    "reasons": lead["reasons"],
                    "basis": b,
                    "components": p,
                }
            )
        )
    return predictions

"""Trust and success models: features, training, evaluation, MLflow registry, scoring.

* :mod:`ml.features` - the one feature definition (gold.ml_kol_features) and matrix builder;
* :mod:`ml.scoring` - the one scoring function (:class:`ml.scoring.Scorer`): score, label,
  SHAP reasons; used by training-time evaluation, batch scoring, the API and the stream;
* :mod:`ml.labels` - generator ground truth and user CSV labels;
* :mod:`ml.train` - Optuna-tuned LightGBM, the classifier recipe, calibration; :mod:`ml.trust`
  - the trust model; :mod:`ml.success` - the success model and its backtest; :mod:`ml.metrics` -
  what they report; :mod:`ml.external` - the real-data check; :mod:`ml.registry` - MLflow logging
  and champion promotion; :mod:`ml.monitoring` - drift and score monitoring of batch scoring;
* :mod:`ml.pipeline` - `kol ml train`; :mod:`ml.batch` - `kol ml score`; :mod:`ml.tasks` -
  what the DAGs call; :mod:`ml.cli` - the `kol ml` commands.
"""

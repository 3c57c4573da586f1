"""The REST API (FastAPI): how applications and marketers read the platform.

Layout (as in fastapi/full-stack-fastapi-template):

* ``main.py``: the app factory (``uvicorn --factory api.main:create_app``);
* ``routes/<resource>.py``: one APIRouter each (health, kols, scores, trending, predict,
  search, stats, alerts); ``deps.py``: their ``Annotated`` dependencies; ``schemas/``: every
  request and response model;
* ``queries.py``: all SQL sent to Trino (Gold); ``gold.py``: running it, with ``cache.py`` (the
  Redis cache of Gold answers); ``live.py``: the hot path's Redis keys; ``scoring.py``: a
  creator's scores from wherever they exist; ``models.py``: the MLflow champions;
* ``keys.py`` and ``ratelimit.py``: API keys (hashed in PostgreSQL) and per-key limits;
  ``observability.py``: Prometheus metrics and JSON access logs; ``errors.py``: error answers;
* ``settings.py``: ``KOL_API_*``; ``cli.py``: ``kol api``. The local stack runs the API as its
  ``api`` service (:mod:`shell.stack.services.api`).
"""

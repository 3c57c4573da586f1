"""The dashboard for marketers: a Streamlit app reading the platform through its REST API only.

``streamlit run dashboard/app.py`` (or ``kol stack up``, which runs it as the ``dashboard``
service). Layout: ``app.py`` (entry and navigation), ``views/`` (one module per page, its logic
in plain functions taking the client; the Creators page's finder and report in modules of their
own), ``client.py`` (typed clients of the KOL API and Airflow), ``charts.py`` (Plotly figures),
``ui.py`` (session clients, error display, formatting), ``settings.py`` (``KOL_DASHBOARD_*``).
The stack service is :mod:`shell.stack.services.dashboard`.
"""

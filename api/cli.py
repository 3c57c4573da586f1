"""`kol api`: serve the REST API; `kol api keys create|revoke|list`; `kol api cache clear`."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import typer

from api.server import APP, uvicorn_options
from kol.settings import get_api_settings

app = typer.Typer(
    help="The REST API: serve it (no subcommand), manage its keys and cache.",
    invoke_without_command=True,
)
keys_app = typer.Typer(help="API keys: shown once at creation, stored hashed.")
cache_app = typer.Typer(help="The Redis cache of Gold answers.")
app.add_typer(keys_app, name="keys")
app.add_typer(cache_app, name="cache")


@app.callback()
def main(
    ctx: typer.Context,
    host: str = typer.Option(None, help="Bind address (default KOL_API_HOST or bind_host)."),
    port: int = typer.Option(None, help="Port (default KOL_API_PORT, 8000)."),
    workers: int = typer.Option(None, help="Worker processes (default KOL_API_WORKERS)."),
) -> None:
    """Serve the API with uvicorn until interrupted (docs at /docs)."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    # Workers are separate processes that build their settings from the environment.
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            os.environ[f"KOL_API_{name}"] = str(value)
    get_api_settings.cache_clear()
    s = get_api_settings()
    typer.echo(f"KOL API on {s.base_url} (docs {s.base_url}/docs), {s.workers} worker(s)")
    uvicorn.run(APP, **uvicorn_options(s))  # type: ignore[arg-type]


@keys_app.command("create")
def keys_create(
    name: str = typer.Argument(..., help="Who or what the key is for."),
    rate_limit: int = typer.Option(
        None, min=1, help="Requests per window for this key (default KOL_API_RATE_LIMIT_REQUESTS)."
    ),
) -> None:
    """Create a key and print it (the only time it is shown)."""
    from api.keys import KeyStore

    record, key = KeyStore(get_api_settings()).create(name, rate_limit)
    typer.echo(f"key id: {record.key_id}")
    typer.echo(f"key:    {key}")
    typer.echo("Store it now (only its hash is kept); send it as the X-API-Key header.", err=True)


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key id shown at creation.")) -> None:
    """Revoke a key (the API refuses it within KOL_API_KEYS_REFRESH_S seconds)."""
    from api.keys import KeyStore

    if not KeyStore(get_api_settings()).revoke(key_id):
        typer.echo(f"no active key with id {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@keys_app.command("list")
def keys_list(as_json: bool = typer.Option(False, "--json", help="JSON lines.")) -> None:
    """Keys with their state (never the keys themselves)."""
    from api.keys import KeyStore

    for r in KeyStore(get_api_settings()).list():
        row = {
            "key_id": r.key_id,
            "name": r.name,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            "rate_limit": r.rate_limit,
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            state = f"revoked {row['revoked_at']}" if r.revoked_at else "active"
            limit = f", {r.rate_limit}/window" if r.rate_limit else ""
            typer.echo(f"{r.key_id}  {r.name}  created {row['created_at']}  {state}{limit}")


@cache_app.command("clear")
def cache_clear() -> None:
    """Drop every cached Gold answer (e.g. after a Gold rebuild, instead of waiting the TTL)."""
    from api.live import LiveStore

    async def run() -> int:
        live = LiveStore(get_api_settings())
        try:
            return await live.cache_clear()
        finally:
            await live.close()

    typer.echo(f"deleted {asyncio.run(run())} cached answer(s)")


@app.command("openapi")
def openapi() -> None:
    """Print the OpenAPI schema (JSON)."""
    from api.main import create_app

    json.dump(create_app(connect=False).openapi(), sys.stdout, indent=2)
    sys.stdout.write("\n")

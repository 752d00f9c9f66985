"""``wangge keys …``: API keys for other systems and people (create, list, revoke)."""

from __future__ import annotations

from typing import Annotated

import typer

from gis.cli.common import connection, print_json, say, transaction

keys = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)


@keys.command()
def create(
    role: Annotated[
        str, typer.Option(help="official, field_worker, integration or admin.", show_default=False)
    ],
    scope: Annotated[
        str | None,
        typer.Option(help="Area code: the key sees that area and its descendants only."),
    ] = None,
    name: Annotated[str, typer.Option(help="Who or what the key is for.")] = "",
    acts_for_others: Annotated[
        bool,
        typer.Option(
            help="The key may name another person as the actor of a step (a hotline desk); "
            "other keys act as their holder (the key's name)."
        ),
    ] = False,
) -> None:
    """Create a key. The key is printed once, on the last line: store it now.

    \b
    wangge keys create --role integration --name "12345 hotline"
    wangge keys create --role field_worker --scope 310107016007-G02 --name "王芳"
    """
    from gis.security.keys import create_key

    with transaction(audit="keys.create", target=name, role=role, scope=scope) as conn:
        made = create_key(conn, role=role, scope=scope, name=name)
        if acts_for_others:
            from gis.field.actions import allow_acting_for_others

            allow_acting_for_others(conn, made.key_id)
    say(
        f"created key {made.key_id} ({made.role}, scope {made.scope or 'everything'}"
        f"{', ' + made.name if made.name else ''}); it is shown only now:"
    )
    typer.echo(made.key)


@keys.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")] = False,
) -> None:
    """List keys (never their secrets): id, role, scope, name, created, last used, revoked."""
    from gis.security.keys import list_keys

    with connection() as conn:
        rows = list_keys(conn)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = f"revoked {r['revoked_at']:%Y-%m-%d %H:%M}" if r["revoked_at"] else "active"
        used = f"{r['last_used_at']:%Y-%m-%d %H:%M}" if r["last_used_at"] else "never"
        typer.echo(
            f"{r['key_id']}  {r['role']:<12} {r['scope'] or '*':<22} {state:<24} "
            f"last used {used}  {r['name']}"
        )
    if not rows:
        say("no keys yet; create one with `wangge keys create --role admin`")


@keys.command()
def revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by `keys list`.")]) -> None:
    """Revoke a key: every API worker refuses it within a few seconds."""
    from gis.security.keys import revoke_key

    with transaction(audit="keys.revoke", target=key_id) as conn:
        revoke_key(conn, key_id)
    say(f"revoked {key_id}")

"""`settings show | set KEY=VALUE …`: read and change the settings Admin → Settings edits.

Validation is the library's (aims_metrics.store.settings): a bad value or an unknown key is a
usage error naming the key, and nothing is written. Every change is audit-logged.
"""

from __future__ import annotations

import argparse
import json

from aims_metrics.cli.common import EXIT_OK, UsageError, cli_user, text_table


def register(subparsers: argparse._SubParsersAction) -> None:
    settings = subparsers.add_parser("settings", help="show or change the settings")
    sub = settings.add_subparsers(
        dest="settings_command", required=True, metavar="SETTINGS_COMMAND"
    )

    show = sub.add_parser("show", help="every setting with its value")
    show.add_argument("--format", choices=("table", "json"), default="table")
    show.set_defaults(handler=show_command)

    change = sub.add_parser("set", help="change settings: KEY=VALUE …, all or nothing")
    change.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    change.set_defaults(handler=set_command)


def show_command(args: argparse.Namespace) -> int:
    from aims_metrics import store

    with store.open_db(args.db) as con:
        values = store.all_settings(con)
    if args.format == "json":
        print(json.dumps(values, indent=2, ensure_ascii=False))
        return EXIT_OK
    rows = [
        [key, value.replace("\n", " "), store.SETTINGS[key].description]
        for key, value in values.items()
    ]
    print(text_table(["setting", "value", "meaning"], rows))
    return EXIT_OK


def _assignments(words: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for word in words:
        key, equals, value = word.partition("=")
        if not equals or not key:
            raise UsageError(f"settings set: expected KEY=VALUE, got {word!r}")
        if key in values:
            raise UsageError(f"settings set: {key} is given twice")
        values[key] = value
    return values


def set_command(args: argparse.Namespace) -> int:
    from aims_metrics import store

    try:
        values = store.parse_settings(_assignments(args.assignments))
    except store.SettingError as error:
        raise UsageError(f"settings set: {error}") from None
    with store.open_db(args.db) as con:
        current = store.all_settings(con)
        changed = {key: value for key, value in values.items() if current[key] != value}
        for key, value in changed.items():
            store.set_setting(con, key, value, cli_user())
    for key, value in changed.items():
        print(f"{key} = {value}")
    if not changed:
        print("nothing changed")
    return EXIT_OK

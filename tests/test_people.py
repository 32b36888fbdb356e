"""The people directory (issue 23): a registry table like the others (import, template, export,
validation), owner names matched case- and whitespace-insensitively, unmatched owners listed."""

from __future__ import annotations

from pathlib import Path

import pytest
from import_helpers import dump_db, new_db, run_main, write

from aims_metrics.notify import people
from aims_metrics.notify.schema import NOTIFY_TABLES_SQL
from aims_metrics.store import open_db
from aims_metrics.tables.registry import PEOPLE, TABLES

PEOPLE_CSV = (
    "person,email,unit,manager\n"
    "Dana Ruiz,dana@example.org,Risk,\n"
    "Lee Chen,lee@example.org,Risk,Dana Ruiz\n"
)


def test_the_people_spec_matches_the_migrated_table(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    with open_db(db) as con:
        described = con.execute("DESCRIBE people").fetchall()
    assert [(name, kind, null) for name, kind, null, *_ in described] == [
        (c.name, c.sql_type, "NO" if c.required else "YES") for c in PEOPLE.columns
    ]
    # migration 7's literal DDL creates the same table the registry would
    assert NOTIFY_TABLES_SQL[0] == PEOPLE.create_table_sql()
    assert TABLES["people"] is PEOPLE


def test_import_template_and_export_round_trip(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    code, out, err = run_main(db, "import", "people", str(write(tmp_path / "p.csv", PEOPLE_CSV)))
    assert (code, out.strip()) == (0, "2 inserted, 0 updated, 0 unchanged"), err
    code, out, _ = run_main(db, "template", "people")
    assert out.strip() == "person,email,unit,manager"
    code, _, err = run_main(db, "export", "people", "--out", str(tmp_path / "out.csv"))
    assert code == 0, err
    assert (tmp_path / "out.csv").read_text() == PEOPLE_CSV


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "Ann,not-an-email,,",
            "p.csv:2: email: 'not-an-email' is not an e-mail address: An email address must have an @-sign.",
        ),
        (
            "Ann,ann @example.org,,",
            "p.csv:2: email: 'ann @example.org' is not an e-mail address: The email address contains invalid characters before the @-sign: SPACE.",
        ),
        ("Ann,,,", "p.csv:2: email: required value is missing"),
        (
            "Ann,ann@example.org,,Nobody",
            "p.csv:2: manager: unknown manager 'Nobody': import people first",
        ),
        (",ann@example.org,,", "p.csv:2: person: required value is missing"),
    ],
)
def test_invalid_people_are_refused_with_their_location(
    tmp_path: Path, row: str, expected: str
) -> None:
    db = new_db(tmp_path)
    before = dump_db(db)
    code, _out, err = run_main(
        db,
        "import",
        "people",
        str(write(tmp_path / "p.csv", f"person,email,unit,manager\n{row}\n")),
    )
    assert code == 1
    assert err.splitlines()[0].endswith(expected)
    assert dump_db(db) == before


def test_a_manager_may_be_in_the_same_file_or_already_imported(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    assert run_main(db, "import", "people", str(write(tmp_path / "a.csv", PEOPLE_CSV)))[0] == 0
    later = "person,email,unit,manager\nKim Park,kim@example.org,Ops,Lee Chen\n"
    code, _, err = run_main(db, "import", "people", str(write(tmp_path / "b.csv", later)))
    assert code == 0, err


@pytest.mark.parametrize(
    ("owner", "found"),
    [
        ("Dana Ruiz", "Dana Ruiz"),
        ("  dana ruiz\t", "Dana Ruiz"),
        ("DANA RUIZ\u00a0", "Dana Ruiz"),
        ("Dana  Ruiz", None),
        ("", None),
        (None, None),
        ("Lee", None),
    ],
)
def test_owner_fields_match_a_person_ignoring_case_and_surrounding_space(tmp_path, owner, found):
    db = new_db(tmp_path)
    run_main(db, "import", "people", str(write(tmp_path / "p.csv", PEOPLE_CSV)))
    with open_db(db) as con:
        directory = people.directory(con)
    person = people.find_person(directory, owner)
    assert (person.person if person else None) == found


def test_manager_of_follows_the_directory(tmp_path: Path) -> None:
    db = new_db(tmp_path)
    run_main(db, "import", "people", str(write(tmp_path / "p.csv", PEOPLE_CSV)))
    with open_db(db) as con:
        directory = people.directory(con)
    assert people.manager_of(directory, " lee chen").email == "dana@example.org"
    assert people.manager_of(directory, "Dana Ruiz") is None


def test_unmatched_owners_are_listed_once_each(tmp_path: Path) -> None:
    db = new_db(tmp_path)  # systems S1 owned by Ana, S2 by Ben
    run_main(
        db,
        "import",
        "people",
        str(write(tmp_path / "p.csv", PEOPLE_CSV + "Ana,ana@example.org,,\n")),
    )
    findings = (
        "finding_id,audit_id,clause_ref,finding_type,description,raised_on,owner\n"
        "F1,A1,9.2,minor_nc,x,2026-01-01, ben \n"
        "F2,A1,9.2,minor_nc,x,2026-01-01,Zoe\n"
        "F3,A1,9.2,minor_nc,x,2026-01-01,dana ruiz\n"
    )
    assert run_main(db, "import", "findings", str(write(tmp_path / "f.csv", findings)))[0] == 0
    with open_db(db) as con:
        unmatched = [
            o
            for o in people.unmatched_owners(con)
            if o in ("Ben", "ben", "Zoe", "Dana Ruiz", "Ana")
        ]
    assert unmatched == ["Ben", "Zoe"]
    assert people.describe_unmatched(["Ben", "Zoe"]) == "2 owners have no e-mail: Ben, Zoe"
    assert people.describe_unmatched([]) == "every owner has an e-mail address"


def test_names_differing_only_in_case_are_one_person(tmp_path: Path) -> None:
    """Owner fields match a person ignoring case, so 'dana ruiz' beside 'Dana Ruiz' is ambiguous."""
    db = new_db(tmp_path)
    before = dump_db(db)
    twice = PEOPLE_CSV + "dana ruiz,other@example.org,Ops,\n"
    code, _out, err = run_main(db, "import", "people", str(write(tmp_path / "p.csv", twice)))
    assert code == 1
    assert err.splitlines()[0].endswith(
        "p.csv:4: person: duplicate person 'dana ruiz' (first on row 2)"
    )
    assert dump_db(db) == before
    assert run_main(db, "import", "people", str(write(tmp_path / "p.csv", PEOPLE_CSV)))[0] == 0
    stored = dump_db(db)
    later = "person,email,unit,manager\nLEE CHEN,lee2@example.org,Risk,\n"
    code, _out, err = run_main(db, "import", "people", str(write(tmp_path / "q.csv", later)))
    assert code == 1
    assert err.splitlines()[0].endswith(
        "q.csv:2: person: 'LEE CHEN' is already stored as 'Lee Chen' (person names are matched "
        "ignoring case)"
    )
    assert dump_db(db) == stored

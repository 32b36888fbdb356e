"""The seeded demo and enterprise data sets: deterministic, valid by design §2, with the patterns a
management review should see, and loadable in one transaction."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from aims_metrics import demo, store
from aims_metrics.demo.people import demo_people
from aims_metrics.demo.vocabulary import FINDING_CLAUSES
from aims_metrics.metrics import evaluate
from aims_metrics.metrics.periods import Quarter, last_completed_quarter
from aims_metrics.performance import objectives
from aims_metrics.tables import ingest
from aims_metrics.tables.registry import TABLES, ColumnKind, clause_refs

# The tables the generators make; the audit programme tables come from aims_metrics.demo.audits.
GENERATED = {
    name: TABLES[name] for name in ("systems", "incidents", "assessments", "bias_tests", "findings")
}
PROGRAMME = ("audits", "soa", "attestations")

END = Quarter(2025, 3)
FIRST = END.shift(-7)
HIGH = ("high", "critical")
NC = ("major_nc", "minor_nc")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return demo.generate_demo(END)


@pytest.fixture(scope="module")
def small_enterprise() -> dict[str, pd.DataFrame]:
    return demo.generate_enterprise(END, scale_factor=0.01)


def ts(day: date) -> pd.Timestamp:
    return pd.Timestamp(day)


# --- the rules of design §2, as vectorised checks ------------------------------------------------


def rule_violations(frames: dict[str, pd.DataFrame], end: date) -> list[str]:
    """Every broken design §2 rule (plus: no date after `end`), as readable strings."""
    problems: list[str] = []
    system_ids = set(frames["systems"]["system_id"])
    refs = set(clause_refs())
    for name, spec in GENERATED.items():
        df = frames[name]
        if list(df.columns) != spec.column_names:
            problems.append(f"{name}: columns {list(df.columns)}")
            continue
        if df[spec.primary_key].duplicated().any():
            problems.append(f"{name}: duplicate {spec.primary_key}")
        for col in spec.columns:
            values = df[col.name]
            if col.required and values.isna().any():
                problems.append(f"{name}.{col.name}: missing required value")
            if col.enum and not values.dropna().isin(col.enum).all():
                problems.append(f"{name}.{col.name}: value outside {col.enum}")
            if col.kind is ColumnKind.CLAUSE and not values.isin(refs).all():
                problems.append(f"{name}.{col.name}: unknown clause_ref")
            if col.kind is ColumnKind.DATE and (values > ts(end)).any():
                problems.append(f"{name}.{col.name}: date after {end}")
            if col.references and not values.dropna().isin(system_ids).all():
                problems.append(f"{name}.{col.name}: unknown system_id")
        for rule in spec.date_orders:
            if (df[rule.later] < df[rule.earlier]).any():
                problems.append(f"{name}: {rule.describe()} broken")
        for rule in spec.required_when:
            is_when = df[rule.when_column] == rule.when_value
            if (is_when != df[rule.column].notna()).any():
                problems.append(f"{name}: {rule.describe()} broken")
    bias = frames["bias_tests"]
    is_ratio = bias["metric"].str.endswith("_ratio")
    expected = np.where(
        is_ratio, bias["value"] >= bias["threshold"], bias["value"].abs() <= bias["threshold"]
    )
    if (bias["passed"].to_numpy() != expected).any():
        problems.append("bias_tests: passed contradicts the value/threshold rule")
    systems = frames["systems"]
    if (systems["retired_on"] < systems["deployed_on"]).any():
        problems.append("systems: retired before deployed")
    incidents = frames["incidents"]
    finished = incidents["status"].isin(("resolved", "closed"))
    if (finished != incidents["resolved_on"].notna()).any():
        problems.append("incidents: status disagrees with resolved_on")
    findings = frames["findings"]
    closed = findings["status"].isin(("closed", "verified"))
    if (closed != findings["closed_on"].notna()).any():
        problems.append("findings: status disagrees with closed_on")
    return problems


FISCAL_END = Quarter(2026, 1, start_month=4)
DATASETS = {
    "demo seed 42": (lambda: demo.generate_demo(END), END),
    "demo seed 1": (lambda: demo.generate_demo(END, seed=1), END),
    "demo, fiscal year from April": (lambda: demo.generate_demo(FISCAL_END, 2024), FISCAL_END),
    "enterprise at 1%": (lambda: demo.generate_enterprise(END, scale_factor=0.01), END),
}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_every_row_satisfies_the_design_rules(dataset):
    make, end_quarter = DATASETS[dataset]
    assert rule_violations(make(), end_quarter.end) == []


def corrupt(frames: dict[str, pd.DataFrame], table: str, change) -> dict[str, pd.DataFrame]:
    copy = {name: df.copy() for name, df in frames.items()}
    change(copy[table])
    return copy


def _set(column, value, row=0):
    def change(df):
        df.loc[row, column] = value

    return change


PLANTED = [
    ("systems", _set("system_id", "AIS-002"), "duplicate system_id"),
    ("incidents", _set("system_id", "AIS-999"), "unknown system_id"),
    ("incidents", _set("severity", "HIGH"), "incidents.severity: value outside"),
    ("incidents", _set("resolved_on", pd.Timestamp("2000-01-01")), "resolved_on ≥ detected_on"),
    ("assessments", _set("status", "completed"), "completed_on set exactly when"),
    ("bias_tests", _set("passed", False), "passed contradicts"),
    ("findings", _set("clause_ref", "11.1"), "unknown clause_ref"),
    ("findings", _set("due_on", pd.Timestamp("2000-01-01")), "due_on ≥ raised_on"),
    ("findings", _set("verified_on", pd.Timestamp("2030-01-01")), "date after"),
]


@pytest.mark.parametrize(("table", "change", "message"), PLANTED)
def test_the_rule_checks_catch_a_planted_violation(frames, table, change, message):
    if table == "assessments":  # make row 0 a non-completed one first
        row = frames["assessments"].index[frames["assessments"]["status"] != "completed"][0]
        change = _set("status", "completed", row)
    if table == "bias_tests":
        change = _set("passed", not bool(frames["bias_tests"].loc[0, "passed"]))
    problems = rule_violations(corrupt(frames, table, change), END.end)
    assert any(message in p for p in problems), problems


# --- shape and determinism -----------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["demo", "enterprise"])
def test_frames_have_exactly_the_registry_columns_and_kinds(frames, small_enterprise, dataset):
    data = frames if dataset == "demo" else small_enterprise
    assert list(data) == ["systems", "incidents", "assessments", "bias_tests", "findings"]
    for name, spec in GENERATED.items():
        df = data[name]
        assert list(df.columns) == spec.column_names
        for col in spec.columns:
            dtype = df[col.name].dtype
            if col.kind is ColumnKind.DATE:
                assert pd.api.types.is_datetime64_dtype(dtype), (name, col.name, dtype)
            elif col.kind is ColumnKind.BOOL:
                assert pd.api.types.is_bool_dtype(dtype), (name, col.name, dtype)
            elif col.kind is ColumnKind.NUMBER:
                assert pd.api.types.is_float_dtype(dtype), (name, col.name, dtype)
            else:
                assert pd.api.types.is_string_dtype(dtype), (name, col.name, dtype)


def test_same_seed_and_quarter_give_identical_frames(frames):
    again = demo.generate_demo(END, seed=42)
    for name in GENERATED:
        pd.testing.assert_frame_equal(frames[name], again[name])


def test_a_different_seed_gives_different_data(frames):
    other = demo.generate_demo(END, seed=43)
    assert not frames["incidents"].equals(other["incidents"])
    assert not frames["bias_tests"].equals(other["bias_tests"])


def test_a_later_end_quarter_moves_the_window(frames):
    later = demo.generate_demo(END.next())
    assert later["incidents"]["detected_on"].max() > ts(END.end)
    assert later["incidents"]["detected_on"].min() >= ts(FIRST.next().start)


def test_the_enterprise_generator_is_deterministic_and_seeded():
    a = demo.generate_enterprise(END, scale_factor=0.002)
    b = demo.generate_enterprise(END, scale_factor=0.002)
    c = demo.generate_enterprise(END, seed=8, scale_factor=0.002)
    pd.testing.assert_frame_equal(a["bias_tests"], b["bias_tests"])
    assert not a["bias_tests"].equals(c["bias_tests"])


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (
            0.01,
            {
                "systems": 41,
                "incidents": 2_000,
                "bias_tests": 10_000,
                "assessments": 500,
                "findings": 1_000,
            },
        ),
        (
            0.05,
            {
                "systems": 100,
                "incidents": 10_000,
                "bias_tests": 50_000,
                "assessments": 2_500,
                "findings": 5_000,
            },
        ),
    ],
)
def test_enterprise_row_counts_are_exact(scale, expected):
    data = demo.generate_enterprise(END, scale_factor=scale)
    assert {name: len(df) for name, df in data.items()} == expected


def test_enterprise_full_size_is_declared_as_design_section_9():
    assert demo.ENTERPRISE_SIZE == {
        "systems": 2_000,
        "incidents": 200_000,
        "bias_tests": 1_000_000,
        "assessments": 50_000,
        "findings": 100_000,
    }


def test_enterprise_scale_factor_must_be_positive():
    with pytest.raises(ValueError, match="scale_factor"):
        demo.generate_enterprise(END, scale_factor=0)


# --- the patterns of a believable organisation ---------------------------------------------------


def per_quarter(series: pd.Series) -> pd.Series:
    """Counts per quarter label of a date series, for the 8 demo quarters."""
    labels = series.dt.year.astype(str) + "Q" + series.dt.quarter.astype(str)
    return labels.value_counts().reindex([END.shift(k).label for k in range(-7, 1)], fill_value=0)


def test_inventory_is_about_forty_systems_a_third_high_risk(frames):
    systems = frames["systems"]
    assert len(systems) == 40
    assert 12 <= (systems["risk_level"] == "high").sum() <= 15
    assert systems["third_party"].sum() >= 5
    assert (systems["lifecycle_stage"] == "retired").sum() >= 2
    assert systems["lifecycle_stage"].isin(("design", "development", "validation")).sum() >= 3
    assert "Credit scoring model" in set(systems["name"])
    deployed = systems["lifecycle_stage"].isin(("deployed", "retired"))
    assert (deployed == systems["deployed_on"].notna()).all()
    assert ((systems["lifecycle_stage"] == "retired") == systems["retired_on"].notna()).all()


def test_incidents_cover_eight_quarters_with_one_high_severity_cluster(frames):
    incidents = frames["incidents"]
    counts = per_quarter(incidents["detected_on"])
    assert counts.between(10, 30).all(), counts
    assert incidents["detected_on"].min() >= ts(FIRST.start)
    high = per_quarter(incidents.loc[incidents["severity"].isin(HIGH), "detected_on"])
    cluster_quarters = high[high >= 4]
    assert len(cluster_quarters) == 1, high
    in_cluster = (
        incidents["detected_on"].dt.year.astype(str)
        + "Q"
        + incidents["detected_on"].dt.quarter.astype(str)
        == cluster_quarters.index[0]
    )
    assert (incidents.loc[in_cluster, "severity"] == "critical").any()
    assert incidents["severity"].isin(("low", "medium")).mean() >= 0.75
    assert incidents["category"].nunique() >= 6


def test_most_incidents_are_resolved_with_a_lag_and_a_few_stay_open(frames):
    incidents = frames["incidents"]
    open_ = incidents["resolved_on"].isna()
    assert 0 < open_.sum() <= 0.1 * len(incidents)
    lag = (incidents["resolved_on"] - incidents["detected_on"]).dt.days
    assert 3 <= lag.mean() <= 30


def test_bias_tests_use_the_standard_metrics_and_thresholds(frames):
    bias = frames["bias_tests"]
    thresholds = bias.groupby("metric")["threshold"].unique().map(list).to_dict()
    assert thresholds == {
        "demographic_parity_difference": [0.1],
        "disparate_impact_ratio": [0.8],
        "equalized_odds_difference": [0.1],
    }
    assert set(bias["stage"]) == {"pre_deployment", "production"}


def test_bias_pass_rate_improves_from_about_80_to_about_95_percent(frames):
    bias = frames["bias_tests"]
    first = bias[bias["executed_on"].between(ts(FIRST.start), ts(FIRST.end))]["passed"].mean()
    last = bias[bias["executed_on"].between(ts(END.start), ts(END.end))]["passed"].mean()
    assert 0.7 <= first <= 0.88
    assert 0.9 <= last <= 1.0
    assert last > first


def bias_tested_before_deployment(frames, quarter: Quarter) -> pd.Series:
    """For high-risk systems in service at the quarter end: has a passed pre-deployment test."""
    systems, bias = frames["systems"], frames["bias_tests"]
    end = ts(quarter.end)
    live = systems[
        (systems["risk_level"] == "high")
        & (systems["deployed_on"] <= end)
        & ~(systems["retired_on"] <= end)
    ]
    passed = bias[(bias["stage"] == "pre_deployment") & bias["passed"]].merge(
        systems[["system_id", "deployed_on"]], on="system_id"
    )
    ok = set(passed.loc[passed["executed_on"] <= passed["deployed_on"], "system_id"])
    return live["system_id"].isin(ok)


@pytest.mark.parametrize("seed", [42, 1, 7])
def test_a_couple_of_high_risk_systems_run_without_a_passed_pre_deployment_test(seed):
    data = demo.generate_demo(END, seed=seed)
    at_end = bias_tested_before_deployment(data, END)
    at_start = bias_tested_before_deployment(data, FIRST)
    assert (~at_end).sum() >= 2  # the objective is not met …
    assert 0.5 <= at_end.mean() < 1
    assert at_end.mean() > at_start.mean()  # … but it is improving


def test_most_high_risk_systems_are_assessed_some_overdue_some_cancelled(frames):
    systems, assessments = frames["systems"], frames["assessments"]
    end = ts(END.end)
    high = systems[(systems["risk_level"] == "high") & ~(systems["retired_on"] <= end)]
    impact_done = assessments[
        (assessments["assessment_type"] == "impact") & (assessments["status"] == "completed")
    ]
    assert 0.75 <= high["system_id"].isin(impact_done["system_id"]).mean() < 1
    overdue = (
        (assessments["due_on"] < end)
        & (assessments["status"] != "cancelled")
        & assessments["completed_on"].isna()
    )
    assert overdue.sum() >= 1
    assert (assessments["status"] == "cancelled").sum() >= 1
    assert set(assessments["assessment_type"]) == {"impact", "risk"}


def test_audits_every_quarter_and_an_external_audit_with_findings(frames):
    findings = frames["findings"]
    internal = findings[findings["audit_type"] == "internal"]
    assert (per_quarter(internal["raised_on"]) > 0).all()
    external = findings[findings["audit_type"].isin(("certification", "surveillance"))]
    assert external["audit_id"].nunique() >= 1
    assert (external["audit_type"] == "certification").any()
    assert external["finding_type"].isin(NC).any()
    for ref in ("6.1", "8.4", "A.6.2.4", "A.8.4"):
        assert ref in {c[0] for c in FINDING_CLAUSES}


def test_a_few_major_nonconformities_are_overdue_and_open_at_the_end(frames):
    findings = frames["findings"]
    end = ts(END.end)
    overdue_major = findings[
        (findings["finding_type"] == "major_nc")
        & findings["closed_on"].isna()
        & (findings["due_on"] < end)
    ]
    assert 2 <= len(overdue_major) <= 5
    closed = findings[findings["closed_on"].notna() & findings["due_on"].notna()]
    assert (closed["closed_on"] <= closed["due_on"]).mean() >= 0.6


def test_every_finding_clause_is_a_known_reference():
    assert {c[0] for c in FINDING_CLAUSES} <= set(clause_refs())


# --- loading -------------------------------------------------------------------------------------


def table_counts(con) -> dict[str, int]:
    return {
        name: con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in GENERATED
    }


def test_load_dataset_inserts_every_table_and_records_the_batches(con, frames):
    counts = demo.load_dataset(con, frames, username="alice")
    expected = {name: len(df) for name, df in frames.items()}
    assert counts == expected
    assert table_counts(con) == expected
    batches = con.execute(
        "SELECT table_name, file_name, sha256, row_count, inserted, updated, unchanged, username "
        "FROM import_batches ORDER BY batch_id"
    ).fetchall()
    assert [b[0] for b in batches] == list(GENERATED)
    for table, file_name, sha, rows, inserted, updated, unchanged, user in batches:
        assert file_name == f"demo:{table}"
        assert len(sha) == 64 and int(sha, 16) >= 0
        assert (rows, inserted, updated, unchanged, user) == (
            expected[table],
            expected[table],
            0,
            0,
            "alice",
        )
    actions = [e["action"] for e in store.audit_entries(con)]
    assert actions.count("data.load_dataset") == 1


def test_loaded_rows_round_trip_with_their_types(con, frames):
    demo.load_dataset(con, frames)
    loaded = con.execute("SELECT * FROM bias_tests ORDER BY test_id").df()
    original = frames["bias_tests"]
    assert loaded["test_id"].tolist() == original["test_id"].tolist()
    assert loaded["passed"].tolist() == original["passed"].tolist()
    assert loaded["value"].tolist() == original["value"].tolist()
    (kind,) = con.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?",
        ["bias_tests", "executed_on"],
    ).fetchall()[0]
    assert kind == "DATE"
    days = con.execute("SELECT min(executed_on), max(executed_on) FROM bias_tests").fetchall()[0]
    assert days == (original["executed_on"].min().date(), original["executed_on"].max().date())
    nulls = con.execute("SELECT count(*) FROM incidents WHERE resolved_on IS NULL").fetchall()[0][0]
    assert nulls == frames["incidents"]["resolved_on"].isna().sum()


def test_loading_again_replaces_rows_instead_of_adding(con, frames):
    demo.load_dataset(con, frames)
    smaller = demo.generate_demo(END, seed=5)
    demo.load_dataset(con, smaller)
    assert table_counts(con) == {name: len(df) for name, df in smaller.items()}
    shas = con.execute("SELECT table_name, sha256 FROM import_batches ORDER BY batch_id").fetchall()
    assert len(shas) == 10
    assert all(first[1] != second[1] for first, second in zip(shas[:5], shas[5:], strict=True))
    demo.load_dataset(con, smaller)  # the same data again: the same fingerprints
    again = con.execute("SELECT sha256 FROM import_batches ORDER BY batch_id").fetchall()[10:]
    assert [row[0] for row in again] == [row[1] for row in shas[5:]]


def test_a_bad_frame_leaves_the_database_exactly_as_it_was(con, frames):
    demo.load_dataset(con, frames)
    before = table_counts(con)
    other = demo.generate_demo(END, seed=9)
    broken = dict(other, findings=other["findings"].drop(columns=["owner"]))
    with pytest.raises(ValueError, match="findings: columns"):
        demo.load_dataset(con, broken)
    assert table_counts(con) == before
    ids = con.execute("SELECT system_id, name FROM systems ORDER BY system_id").fetchall()
    assert ids == list(frames["systems"][["system_id", "name"]].itertuples(index=False, name=None))
    assert con.execute("SELECT count(*) FROM import_batches").fetchall()[0][0] == 5


def test_unknown_tables_are_refused(con, frames):
    with pytest.raises(ValueError, match="unknown tables"):
        demo.load_dataset(con, {"users": frames["systems"]})


# --- objectives and the one-call loader ----------------------------------------------------------


def test_seed_objectives_derives_deadline_and_baselines_from_the_first_quarter(con, frames):
    demo.load_dataset(con, frames)
    demo.seed_objectives(con, END)
    demo.seed_objectives(con, END)  # an upsert: still two rows
    rows = con.execute(
        "SELECT objective_id, metric, target, deadline, baseline, baseline_on FROM objectives "
        "ORDER BY objective_id"
    ).fetchall()
    incidents = frames["incidents"]
    first_high = (
        incidents["detected_on"].between(ts(FIRST.start), ts(FIRST.end))
        & incidents["severity"].isin(HIGH)
    ).sum()
    assert rows[0] == (
        "OBJ-01",
        "high_severity_incidents",
        0.0,
        date(2026, 12, 31),
        float(first_high),
        FIRST.end,
    )
    assert rows[1][:4] == (
        "OBJ-02",
        "high_risk_bias_tested_before_deployment",
        1.0,
        date(2026, 12, 31),
    )
    assert rows[1][4] == pytest.approx(bias_tested_before_deployment(frames, FIRST).mean())
    assert rows[1][5] == FIRST.end
    assert [e["action"] for e in store.audit_entries(con)].count("objectives.seed") == 2


@pytest.fixture(scope="module")
def loaded_at_end(tmp_path_factory: pytest.TempPathFactory):
    """The demo loaded once for END in this module (load_demo's counts, the database path)."""
    path = tmp_path_factory.mktemp("demo_end") / "demo.duckdb"
    with store.open_db(path) as connection:
        counts = demo.load_demo(connection, END)
    return counts, path


@pytest.fixture
def loaded_con(loaded_at_end):
    with store.open_db(loaded_at_end[1]) as connection:
        yield connection


def test_load_demo_loads_everything_in_one_call(loaded_at_end, loaded_con, frames):
    counts, con = loaded_at_end[0], loaded_con
    loaded = {name: len(df) for name, df in frames.items()}
    # demo.fairness: 3 systems × 3 model versions × 3 attributes (gender, age band, both):
    # 5 computed bias tests each, and 3 + 3 + 9 groups per run
    loaded["bias_tests"] += 135
    programme = {name: counts[name] for name in PROGRAMME}  # demo.audits
    people = len(demo_people())  # demo.people: the directory for reminders
    assert counts == {
        **loaded,
        "bias_test_groups": 135,
        "objectives": 2,
        **programme,
        "people": people,
    }
    assert table_counts(con) == loaded
    assert con.execute("SELECT count(*) FROM bias_test_groups").fetchall() == [(135,)]
    for name in PROGRAMME:
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] == programme[name] > 0


def test_load_demo_defaults_to_the_last_completed_quarter(demo_db_template):
    # the shared demo database is load_demo(connection) with no end quarter
    with store.open_db(demo_db_template) as con:
        latest = con.execute("SELECT max(detected_on) FROM incidents").fetchall()[0][0]
    assert last_completed_quarter().start <= latest <= last_completed_quarter().end


def test_load_demo_refuses_an_unknown_scale(con):
    with pytest.raises(ValueError, match="unknown scale"):
        demo.load_demo(con, END, scale="huge")
    assert table_counts(con)["systems"] == 0


def test_demo_kpis_on_the_last_quarter_are_varied(loaded_con):
    con = loaded_con
    statuses = {r.name: r.status.value for r in evaluate.kpis_for_quarter(con, END)}
    assert {"green", "amber", "red"} <= set(statuses.values()), statuses
    assert statuses["high_severity_incidents"] != "green"
    assert statuses["high_risk_bias_tested_before_deployment"] == "red"
    progress = {p.objective.objective_id: p.status for p in objectives.objective_progress(con, END)}
    assert progress["OBJ-01"] != objectives.ObjectiveStatus.ACHIEVED
    assert progress["OBJ-02"] != objectives.ObjectiveStatus.ACHIEVED


@pytest.mark.parametrize("dataset", ["demo", "enterprise"])
def test_the_data_exported_as_csv_passes_the_real_importer(con, frames, small_enterprise, dataset):
    data = frames if dataset == "demo" else small_enterprise
    for name in GENERATED:  # systems first, so the foreign keys resolve
        csv = data[name].to_csv(index=False, date_format="%Y-%m-%d").encode()
        plan, result = ingest.import_file(con, name, csv, "tester", file_name=f"{name}.csv")
        assert plan.problems == []
        assert result.counts.inserted == len(data[name])

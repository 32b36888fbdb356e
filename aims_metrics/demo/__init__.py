"""Seeded demo and enterprise-scale data sets (issue 2 item 7, design §9).

One vectorised generator builds a believable organisation at any size: an AI system inventory and
eight quarters of incidents, impact and risk assessments, bias tests and audit findings, with the
patterns a management review should see — improvement over time, one quarter with a cluster of
high-severity incidents, overdue major nonconformities, an external audit with findings, and
high-risk systems deployed without a passed pre-deployment bias test. Same seed and end quarter →
identical frames. Every row satisfies the rules of design §2 and no date lies after the end quarter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from aims_metrics import store
from aims_metrics.metrics import engine
from aims_metrics.metrics.periods import Quarter, last_completed_quarter
from aims_metrics.performance.objectives import Objective
from aims_metrics.tables.registry import TABLES

QUARTERS = 8
SCALES = ("demo", "enterprise")
DEMO_SEED = 42
ENTERPRISE_SEED = 7
ENTERPRISE_SIZE = {
    "systems": 2_000,
    "incidents": 200_000,
    "bias_tests": 1_000_000,
    "assessments": 50_000,
    "findings": 100_000,
}

# --- vocabulary ---------------------------------------------------------------------------------

RISKS = ("high", "medium", "low")
# (name, business unit, risk level, bought from a vendor)
SYSTEM_TEMPLATES: tuple[tuple[str, str, str, bool], ...] = (
    ("Credit scoring model", "Retail Banking", "high", False),
    ("CV screening assistant", "Human Resources", "high", True),
    ("Mortgage affordability model", "Retail Banking", "high", False),
    ("Card fraud detection engine", "Payments", "high", False),
    ("Claims triage classifier", "Insurance", "high", False),
    ("Motor insurance pricing model", "Insurance", "high", False),
    ("Anti-money-laundering alert scorer", "Financial Crime", "high", True),
    ("Facial verification for onboarding", "Digital Channels", "high", True),
    ("Employee performance analytics", "Human Resources", "high", False),
    ("Collections prioritisation model", "Retail Banking", "high", False),
    ("Health claims fraud model", "Insurance", "high", False),
    ("Customer vulnerability detector", "Customer Service", "high", False),
    ("Video interview analysis", "Human Resources", "high", True),
    ("Customer service chatbot", "Customer Service", "medium", True),
    ("Churn prediction model", "Marketing", "medium", False),
    ("Next-best-offer recommender", "Marketing", "medium", False),
    ("Document OCR and classification", "Operations", "medium", True),
    ("Email triage assistant", "Customer Service", "medium", False),
    ("Transaction categorisation", "Payments", "medium", False),
    ("Sales forecasting model", "Finance", "medium", False),
    ("Code review assistant", "IT", "medium", True),
    ("Call summarisation (LLM)", "Customer Service", "medium", True),
    ("Complaint sentiment analyser", "Customer Service", "medium", False),
    ("Supplier risk scoring", "Procurement", "medium", False),
    ("KYC document checker", "Financial Crime", "medium", True),
    ("Marketing copy generator", "Marketing", "medium", True),
    ("Property valuation model", "Retail Banking", "medium", False),
    ("IT ticket routing", "IT", "low", False),
    ("Cash demand forecasting", "Operations", "low", False),
    ("Meeting transcription", "IT", "low", True),
    ("Internal knowledge search", "IT", "low", True),
    ("Spam and phishing filter", "IT", "low", True),
    ("Building energy optimiser", "Facilities", "low", False),
    ("Invoice matching", "Finance", "low", False),
    ("Document translation service", "Operations", "low", True),
    ("Data quality anomaly detector", "Data Office", "low", False),
    ("HR policy assistant", "Human Resources", "low", False),
    ("Branch footfall forecasting", "Retail Banking", "low", False),
    ("Expense receipt reader", "Finance", "low", True),
    ("Marketing image tagging", "Marketing", "low", False),
)
MARKETS = ("UK", "DE", "FR", "NL", "ES", "IT", "PL", "IE", "US", "SG")
OWNERS = (
    "Amira Haddad",
    "Ben Okafor",
    "Chloé Martin",
    "Daniel Kowalski",
    "Elena Rossi",
    "Farid Rahman",
    "Grace Liu",
    "Hannah Schmidt",
    "Ivan Petrov",
    "Julia Fernandes",
    "Kenji Sato",
    "Lena Johansson",
)
ASSESSORS = (
    "AI Risk Office",
    "Model Risk Management",
    "Data Protection Office",
    "Responsible AI Team",
    "External consultant",
)
# lifecycle stages in the order of STAGE_SHARES
STAGES = ("deployed", "retired", "design", "development", "validation")
STAGE_SHARES = (0.72, 0.08, 0.06, 0.06, 0.08)
DEPLOYED, RETIRED, DESIGN, DEVELOPMENT, VALIDATION = range(5)

PROTECTED_ATTRIBUTES = (
    "gender",
    "age_band",
    "ethnicity",
    "disability",
    "marital_status",
    "nationality",
)
BIAS_METRICS = (
    "demographic_parity_difference",
    "equalized_odds_difference",
    "disparate_impact_ratio",
)
BIAS_THRESHOLDS = (0.1, 0.1, 0.8)  # the four-fifths rule for the ratio
ATTRIBUTES_BY_RISK = (3, 2, 1)  # protected attributes tested per system, by risk level
# release candidates before go-live, then one minor release per quarter in production
RC_VERSIONS = ("1.0.0-rc1", "1.0.0-rc2", "1.0.0-rc3")
RELEASE_VERSIONS = tuple(f"{1 + m // 4}.{m % 4}.0" for m in range(40))
MODEL_VERSIONS = RC_VERSIONS + RELEASE_VERSIONS

SEVERITIES = ("critical", "high", "medium", "low")
CATEGORIES = ("fairness", "privacy", "safety", "security", "transparency", "reliability", "other")
CATEGORY_SHARES = (0.15, 0.14, 0.07, 0.14, 0.09, 0.34, 0.07)
INCIDENT_TITLES: dict[str, tuple[str, ...]] = {
    "fairness": (
        "Approval rates diverge for applicants over 60",
        "Gender skew in shortlisted candidates",
        "Higher false-positive rate for one postcode group",
        "Disparate outcomes reported by a customer advocacy group",
    ),
    "privacy": (
        "Personal data echoed in generated response",
        "Training extract retained beyond its retention period",
        "Customer details visible in model logs",
        "Re-identification risk found in shared feature set",
    ),
    "safety": (
        "Unsafe advice given to a vulnerable customer",
        "Automated decision bypassed human review",
        "Harmful content generated despite filters",
    ),
    "security": (
        "Prompt injection exposed system instructions",
        "Model API called without authentication",
        "Adversarial inputs evaded detection",
        "Third-party model endpoint misconfigured",
    ),
    "transparency": (
        "Customers not told a decision was automated",
        "Explanation missing from adverse-action notice",
        "Model card out of date after release",
    ),
    "reliability": (
        "Model accuracy dropped after upstream data change",
        "Scoring service timed out at month end",
        "Feature pipeline produced null values",
        "Data drift alert exceeded threshold",
        "Batch scoring job failed silently",
        "Vendor model update changed outputs",
    ),
    "other": (
        "Model used outside its documented intended use",
        "Shadow AI tool found in a business process",
        "Complaint about chatbot tone",
    ),
}
INCIDENT_ROOT_CAUSES = (
    "Training data not representative of the current population",
    "Upstream schema change not communicated",
    "Missing input validation",
    "Monitoring threshold set too loosely",
    "Vendor model update without change notice",
    "Human review step skipped under time pressure",
    "Access control misconfiguration",
    "Prompt template allowed instruction override",
    "Documentation not updated after release",
    "Concept drift after market change",
)

ASSESSMENT_TYPES = ("impact", "risk")
ASSESSMENT_NOTES = (
    "Pre-deployment impact assessment",  # 0
    "Catch-up impact assessment for a system deployed before the AIMS",  # 1
    "Periodic reassessment",  # 2
    "Reassessment after a material model change",  # 3
    "Cancelled: system retired",  # 4
    "Cancelled: superseded by a combined assessment",  # 5
    "Waiting for data protection input",  # 6
    "Impact assessment started at design",  # 7
)

AUDIT_TYPES = ("internal", "certification", "surveillance")
FINDING_TYPES = ("major_nc", "minor_nc", "observation", "ofi")
# (clause or Annex A control, weight, descriptions)
FINDING_CLAUSES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("4.3", 0.02, ("AIMS scope does not list AI systems provided by suppliers",)),
    ("5.2", 0.02, ("AI policy not communicated to the data science teams",)),
    (
        "6.1",
        0.07,
        (
            "AI risk criteria not defined for generative AI use cases",
            "Risk treatment options not recorded for identified AI risks",
        ),
    ),
    (
        "6.2",
        0.05,
        (
            "AI objectives lack measurable targets",
            "No plan recorded for achieving the bias-testing objective",
        ),
    ),
    (
        "7.2",
        0.05,
        (
            "Competence records missing for model validators",
            "No training evidence for staff approving automated decisions",
        ),
    ),
    (
        "7.5.3",
        0.05,
        ("Model documentation not under version control", "Superseded procedures still in use"),
    ),
    (
        "8.2",
        0.07,
        (
            "AI risk assessment not repeated after a significant change",
            "Risk assessment does not cover third-party models",
        ),
    ),
    ("8.3", 0.05, ("Risk treatment plan actions past due without escalation",)),
    (
        "8.4",
        0.08,
        (
            "AI system impact assessment not performed before deployment",
            "Impact assessment does not consider affected individuals",
        ),
    ),
    (
        "9.1",
        0.05,
        (
            "Monitoring results not analysed against thresholds",
            "KPI definitions changed without approval",
        ),
    ),
    ("9.2.2", 0.04, ("Audit programme does not cover all AI systems in scope",)),
    ("9.3.2", 0.03, ("Management review minutes omit audit results",)),
    (
        "10.2",
        0.06,
        (
            "Root cause not determined for a recurring incident",
            "Effectiveness of corrective actions not verified",
        ),
    ),
    ("A.3.3", 0.03, ("No channel for staff to report AI concerns",)),
    ("A.4.3", 0.03, ("Data resources not documented for a production model",)),
    ("A.5.2", 0.04, ("Impact assessment process not applied to a vendor system",)),
    ("A.5.4", 0.03, ("Impact on vulnerable customers not assessed",)),
    (
        "A.6.2.4",
        0.07,
        (
            "Bias testing not performed before release",
            "Validation evidence missing for model retraining",
        ),
    ),
    (
        "A.6.2.6",
        0.06,
        ("Production monitoring lacks fairness metrics", "Drift alerts not acted upon"),
    ),
    ("A.6.2.8", 0.03, ("Event logs not retained for the required period",)),
    ("A.7.4", 0.04, ("Data quality checks not defined for training data",)),
    (
        "A.8.4",
        0.04,
        (
            "AI incident not communicated to affected customers",
            "Incident communication plan not tested",
        ),
    ),
    (
        "A.10.3",
        0.04,
        ("Supplier AI obligations missing from contract", "No evidence of supplier model testing"),
    ),
)
FINDING_ROOT_CAUSES = (
    "Procedure not updated for AI-specific risks",
    "Responsibilities unclear between teams",
    "Insufficient resources in the AI risk function",
    "Control designed but not operated consistently",
    "Tooling does not capture the required evidence",
    "Supplier management process predates AI use",
)
CORRECTIVE_ACTIONS = (
    "Procedure revised and staff briefed",
    "Control added to the release checklist",
    "Owner assigned and evidence template introduced",
    "Automated check added to the model pipeline",
    "Contract addendum issued to the supplier",
    "Training delivered and attendance recorded",
)


@dataclass(frozen=True)
class DemoObjective:
    """A classic AI objective (6.2) seeded with the demo data; deadline and baseline are derived."""

    objective_id: str
    title: str
    metric: str
    target: float
    owner: str


DEMO_OBJECTIVES: tuple[DemoObjective, ...] = (
    DemoObjective(
        "OBJ-01",
        "Zero high-severity AI incidents",
        "high_severity_incidents",
        0.0,
        "Head of AI Risk",
    ),
    DemoObjective(
        "OBJ-02",
        "All high-risk AI systems bias-tested before deployment",
        "high_risk_bias_tested_before_deployment",
        1.0,
        "Chief Data Scientist",
    ),
)

# --- small vectorised helpers -------------------------------------------------------------------

DAY = np.timedelta64(1, "D")
NAT = np.datetime64("NaT", "D")


def _days(n: np.ndarray | int) -> np.ndarray:
    return np.asarray(n, dtype=np.int64).astype("timedelta64[D]")


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform random day in [lo, hi] for each pair (hi ≥ lo)."""
    lo = np.asarray(lo, dtype="datetime64[D]")
    span = (np.asarray(hi, dtype="datetime64[D]") - lo).astype(np.int64) + 1
    return lo + _days(np.floor(rng.random(len(lo)) * span))


def _uniform_int(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, n)


TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default `str` dtype


@dataclass(frozen=True)
class _Text:
    """A text column as codes into a vocabulary (-1 = missing): cheap to reorder, and turned into
    an Arrow-backed pandas column with one `take` instead of a million Python strings."""

    vocab: tuple[str, ...] | np.ndarray
    codes: np.ndarray

    def __getitem__(self, index: np.ndarray) -> _Text:
        return _Text(self.vocab, self.codes[index])

    def to_arrow(self) -> pa.Array:
        vocab = pa.array(np.asarray(self.vocab, dtype=object), type=pa.string())
        return vocab.take(pa.array(self.codes, mask=self.codes < 0))


def _lookup(values: tuple[str, ...] | np.ndarray, index: np.ndarray) -> _Text:
    return _Text(values, np.asarray(index, dtype=np.int64))


def _pick(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _exact_assign(rng: np.random.Generator, n: int, shares: tuple[float, ...]) -> np.ndarray:
    """Category codes in exactly the given proportions (largest remainder), shuffled."""
    raw = np.asarray(shares, dtype=float) * n / sum(shares)
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def _ids(prefix: str, n: int, width: int | None = None) -> pa.Array:
    """ASCII `prefix` + zero-padded 1..n, written straight into an Arrow string buffer."""
    width = width or max(3, len(str(n)))
    powers = 10 ** np.arange(width - 1, -1, -1)
    digits = (np.arange(1, n + 1)[:, None] // powers % 10 + ord("0")).astype(np.uint8)
    head = np.broadcast_to(np.frombuffer(prefix.encode("ascii"), np.uint8), (n, len(prefix)))
    data = np.ascontiguousarray(np.hstack([head, digits]))
    size = data.shape[1]
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _texts_by_group(rng: np.random.Generator, groups: np.ndarray, texts: list[tuple[str, ...]]):
    """For each row, a random text from the tuple of its group."""
    flat = tuple(t for group in texts for t in group)
    counts = np.asarray([len(group) for group in texts])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pick = np.floor(rng.random(len(groups)) * counts[groups]).astype(np.int64)
    return _lookup(flat, offsets[groups] + pick)


def _optional(mask: np.ndarray, values: _Text) -> _Text:
    """`values` where mask is true, missing elsewhere."""
    return _Text(values.vocab, np.where(mask, values.codes, -1))


def _column(values: _Text | pa.Array | np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    if isinstance(values, _Text):
        values = values.to_arrow()
    if isinstance(values, pa.Array):
        return pd.array(values, dtype=TEXT_DTYPE)
    if values.dtype.kind in "OU":
        return pd.array(pa.array(values.astype(object), type=pa.string()), dtype=TEXT_DTYPE)
    return values


def _frame(table: str, columns: dict[str, _Text | pa.Array | np.ndarray]) -> pd.DataFrame:
    names = TABLES[table].column_names
    if set(columns) != set(names):
        raise ValueError(f"{table}: generator columns differ from the registry")
    return pd.DataFrame({name: _column(columns[name]) for name in names})


@dataclass(frozen=True)
class _Window:
    """The eight quarters ending at the end quarter, as numpy dates."""

    quarters: list[Quarter]
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def ending(cls, end_quarter: Quarter) -> _Window:
        quarters = [end_quarter.shift(k) for k in range(-(QUARTERS - 1), 1)]
        return cls(
            quarters,
            np.array([q.start for q in quarters], dtype="datetime64[D]"),
            np.array([q.end for q in quarters], dtype="datetime64[D]"),
        )

    @property
    def first(self) -> np.datetime64:
        return self.starts[0]

    @property
    def end(self) -> np.datetime64:
        return self.ends[-1]

    def progress(self, days: np.ndarray) -> np.ndarray:
        """0 at the window's first day, 1 at its last (clipped): drives improvement over time."""
        span = (self.end - self.first).astype(np.int64)
        return np.clip((days - self.first).astype(np.int64) / span, 0.0, 1.0)


# bias-test plan of a system that has been deployed
TESTED, UNTESTED, LATE, FAILED = range(4)


@dataclass(frozen=True)
class _Inventory:
    """The systems frame plus the arrays the other generators need."""

    frame: pd.DataFrame
    ids: np.ndarray
    risk: np.ndarray  # index into RISKS
    stage: np.ndarray  # index into STAGES
    deployed: np.ndarray  # datetime64[D], NaT if never deployed
    retired: np.ndarray
    legacy: np.ndarray  # deployed before the window
    bias_plan: np.ndarray  # TESTED, UNTESTED, LATE, FAILED (deployed systems)
    assessment_gap: np.ndarray  # high-risk system whose impact assessment is stuck
    attributes: np.ndarray  # (n, 3) indices into PROTECTED_ATTRIBUTES
    service_lo: np.ndarray  # (n, quarters): first day in service within each quarter
    service_hi: np.ndarray

    @property
    def in_service(self) -> np.ndarray:
        return self.service_lo <= self.service_hi  # NaT compares false


# --- systems ------------------------------------------------------------------------------------


def _systems(rng: np.random.Generator, n: int, window: _Window) -> _Inventory:
    templates = len(SYSTEM_TEMPLATES)
    tpl = np.arange(n) if n <= templates else rng.integers(0, templates, n)
    names = np.asarray([t[0] for t in SYSTEM_TEMPLATES])[tpl]
    if n > templates:
        market = np.asarray(MARKETS)[rng.integers(0, len(MARKETS), n)]
        number = rng.integers(1, 100, n).astype("U2")
        names = np.strings.add(names, np.strings.add(" (", market))
        names = np.strings.add(np.strings.add(names, " "), np.strings.add(number, ")"))
    risk = np.asarray([RISKS.index(t[2]) for t in SYSTEM_TEMPLATES])[tpl]
    third_party = np.asarray([t[3] for t in SYSTEM_TEMPLATES])[tpl]
    if n > templates:
        third_party = third_party | (rng.random(n) < 0.08)

    stage = np.empty(n, dtype=np.int64)
    for level in range(len(RISKS)):  # each risk level gets every lifecycle stage in proportion
        members = np.flatnonzero(risk == level)
        stage[members] = _exact_assign(rng, len(members), STAGE_SHARES)

    end, first = window.end, window.first
    ever = np.isin(stage, (DEPLOYED, RETIRED))
    legacy = stage == RETIRED
    deployed_now = np.flatnonzero(stage == DEPLOYED)
    legacy[deployed_now] = _exact_assign(rng, len(deployed_now), (0.45, 0.55)) == 0
    deployed = np.full(n, NAT)
    deployed[ever & legacy] = first - _days(
        _uniform_int(rng, 1, 3 * 365, int((ever & legacy).sum()))
    )
    fresh = ever & ~legacy
    deployed[fresh] = _between(
        rng, np.full(fresh.sum(), first), np.full(fresh.sum(), end - 21 * DAY)
    )
    retired = np.full(n, NAT)
    gone = stage == RETIRED
    retired[gone] = _between(
        rng,
        np.maximum(first + 14 * DAY, deployed[gone] + 180 * DAY),
        np.full(gone.sum(), end - 7 * DAY),
    )

    # Which deployed systems lack a passed pre-deployment bias test: a couple of high-risk ones
    # still in service (preferably legacy systems that predate the policy), most retired high-risk
    # ones, and a few others.
    plan = np.full(n, TESTED)
    high_live = np.flatnonzero((risk == 0) & (stage == DEPLOYED))
    k = min(len(high_live), max(2, round(0.12 * len(high_live))))
    order = np.lexsort((rng.random(len(high_live)), ~legacy[high_live]))
    untested = np.zeros(n, dtype=bool)
    untested[high_live[order[:k]]] = True
    untested |= (risk == 0) & gone & (rng.random(n) < 0.7)
    untested |= (risk > 0) & ever & (rng.random(n) < np.where(legacy, 0.2, 0.05))
    variant = np.where(legacy, rng.choice((UNTESTED, LATE), n), rng.choice((FAILED, LATE), n))
    plan[untested] = variant[untested]

    # One high-risk system in service whose impact assessment is stuck in progress.
    gap = np.zeros(n, dtype=bool)
    k_gap = min(len(high_live), max(1, round(0.08 * len(high_live))))
    gap_order = np.lexsort((rng.random(len(high_live)), ~legacy[high_live]))
    gap[high_live[gap_order[-k_gap:]]] = True  # prefer systems deployed during the window

    attributes = np.argsort(rng.random((n, len(PROTECTED_ATTRIBUTES))), axis=1)[:, :3]
    service_end = np.where(np.isnat(retired), end, retired)
    service_lo = np.maximum(window.starts[None, :], deployed[:, None])
    service_hi = np.minimum(window.ends[None, :], service_end[:, None])

    ids = np.asarray(_ids("AIS-", n).to_pylist(), dtype=object)  # a vocabulary for system_id
    frame = _frame(
        "systems",
        {
            "system_id": _lookup(ids, np.arange(n)),
            "name": names,
            "owner": _lookup(OWNERS, rng.integers(0, len(OWNERS), n)),
            "business_unit": _lookup(tuple(t[1] for t in SYSTEM_TEMPLATES), tpl),
            "risk_level": _lookup(RISKS, risk),
            "lifecycle_stage": _lookup(STAGES, stage),
            "deployed_on": deployed,
            "retired_on": retired,
            "third_party": third_party.astype(bool),
        },
    )
    return _Inventory(
        frame,
        ids,
        risk,
        stage,
        deployed,
        retired,
        legacy,
        plan,
        gap,
        attributes,
        service_lo,
        service_hi,
    )


# --- incidents ----------------------------------------------------------------------------------


def _incidents(
    rng: np.random.Generator, window: _Window, inv: _Inventory, total: int | None
) -> pd.DataFrame:
    nq = len(window.quarters)
    q = np.arange(nq)
    trend = 16 + 0.5 * q  # better detection brings slightly more reports over time
    if total is None:
        counts = np.clip(np.rint(rng.normal(trend, 3)), 10, 30).astype(np.int64)
    else:
        counts = rng.multinomial(total, trend / trend.sum())
    share = 0.12 - 0.08 * q / max(nq - 1, 1)  # the high-severity share falls over time …
    high = np.minimum(counts, np.maximum(1, np.rint(share * counts))).astype(np.int64)
    spike = int(rng.integers(2, nq - 2))  # … except in one quarter with a cluster
    cluster = min(int(counts[spike]), max(4, round(0.25 * counts[spike])))
    high[spike] = min(high[spike], counts[spike] - cluster)

    n = int(counts.sum())
    row_q = np.repeat(q, counts)
    within = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
    in_cluster = (row_q == spike) & (within >= high[spike]) & (within < high[spike] + cluster)
    base_high = within < high[row_q]

    severity = np.where(rng.random(n) < 0.55, 3, 2)  # low, medium
    severity[base_high] = np.where(rng.random(int(base_high.sum())) < 0.15, 0, 1)
    cluster_rank = within - high[spike]
    severity[in_cluster] = np.where(cluster_rank[in_cluster] < -(-cluster // 3), 0, 1)
    category = _pick(rng, n, CATEGORY_SHARES)

    weights = np.asarray([2.0, 1.5, 1.0])[inv.risk]
    system = np.empty(n, dtype=np.int64)
    for qi in range(nq):  # one draw per quarter, not per row
        rows = np.flatnonzero((row_q == qi) & ~in_cluster)
        candidates = np.flatnonzero(inv.in_service[:, qi])
        w = weights[candidates]
        system[rows] = rng.choice(candidates, size=len(rows), p=w / w.sum())
    # The cluster: a few high-risk systems in service all quarter, within three weeks.
    s_start, s_end = window.starts[spike], window.ends[spike]
    steady = np.flatnonzero((inv.risk == 0) & (inv.deployed <= s_start) & ~(inv.retired <= s_end))
    if len(steady) == 0:
        steady = np.flatnonzero(inv.in_service[:, spike])
    members = rng.choice(steady, size=min(len(steady), max(2, len(steady) // 25)), replace=False)
    rows = np.flatnonzero(in_cluster)
    system[rows] = rng.choice(members, size=len(rows))
    detected = _between(rng, inv.service_lo[system, row_q], inv.service_hi[system, row_q])
    first_day = _between(rng, [s_start], [s_end - 20 * DAY])[0]
    detected[rows] = first_day + _days(_uniform_int(rng, 0, 20, len(rows)))
    category[rows] = CATEGORIES.index(rng.choice(("security", "fairness", "privacy")))

    occurred = np.maximum(detected - _days(rng.geometric(0.3, n) - 1), inv.deployed[system])
    occurred[rng.random(n) < 0.1] = NAT
    mean_lag = np.asarray([30.0, 20.0, 12.0, 6.0])[severity] * (
        1.3 - 0.6 * window.progress(detected)
    )
    resolved = detected + _days(np.ceil(rng.gamma(2.0, mean_lag / 2.0)))
    stuck = (detected >= window.starts[-2]) & (rng.random(n) < 0.04)
    resolved[(resolved > window.end) | stuck] = NAT
    done = ~np.isnat(resolved)
    status = _lookup(
        ("closed", "resolved", "investigating", "open"),
        np.where(done, np.where(rng.random(n) < 0.75, 0, 1), np.where(rng.random(n) < 0.6, 2, 3)),
    )
    root_cause = _optional(done, _lookup(INCIDENT_ROOT_CAUSES, rng.integers(0, 10, n)))
    title = _texts_by_group(rng, category, [INCIDENT_TITLES[c] for c in CATEGORIES])

    order = np.argsort(detected, kind="stable")
    return _frame(
        "incidents",
        {
            "incident_id": _ids("INC-", n),
            "system_id": _lookup(inv.ids, system[order]),
            "title": title[order],
            "severity": _lookup(SEVERITIES, severity[order]),
            "category": _lookup(CATEGORIES, category[order]),
            "occurred_on": occurred[order],
            "detected_on": detected[order],
            "resolved_on": resolved[order],
            "status": status[order],
            "root_cause": root_cause[order],
        },
    )


# --- bias tests ---------------------------------------------------------------------------------

PASS_RANDOM, PASS_FORCED, FAIL_FORCED = range(3)


def _pre_deployment_runs(rng: np.random.Generator, window: _Window, inv: _Inventory):
    """(system, executed_on, outcome, version) of each pre-deployment test run."""
    n = len(inv.ids)
    planned = ~np.isnat(inv.deployed) & np.isin(inv.bias_plan, (TESTED, FAILED))
    building = np.isin(inv.stage, (DEVELOPMENT, VALIDATION))
    runs = np.where(planned, 1 + (rng.random(n) < 0.5) + (rng.random(n) < 0.2), 0)
    runs = np.where(building, 1 + (rng.random(n) < 0.5), runs)
    late = ~np.isnat(inv.deployed) & (inv.bias_plan == LATE)
    runs[late] = 1
    system = np.repeat(np.arange(n), runs)
    j = np.arange(len(system)) - np.repeat(np.cumsum(runs) - runs, runs)
    back = runs[system] - 1 - j  # 0 for the run just before go-live
    m = len(system)
    gap = _days(back * _uniform_int(rng, 20, 40, m))
    anchor = np.where(
        building[system],
        window.end - _days(_uniform_int(rng, 0, 150, m)),
        inv.deployed[system] - _days(_uniform_int(rng, 1, 14, m)),
    )
    executed = anchor - gap
    is_late = late[system]
    executed[is_late] = np.minimum(
        inv.deployed[system][is_late] + _days(_uniform_int(rng, 10, 90, int(is_late.sum()))),
        window.end,
    )
    outcome = np.full(m, PASS_RANDOM)
    outcome[(inv.bias_plan[system] == TESTED) & planned[system] & (back == 0)] = PASS_FORCED
    outcome[(inv.bias_plan[system] == FAILED) & planned[system]] = FAIL_FORCED
    return system, executed, outcome, np.minimum(j, len(RC_VERSIONS) - 1)


def _production_runs(
    rng: np.random.Generator, window: _Window, inv: _Inventory, rows_needed: int | None
):
    """Production test runs inside each system's service period: one per quarter for the demo,
    Poisson-many to reach `rows_needed` rows at scale."""
    lo = np.maximum(inv.service_lo, (inv.deployed + DAY)[:, None])
    hi = inv.service_hi
    pair_sys, pair_q = np.nonzero(lo <= hi)
    rows_per_run = 3 * np.asarray(ATTRIBUTES_BY_RISK)[inv.risk[pair_sys]]
    if rows_needed is None:
        per_pair = np.ones(len(pair_sys), dtype=np.int64)
    else:
        per_pair = np.zeros(len(pair_sys), dtype=np.int64)
        while int((per_pair * rows_per_run).sum()) < rows_needed:  # rarely more than once
            missing = rows_needed - int((per_pair * rows_per_run).sum())
            lam = 1.1 * missing / (len(pair_sys) * rows_per_run.mean())
            per_pair += rng.poisson(lam, len(pair_sys))
    system = np.repeat(pair_sys, per_pair)
    quarter = np.repeat(pair_q, per_pair)
    executed = _between(rng, lo[system, quarter], hi[system, quarter])
    months = ((executed - inv.deployed[system]).astype(np.int64) // 91).clip(
        0, len(RELEASE_VERSIONS) - 1
    )
    return system, executed, len(RC_VERSIONS) + months


def _bias_tests(
    rng: np.random.Generator, window: _Window, inv: _Inventory, total: int | None
) -> pd.DataFrame:
    pre_sys, pre_date, pre_outcome, pre_version = _pre_deployment_runs(rng, window, inv)
    per_run = 3 * np.asarray(ATTRIBUTES_BY_RISK)[inv.risk]
    pre_rows = int(per_run[pre_sys].sum())
    if total is not None and total < pre_rows:
        raise ValueError(f"{total} bias tests cannot hold the {pre_rows} pre-deployment ones")
    prod_sys, prod_date, prod_version = _production_runs(
        rng, window, inv, None if total is None else total - pre_rows
    )
    run_sys = np.concatenate([pre_sys, prod_sys])
    run_date = np.concatenate([pre_date, prod_date])
    run_stage = np.repeat([0, 1], [len(pre_sys), len(prod_sys)])
    run_outcome = np.concatenate([pre_outcome, np.full(len(prod_sys), PASS_RANDOM)])
    run_version = np.concatenate([pre_version, prod_version])

    sizes = per_run[run_sys]
    run = np.repeat(np.arange(len(run_sys)), sizes)
    k = np.arange(len(run)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    if total is not None:  # trim production rows at random to the exact size
        prod_rows = np.flatnonzero(run_stage[run] == 1)
        keep = rng.choice(len(prod_rows), size=total - pre_rows, replace=False)
        chosen = np.sort(np.concatenate([np.flatnonzero(run_stage[run] == 0), prod_rows[keep]]))
        run, k = run[chosen], k[chosen]
    n = len(run)
    system = run_sys[run]
    executed = run_date[run]
    metric = k % 3
    attribute = inv.attributes[system, k // 3]

    chance = np.where(executed < window.first, 0.78, 0.80 + 0.15 * window.progress(executed))
    good = rng.random(n) < chance
    outcome = run_outcome[run]
    good[outcome == PASS_FORCED] = True
    good[outcome == FAIL_FORCED] = False
    # Values keep a clear margin from the threshold, so `passed` follows the rule exactly.
    sign = np.where(rng.random(n) < 0.8, 1.0, -1.0)
    difference = sign * np.where(good, rng.uniform(0.005, 0.095, n), rng.uniform(0.105, 0.28, n))
    ratio = np.where(good, rng.uniform(0.81, 1.05, n), rng.uniform(0.55, 0.79, n))
    is_ratio = metric == 2
    value = np.round(np.where(is_ratio, ratio, difference), 3)
    threshold = np.asarray(BIAS_THRESHOLDS)[metric]
    passed = np.where(is_ratio, value >= threshold, np.abs(value) <= threshold)

    order = np.argsort(executed, kind="stable")
    return _frame(
        "bias_tests",
        {
            "test_id": _ids("BT-", n),
            "system_id": _lookup(inv.ids, system[order]),
            "model_version": _lookup(MODEL_VERSIONS, run_version[run][order]),
            "executed_on": executed[order],
            "stage": _lookup(("pre_deployment", "production"), run_stage[run][order]),
            "protected_attribute": _lookup(PROTECTED_ATTRIBUTES, attribute[order]),
            "metric": _lookup(BIAS_METRICS, metric[order]),
            "value": value[order],
            "threshold": threshold[order],
            "passed": passed[order],
        },
    )


# --- assessments --------------------------------------------------------------------------------


def _assessments(
    rng: np.random.Generator, window: _Window, inv: _Inventory, total: int | None
) -> pd.DataFrame:
    n, end, first = len(inv.ids), window.end, window.first
    # 1. One initial impact assessment per system.
    ever = ~np.isnat(inv.deployed)
    due = np.full(n, NAT)
    lag = _uniform_int(rng, -20, 7, n)
    note = np.zeros(n, dtype=np.int64)
    catch_up = ever & inv.legacy  # the AIMS started after these went live
    due[catch_up] = first + _days(_uniform_int(rng, 30, 400, int(catch_up.sum())))
    lag[catch_up] = _uniform_int(rng, -15, 45, int(catch_up.sum()))
    note[catch_up] = 1
    pre = ever & ~inv.legacy
    due[pre] = inv.deployed[pre] - _days(_uniform_int(rng, 7, 30, int(pre.sum())))
    building = np.isin(inv.stage, (DEVELOPMENT, VALIDATION))
    due[building] = end - _days(_uniform_int(rng, 0, 200, int(building.sum())))
    note[building | (inv.stage == DESIGN)] = 7
    design = inv.stage == DESIGN
    due[design] = end  # due at the quarter end: started, not yet overdue
    completed = due + _days(lag)
    completed[(completed > end) | design] = NAT
    cancelled = ~np.isnat(inv.retired) & (due > inv.retired)
    stuck = inv.assessment_gap
    due[stuck] = first + _days(_uniform_int(rng, 90, 300, int(stuck.sum())))
    note[stuck] = 6
    completed[cancelled | stuck] = NAT
    note[cancelled] = 4
    status = np.where(~np.isnat(completed), 2, np.where(design & (rng.random(n) < 0.5), 0, 1))
    status[cancelled] = 3
    base = (np.arange(n), np.zeros(n, dtype=np.int64), status, due, completed, note)

    # 2. Periodic reassessments inside each system's service period (high risk most often).
    rate = np.asarray([0.5, 0.3, 0.15])[inv.risk]
    pair_sys, pair_q = np.nonzero(inv.in_service)
    if total is None:
        per_pair = (rng.random(len(pair_sys)) < rate[pair_sys]).astype(np.int64)
    else:
        w = rate[pair_sys]
        per_pair = rng.multinomial(max(total - n, 0), w / w.sum())
    system = np.repeat(pair_sys, per_pair)
    quarter = np.repeat(pair_q, per_pair)
    m = len(system)
    p_due = _between(rng, inv.service_lo[system, quarter], inv.service_hi[system, quarter])
    mean = 12 - 15 * window.progress(p_due)  # later reassessments are finished on time
    p_lag = np.maximum(np.rint(rng.normal(mean, 15)), -40).astype(np.int64)
    p_completed = p_due + _days(p_lag)
    p_cancel = rng.random(m) < 0.04
    p_stuck = rng.random(m) < 0.02
    p_completed[(p_completed > end) | p_cancel | p_stuck] = NAT
    p_status = np.where(~np.isnat(p_completed), 2, np.where(rng.random(m) < 0.3, 0, 1))
    p_status[p_cancel] = 3
    p_type = (rng.random(m) < 0.65).astype(np.int64)  # mostly risk reassessments
    p_note = np.where(p_cancel, 5, np.where(p_type == 0, 3, 2))
    periodic = (system, p_type, p_status, p_due, p_completed, p_note)

    system, kind, status, due, completed, note = (
        np.concatenate(pair) for pair in zip(base, periodic, strict=True)
    )
    total_rows = len(system)
    done = status == 2
    shift = np.asarray([[0.25, 0.6, 0.15], [0.05, 0.45, 0.5], [0.0, 0.1, 0.9]])  # by system risk
    u = rng.random(total_rows)
    cumulative = shift.cumsum(axis=1)[inv.risk[system]]
    residual = (u[:, None] > cumulative).sum(axis=1).clip(0, 2)
    order = np.lexsort((completed, due))
    return _frame(
        "assessments",
        {
            "assessment_id": _ids("ASM-", total_rows),
            "system_id": _lookup(inv.ids, system[order]),
            "assessment_type": _lookup(ASSESSMENT_TYPES, kind[order]),
            "status": _lookup(("planned", "in_progress", "completed", "cancelled"), status[order]),
            "due_on": due[order],
            "completed_on": completed[order],
            "assessor": _lookup(ASSESSORS, rng.integers(0, len(ASSESSORS), total_rows))[order],
            "residual_risk": _optional(done, _lookup(RISKS, residual))[order],
            "notes": _lookup(ASSESSMENT_NOTES, note[order]),
        },
    )


# --- findings -----------------------------------------------------------------------------------


def _findings(rng: np.random.Generator, window: _Window, total: int | None) -> pd.DataFrame:
    nq, end = len(window.quarters), window.end
    q = np.arange(nq)
    fewer = 10 - 4 * q / max(nq - 1, 1)  # internal audits find less as the AIMS matures
    external = [(2, 1), (6, 2)]  # certification audit in year one, surveillance in year two
    if total is None:
        per_internal = np.clip(np.rint(rng.normal(fewer, 1.5)), 4, 12).astype(np.int64)
        event_q = np.concatenate([q, [e[0] for e in external]])
        event_type = np.concatenate([np.zeros(nq, dtype=np.int64), [e[1] for e in external]])
        audits_per_event = np.ones(len(event_q), dtype=np.int64)
        per_audit = np.concatenate([per_internal, rng.integers(6, 9, 1), rng.integers(4, 7, 1)])
    else:
        n_ext = round(0.05 * total)
        n_int = total - n_ext
        a_int = max(1, round(n_int / nq / 15))
        a_ext = max(1, round(n_ext / len(external) / 15))
        event_q = np.concatenate([q, [e[0] for e in external]])
        event_type = np.concatenate([np.zeros(nq, dtype=np.int64), [e[1] for e in external]])
        audits_per_event = np.concatenate([np.full(nq, a_int), np.full(len(external), a_ext)])
        w_int = np.repeat(fewer / fewer.sum() / a_int, a_int)
        per_audit = np.concatenate(
            [
                rng.multinomial(n_int, w_int),
                rng.multinomial(n_ext, np.full(a_ext * len(external), 1 / (a_ext * len(external)))),
            ]
        )
    keep = event_q < nq
    event_q, event_type, audits_per_event = event_q[keep], event_type[keep], audits_per_event[keep]
    per_audit = per_audit[: int(audits_per_event.sum())]

    audit_q = np.repeat(event_q, audits_per_event)
    audit_type = np.repeat(event_type, audits_per_event)
    number = np.arange(len(audit_q)) - np.repeat(
        np.cumsum(audits_per_event) - audits_per_event, audits_per_event
    )
    offset = np.where(
        audit_type == 0,
        _uniform_int(rng, 40, 80, len(audit_q)),
        _uniform_int(rng, 20, 60, len(audit_q)),
    )
    audit_date = window.starts[audit_q] + _days(offset)
    labels = np.asarray([qq.label for qq in window.quarters])[audit_q]
    prefix = np.asarray(["IA-", "CB-CERT-", "CB-SURV-"])[audit_type]
    audit_id = np.strings.add(prefix, labels)
    multi = np.repeat(audits_per_event, audits_per_event) > 1
    suffix = np.strings.add("-", np.strings.zfill((number + 1).astype("U4"), 3))
    audit_id = np.where(multi, np.strings.add(audit_id, suffix), audit_id)

    audit = np.repeat(np.arange(len(audit_q)), per_audit)
    n = len(audit)
    is_external = audit_type[audit] > 0
    ftype = np.where(
        is_external,
        _pick(rng, n, (0.15, 0.45, 0.25, 0.15)),
        _pick(rng, n, (0.09, 0.34, 0.32, 0.25)),
    )
    first_cert = np.flatnonzero(audit_type == 1)
    if len(first_cert):  # the certification audit raised two major nonconformities
        ftype[np.flatnonzero(audit == first_cert[0])[:2]] = 0
    clause = _pick(rng, n, tuple(c[1] for c in FINDING_CLAUSES))
    description = _texts_by_group(rng, clause, [c[2] for c in FINDING_CLAUSES])
    raised = audit_date[audit] + _days(_uniform_int(rng, 0, 2, n))
    raised = np.minimum(raised, window.ends[audit_q[audit]])

    due = np.minimum(raised + _days(np.asarray([60, 90, 120, 180])[ftype]), end)
    due[(ftype == 3) & (rng.random(n) < 0.6)] = NAT
    mean = np.asarray([45.0, 55.0, 70.0, 100.0])[ftype] * (1.3 - 0.6 * window.progress(raised))
    closed = raised + _days(np.ceil(rng.gamma(3.0, mean / 3.0)))
    closed[closed > end] = NAT
    # A few major nonconformities stay open long past their due date.
    eligible = np.flatnonzero((ftype == 0) & (raised <= end - 120 * DAY))
    k = min(len(eligible), max(2, round(0.15 * len(eligible))))
    closed[rng.choice(eligible, size=k, replace=False)] = NAT

    is_closed = ~np.isnat(closed)
    verified = closed + _days(_uniform_int(rng, 7, 40, n))
    verified[~is_closed | (verified > end) | (rng.random(n) < 0.4)] = NAT
    status_code = np.where(
        is_closed,
        np.where(np.isnat(verified), 0, 1),
        np.where(rng.random(n) < 0.6, 2, 3),
    )
    status = _lookup(("closed", "verified", "in_progress", "open"), status_code)
    nc = ftype <= 1
    root_cause = _optional(nc, _lookup(FINDING_ROOT_CAUSES, rng.integers(0, 6, n)))
    action = _optional(nc & (status_code != 3), _lookup(CORRECTIVE_ACTIONS, rng.integers(0, 6, n)))

    order = np.argsort(raised, kind="stable")
    return _frame(
        "findings",
        {
            "finding_id": _ids("F-", n),
            "audit_id": _lookup(audit_id, audit[order]),
            "audit_type": _lookup(AUDIT_TYPES, audit_type[audit][order]),
            "clause_ref": _lookup(tuple(c[0] for c in FINDING_CLAUSES), clause[order]),
            "finding_type": _lookup(FINDING_TYPES, ftype[order]),
            "description": description[order],
            "raised_on": raised[order],
            "due_on": due[order],
            "closed_on": closed[order],
            "owner": _lookup(OWNERS, rng.integers(0, len(OWNERS), n))[order],
            "status": status[order],
            "root_cause": root_cause[order],
            "corrective_action": action[order],
            "verified_on": verified[order],
        },
    )


# --- public generators --------------------------------------------------------------------------


def _generate(
    end_quarter: Quarter, seed: int, sizes: dict[str, int | None]
) -> dict[str, pd.DataFrame]:
    rng = np.random.Generator(np.random.PCG64(seed))
    window = _Window.ending(end_quarter)
    inv = _systems(rng, int(sizes["systems"] or 40), window)
    return {
        "systems": inv.frame,
        "incidents": _incidents(rng, window, inv, sizes.get("incidents")),
        "assessments": _assessments(rng, window, inv, sizes.get("assessments")),
        "bias_tests": _bias_tests(rng, window, inv, sizes.get("bias_tests")),
        "findings": _findings(rng, window, sizes.get("findings")),
    }


def generate_demo(end_quarter: Quarter, seed: int = DEMO_SEED) -> dict[str, pd.DataFrame]:
    """The demo organisation: 40 AI systems and eight quarters of records ending at `end_quarter`."""
    return _generate(end_quarter, seed, {"systems": len(SYSTEM_TEMPLATES)})


def generate_enterprise(
    end_quarter: Quarter, seed: int = ENTERPRISE_SEED, scale_factor: float = 1.0
) -> dict[str, pd.DataFrame]:
    """The enterprise data set of design §9 (2,000 systems … 1,000,000 bias tests), or a fraction
    of it (`scale_factor`) for quick tests."""
    if not 0 < scale_factor <= 10:
        raise ValueError(f"scale_factor must be in (0, 10], not {scale_factor}")
    sizes = {name: max(1, round(count * scale_factor)) for name, count in ENTERPRISE_SIZE.items()}
    sizes["systems"] = max(sizes["systems"], len(SYSTEM_TEMPLATES) + 1)
    return _generate(end_quarter, seed, sizes)


# --- loading ------------------------------------------------------------------------------------


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A stable sha256 of a table's rows (order-independent; far cheaper than hashing a CSV
    rendering of a million rows)."""
    columns = ", ".join(TABLES[table].column_names)
    count, total = con.execute(
        f"SELECT count(*), coalesce(sum(hash({columns})::HUGEINT), 0) FROM {table}"
    ).fetchall()[0]
    return hashlib.sha256(f"{table}|{columns}|{count}|{total}".encode()).hexdigest()


def _insert_frames(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], username: str
) -> dict[str, int]:
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise ValueError(f"unknown tables {unknown}: use {', '.join(TABLES)}")
    counts: dict[str, int] = {}
    for name, spec in TABLES.items():  # identifiers come from the registry only
        if name not in frames:
            continue
        frame = frames[name]
        if list(frame.columns) != spec.column_names:
            raise ValueError(f"{name}: columns must be {spec.column_names}")
        view = f"demo_frame_{name}"
        columns = ", ".join(spec.column_names)
        select = ", ".join(f"CAST({c.name} AS {c.sql_type})" for c in spec.columns)
        con.register(view, pa.Table.from_pandas(frame, preserve_index=False))
        try:
            con.execute(f"DELETE FROM {name}")
            con.execute(f"INSERT INTO {name} ({columns}) SELECT {select} FROM {view}")
        finally:
            con.unregister(view)
        counts[name] = len(frame)
        con.execute(
            "INSERT INTO import_batches (table_name, file_name, sha256, row_count, inserted, "
            "updated, unchanged, username, imported_at) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)",
            [
                name,
                f"demo:{name}",
                _fingerprint(con, name),
                len(frame),
                len(frame),
                username,
                store.now(),
            ],
        )
    store.record_audit(con, username, "data.load_dataset", ",".join(counts), counts)
    return counts


def load_dataset(
    con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], username: str = "demo"
) -> dict[str, int]:
    """Replace the rows of each given table with its frame, in one transaction, recording one
    import batch per table and an audit entry; returns the row counts."""
    with store.transaction(con):
        return _insert_frames(con, frames, username)


# --- objectives ---------------------------------------------------------------------------------


def demo_objectives(con: duckdb.DuckDBPyConnection, end_quarter: Quarter) -> list[Objective]:
    """DEMO_OBJECTIVES with their deadline (end of the year after `end_quarter`) and their
    baseline: the metric's value in the data's first quarter, computed by the metrics engine."""
    first = end_quarter.shift(-(QUARTERS - 1))
    series = engine.catalog_series(con, [first], [spec.metric for spec in DEMO_OBJECTIVES])
    objectives = []
    for spec in DEMO_OBJECTIVES:
        baseline = series[spec.metric][0].value
        objectives.append(
            Objective(
                objective_id=spec.objective_id,
                title=spec.title,
                metric=spec.metric,
                target=spec.target,
                deadline=date(end_quarter.end.year + 1, 12, 31),
                owner=spec.owner,
                baseline=None if baseline is None else float(baseline),
                baseline_on=first.end,
            )
        )
    return objectives


def seed_objectives(
    con: duckdb.DuckDBPyConnection, end_quarter: Quarter, username: str = "demo"
) -> list[Objective]:
    """Insert or update the demo objectives in one transaction, with an audit entry."""
    objectives = demo_objectives(con, end_quarter)  # read-only evaluation, before writing
    with store.transaction(con):
        for o in objectives:
            con.execute(
                "INSERT INTO objectives (objective_id, title, metric, target, deadline, owner, "
                "baseline, baseline_on, updated_by, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (objective_id) DO UPDATE SET title = excluded.title, "
                "metric = excluded.metric, target = excluded.target, "
                "deadline = excluded.deadline, owner = excluded.owner, "
                "baseline = excluded.baseline, baseline_on = excluded.baseline_on, "
                "updated_by = excluded.updated_by, updated_at = excluded.updated_at",
                [
                    o.objective_id,
                    o.title,
                    o.metric,
                    o.target,
                    o.deadline,
                    o.owner,
                    o.baseline,
                    o.baseline_on,
                    username,
                    store.now(),
                ],
            )
        store.record_audit(
            con,
            username,
            "objectives.seed",
            ",".join(o.objective_id for o in objectives),
            {o.objective_id: o.model_dump(mode="json") for o in objectives},
        )
    return objectives


def load_demo(
    con: duckdb.DuckDBPyConnection,
    end_quarter: Quarter | None = None,
    seed: int | None = None,
    scale: str = "demo",
    username: str = "demo",
) -> dict[str, int]:
    """`init --demo [--scale enterprise]`: generate, load, then seed the objectives.

    `end_quarter` defaults to the last completed quarter; `seed` to the generator's own default.
    The data load is one transaction; the objectives (an idempotent upsert whose baselines the
    engine computes from the loaded data) a second. Returns the row count of each table,
    objectives included.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: use {' or '.join(SCALES)}")
    end_quarter = end_quarter or last_completed_quarter()
    if scale == "demo":
        frames = generate_demo(end_quarter, DEMO_SEED if seed is None else seed)
    else:
        frames = generate_enterprise(end_quarter, ENTERPRISE_SEED if seed is None else seed)
    store.migrate(con)
    counts = load_dataset(con, frames, username)
    if scale == "demo":  # per-group fairness results for a few systems (aims_metrics.demo.fairness)
        from aims_metrics.demo.fairness import seed_fairness_demo

        for table, added in seed_fairness_demo(con, username).items():
            counts[table] = counts.get(table, 0) + added
    counts["objectives"] = len(seed_objectives(con, end_quarter, username))
    return counts

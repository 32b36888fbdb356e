"""The demo organisation's vocabulary: system names, owners, markets, incident titles, bias-test
attributes and metrics, audit clauses and finding texts, with the shares they are drawn in."""

from __future__ import annotations

from dataclasses import dataclass

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

"""9.2 internal audit and certification readiness: the audit programme and its coverage
(`programme`), the readiness checklist with the Statement of Applicability and attestations
(`readiness`), the versioned gap register (`gaps`) and their PDFs (`plan_pdf`, `report_pdf`).

Importing this package imports nothing else: callers import the module they need.
"""

"""Between the reviews: reminders, escalation and delivery (issue 23).

`people` matches owner names to e-mail addresses; `rules` finds the items due a reminder as of a
day; `reminders` decides repetition and escalation from the sent log; `outbox` keeps every message
before it is sent; `digest` renders e-mail digests and webhook payloads; `delivery` sends them
over SMTP and HTTP; `run` is the one scheduler run that ties them together. The tables are
declared in `schema` (migration 7).
"""

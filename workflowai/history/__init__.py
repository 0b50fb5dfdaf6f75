"""Failure history: every analysis recorded with its fingerprint and CI context, verdicts
(new, recurring, flaky, broken-base), confirmed causes and rejected matches."""

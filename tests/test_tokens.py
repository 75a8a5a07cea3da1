"""The input estimator learns per model and per tenant, and what answers use."""

from __future__ import annotations

from scalegate.tokens import INITIAL_CORRECTION, MARGIN, TokenEstimator


def test_a_tenant_learns_its_own_correction_and_others_keep_the_models() -> None:
    est = TokenEstimator()
    assert est.estimate("m", 1000) == round(1000 * INITIAL_CORRECTION * MARGIN)
    # One tenant's prompts count 2x the raw estimate (dense JSON, say); the model learns
    # from it as well, but the tenant's own correction is used for its calls.
    for _ in range(10):
        est.learn("m", 1000, 2000, tenant="dense")
    for _ in range(10):
        est.learn("m", 1000, 800, tenant="plain")
    assert est.correction("m", "dense") == 2.0
    assert est.correction("m", "plain") == 0.8
    # A tenant with no history of its own gets the model's, learned from everyone.
    assert 0.8 < est.correction("m", "new") == est.correction("m") < 2.0
    assert est.correction("other-model", "dense") == INITIAL_CORRECTION


def test_output_reservation_learns_what_answers_use() -> None:
    est = TokenEstimator(output_floor=64)
    assert est.output_reservation("m", 32_000) == 64  # nothing known: the floor
    for _ in range(20):
        est.learn_output("m", 300)
    assert est.output_reservation("m", 32_000) == 300  # no spread: exactly what answers use
    assert est.output_reservation("m", 100) == 100  # never more than max_tokens

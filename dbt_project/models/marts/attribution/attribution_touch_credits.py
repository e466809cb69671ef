"""Every model's credit for each touch of each converting journey (int_attribution_journeys).

The models are intent_pipeline.attribution's — the code `python -m intent_pipeline attribute`
runs on a path file, here through attribute_journey_table: the Markov chain (solved exactly) and
the Shapley values are fitted on every journey, converting or not; each conversion hands out
exactly 1 credit (and its value) per model. Settings come from the dbt vars
attribution_path_transform, attribution_half_life_days (time decay by the touches' age in days)
and attribution_markov_order, passed through the model config.

Only the journeys of people with consent to analytics (marts.people.consent_analytics,
docs/privacy.md): a person who denied it is neither credited nor part of the Markov chain's and
Shapley's fit; fail closed (a null is no consent). The channel marts sum these credits, so they
leave them out too.
"""


def model(dbt, session):
    # materialized: table (the marts' default), precomputed on Postgres (_attribution__models.yml)
    try:
        from intent_pipeline import attribution
    except ImportError as error:  # dbt was started without the project's plugins on PYTHONPATH
        raise RuntimeError(
            "attribution_touch_credits needs the intent_pipeline package: run dbt after `source scripts/env.sh` "
            "(it puts plugins/ on PYTHONPATH), as the DAG and `make` do"
        ) from error

    journeys = dbt.ref("int_attribution_journeys").df()
    people = dbt.ref("people").df()
    consenting = people.loc[people["consent_analytics"].fillna(False).astype(bool), "person_id"]
    journeys = journeys[journeys["person_id"].isin(set(consenting))]
    out = attribution.attribute_journey_table(
        journeys,
        dbt.config.get("path_transform") or "unique",
        half_life=float(dbt.config.get("half_life_days") or 7),
        markov_order=int(dbt.config.get("markov_order") or 1),
    )
    columns = [
        "conversion_id", "person_id", "converted_at", "attribution_model", "touch_id", "touched_at", "channel",
        "campaign", "credit", "credited_value", "removal_effect", "shapley_value",
    ]  # fmt: skip
    return out[columns].sort_values(["conversion_id", "attribution_model", "touched_at", "touch_id"], kind="stable")

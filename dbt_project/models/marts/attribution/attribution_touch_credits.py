"""Every model's credit for each touch of each converting journey (int_attribution_journeys).

The models are intent_pipeline.attribution's — the code `python -m intent_pipeline attribute`
runs on a path file, here through attribute_journey_table: the Markov chain (solved exactly) and
the Shapley values are fitted on every journey, converting or not; each conversion hands out
exactly 1 credit (and its value) per model. Settings come from the dbt vars
attribution_path_transform, attribution_half_life_days (time decay by the touches' age in days)
and attribution_markov_order, passed through the model config.
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

    out = attribution.attribute_journey_table(
        dbt.ref("int_attribution_journeys").df(),
        dbt.config.get("path_transform") or "unique",
        half_life=float(dbt.config.get("half_life_days") or 7),
        markov_order=int(dbt.config.get("markov_order") or 1),
    )
    columns = [
        "conversion_id", "person_id", "converted_at", "attribution_model", "touch_id", "touched_at", "channel",
        "campaign", "credit", "credited_value", "removal_effect", "shapley_value",
    ]  # fmt: skip
    return out[columns].sort_values(["conversion_id", "attribution_model", "touched_at", "touch_id"], kind="stable")

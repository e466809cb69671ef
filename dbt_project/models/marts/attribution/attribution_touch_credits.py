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

What it reads (docs/incremental.md, "Attribution and operations marts"): the fit needs every journey,
but a non-converting journey is credited nothing and enters the fit only as one more count of its
path. On DuckDB the consent filter and those counts are computed in the warehouse (a semi-join, one
`group by` of each journey's channels in touch order), and only the converting journeys' rows become
a DataFrame: the same credits, bit for bit (tests/attribution/test_models.py), for a fraction of the
CPU (moving every journey into pandas and filtering it there was most of the model's time). Postgres
runs this file outside dbt (intent_pipeline.postgres_load.attribute_postgres) with DataFrames of every
journey, filtered here as before.
"""

# the channels of each non-converting journey in touch order, counted per distinct path
NULL_PATHS_SQL = """
    select path, count(*) as journeys
    from (
        select journey_id, list(channel order by touch_number) as path
        from null_journeys
        group by journey_id
    ) as paths
    group by path
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

    journeys = dbt.ref("int_attribution_journeys")
    people = dbt.ref("people")
    if hasattr(journeys, "set_alias"):  # a DuckDB relation: filter and count in the warehouse
        consenting = people.filter("coalesce(consent_analytics, false)").project("person_id")
        journeys = journeys.set_alias("journeys").join(
            consenting.set_alias("consenting"), "journeys.person_id = consenting.person_id", how="semi"
        )
        null_paths = journeys.filter("not is_conversion").query("null_journeys", NULL_PATHS_SQL).fetchall()
        table = journeys.filter("is_conversion").df()
    else:  # DataFrames (attribute-postgres): every journey, filtered in pandas
        journeys, people = journeys.df(), people.df()
        consenting = people.loc[people["consent_analytics"].fillna(False).astype(bool), "person_id"]
        table, null_paths = journeys[journeys["person_id"].isin(set(consenting))], []
    out = attribution.attribute_journey_table(
        table,
        dbt.config.get("path_transform") or "unique",
        half_life=float(dbt.config.get("half_life_days") or 7),
        markov_order=int(dbt.config.get("markov_order") or 1),
        null_paths=null_paths,
    )
    columns = [
        "conversion_id", "person_id", "converted_at", "attribution_model", "touch_id", "touched_at", "channel",
        "campaign", "credit", "credited_value", "removal_effect", "shapley_value",
    ]  # fmt: skip
    return out[columns].sort_values(["conversion_id", "attribution_model", "touched_at", "touch_id"], kind="stable")

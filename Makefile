# The two commands a data engineer needs first: `make run` and `make test`.
# bash: the recipes source scripts/env.sh, which uses ${BASH_SOURCE[0]} (dash: "Bad substitution").
SHELL := /bin/bash
.PHONY: setup setup-dev run test lint bench bench-operations figures airflow-ui bi-shell docs dashboard dashboard-dev clean

setup:           ## create .venv with the pinned runtime requirements (skipped when up to date; setup-dev adds the dev tools)
	scripts/setup.sh

setup-dev:       ## .venv with requirements-dev.txt: runtime + pytest, ruff, mypy
	scripts/setup.sh dev

run:             ## sample workload + one customer_intent run through Airflow's scheduler + summary (DATE=, PEOPLE=)
	scripts/run.sh

test:            ## lint, mypy and the whole test suite
	scripts/test.sh

lint:            ## ruff (with Airflow 3's AIR3 rules on dags/) and mypy
	scripts/setup.sh dev && . scripts/env.sh && ruff check . && ruff check --select AIR3 dags/ && mypy

bench:           ## python bench/pipeline.py (PEOPLE=)
	scripts/setup.sh && . scripts/env.sh && python bench/pipeline.py $(if $(PEOPLE),--people $(PEOPLE))

bench-operations: ## python bench/operations.py: backfill + manual + scheduled runs, a BI reader, the pool (PEOPLE=)
	scripts/setup.sh && . scripts/env.sh && python bench/operations.py $(if $(PEOPLE),--people $(PEOPLE))

figures:         ## the README's figures: make run's steps in a temporary home + make test's last figures -> docs/figures.json, README (PEOPLE=)
	scripts/setup.sh && . scripts/env.sh && python scripts/figures.py $(if $(PEOPLE),--people $(PEOPLE))

airflow-ui:      ## the Airflow UI and scheduler on the same DAG and metadata DB (http://localhost:8080)
	scripts/setup.sh && scripts/airflow-init.sh && . scripts/env.sh && python scripts/airflow_run.py --serve

bi-shell:        ## SQL on the serving copy BI tools read (read-only; SQL="select ..." or interactive)
	. scripts/env.sh && python -m intent_pipeline.serving $(if $(SQL),"$(SQL)")

docs:            ## dbt docs generate + serve on http://localhost:8081 (DOCS_PORT=; DOCS_SERVE=0: generate only)
	scripts/setup.sh && scripts/docs.sh

dashboard:       ## the dashboards (Observable Framework) as static files in dashboard/dist, from the current serving copy
	dashboard/build.sh

dashboard-dev:   ## the dashboards' preview server on http://127.0.0.1:3000 (DASHBOARD_PORT=), reloading on edits
	dashboard/build.sh dev

clean:           ## remove generated data and the Airflow home (keeps .venv)
	rm -rf data .airflow

# The two commands a data engineer needs first: `make run` and `make test`.
.PHONY: setup run test lint bench airflow-ui clean

setup:           ## create .venv with the pinned requirements (skipped when up to date)
	scripts/setup.sh

run:             ## sample workload + one customer_intent run through Airflow + summary (DATE=, PEOPLE=)
	scripts/run.sh

test:            ## lint and the whole test suite
	scripts/test.sh

lint:
	scripts/setup.sh && . scripts/env.sh && ruff check . && ruff check --select AIR3 dags/

bench:           ## python bench/pipeline.py (PEOPLE=)
	scripts/setup.sh && . scripts/env.sh && python bench/pipeline.py $(if $(PEOPLE),--people $(PEOPLE))

airflow-ui:      ## the Airflow UI on the same DAG and metadata DB (http://localhost:8080)
	scripts/setup.sh && . scripts/env.sh && airflow standalone

clean:           ## remove generated data and the Airflow home (keeps .venv)
	rm -rf data .airflow

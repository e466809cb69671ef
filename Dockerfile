# Airflow 3 image with the project's pinned requirements (dbt-duckdb, GX, pandas, ...).
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt

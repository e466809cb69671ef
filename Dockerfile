# Airflow 3 image with the project's pinned runtime requirements (dbt-duckdb, GX, pandas, ...).
# Runtime only: the test and lint tools (requirements-dev.txt) stay out of the image.
FROM apache/airflow:3.3.2-python3.11
COPY requirements.txt /requirements.txt
RUN pip install --no-cache-dir -r /requirements.txt

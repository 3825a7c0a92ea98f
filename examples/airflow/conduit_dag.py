"""Conduit: one Airflow task per resource, every 15 minutes (Airflow 2.6 or later).

Every worker needs the three binaries on PATH, the same ingest.yml at CONDUIT_CONFIG, and the
passwords it names (PG_PASSWORD, WAREHOUSE_PASSWORD, STATE_PG_PASSWORD) in its environment.
ingest.yml keeps the state in PostgreSQL (examples/postgres-state.yml): any worker can then run
any task, and no run depends on what an earlier one left on disk. BashOperator runs each command
in a fresh temporary directory, so the default .conduit_state.json would be lost after every run.
"""

from datetime import timedelta

import pendulum
from airflow import DAG

try:  # Airflow 2.9+ with the standard provider installed, and Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator

RESOURCES = ["sync_new_users", "sync_orders"]

with DAG(
    dag_id="conduit",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    # The state, not the logical date, decides what a run loads: catching up would only start
    # runs that find nothing left to load.
    catchup=False,
    # A run still going when the next is due makes the next one wait rather than meet the run
    # lock (exit 75).
    max_active_runs=1,
    default_args={
        # A failed run leaves the state where it was and its checkpoints resume the retry, so
        # retrying is always safe; the delay gives a database or network time to come back (69).
        "retries": 3,
        "retry_delay": timedelta(minutes=5),
        # A hung run would hold up the next DAG runs: stop it (SIGTERM, nothing committed).
        # A first load longer than this still gets there, retry by retry, from its checkpoints.
        "execution_timeout": timedelta(minutes=30),
    },
    tags=["conduit"],
) as dag:
    for resource in RESOURCES:
        # No dependencies between the tasks: one resource failing holds up none of the others.
        BashOperator(
            task_id=resource,
            # pipefail: an extract that fails part-way (the source went away) still lets
            # conduit-state commit what arrived whole and exit 0; only pipefail reports the
            # extract's status, so the task fails and the retry loads the rest.
            bash_command=(
                "set -o pipefail; "
                f"conduit-extract {resource} | conduit-state commit {resource} -- conduit-load {resource}"
            ),
            env={"CONDUIT_CONFIG": "/opt/conduit/ingest.yml"},
            # Keep the worker's own environment: PATH and the passwords ingest.yml reads.
            append_env=True,
            # 75: another run of this resource holds its lock (started by hand, from another
            # scheduler); it loads these rows, so skip instead of failing and retrying. The next
            # schedule carries on from whatever it committed.
            skip_on_exit_code=75,
        )

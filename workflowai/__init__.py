"""WorkflowAI: find why a CI/CD job failed.

The library package. It never imports Prefect, so the CLI, notebooks and tests can use it
directly; `flows/` and `tasks/` wrap it as Prefect workflows.
"""

__version__ = "0.1.0"

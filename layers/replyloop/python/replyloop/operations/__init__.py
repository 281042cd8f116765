"""What the CLI's commands do against a local or deployed stack, with typed results.

DLQ inspection and replay, export, seeding, stress tests, retrain runs, console publish.
"""

"""Operator tools (DLQ inspection and replay), used by the CLI against a local or deployed stack."""

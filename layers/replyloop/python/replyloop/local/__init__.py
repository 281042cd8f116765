"""The local stack, built from template.yaml: moto standing in for AWS, the offline model for OpenAI,
a gateway, pollers."""

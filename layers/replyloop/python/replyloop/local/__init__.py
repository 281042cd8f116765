"""The local stack: moto standing in for AWS, a gateway, pollers - all built from template.yaml."""

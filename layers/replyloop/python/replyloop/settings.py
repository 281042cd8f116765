"""Environment settings, validated once per cold start."""

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What every function reads from its environment (set in template.yaml)."""

    model_config = ConfigDict(frozen=True)

    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    max_body_bytes: int = Field(alias="MAX_BODY_BYTES", default=65_536, gt=0)
    idempotency_table: str | None = Field(alias="IDEMPOTENCY_TABLE", default=None)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read and validate the environment once; a missing variable fails the cold start loudly."""
    return Settings.model_validate(dict(os.environ))

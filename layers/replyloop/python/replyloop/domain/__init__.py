"""Pure domain logic: no AWS, no HTTP, no clock or randomness that is not passed in."""

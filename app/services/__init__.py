"""Business logic. Services take an explicit session, return plain values, raise domain errors."""

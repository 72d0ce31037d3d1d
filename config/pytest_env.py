"""Loaded by pytest before Django (``-p config.pytest_env``): the test environment's switches."""

import os

os.environ.setdefault("SMARTCLINIC_TESTING", "1")
os.environ.setdefault("DATABASE_POOL", "0")

"""Production settings fail loudly; `check --deploy` passes with a production environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"SMARTCLINIC_TESTING", "DEBUG", "SECRET_KEY", "DATABASE_URL"}
    }
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = run_manage("check", SECRET_KEY="short", FIELD_ENCRYPTION_KEYS="x")
    assert result.returncode != 0
    assert "too short" in result.stderr


def test_production_refuses_to_start_without_field_encryption_keys():
    result = run_manage("check", SECRET_KEY="k" * 50)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


@pytest.mark.parametrize("debug", ["1"])
def test_debug_starts_without_secrets(debug):
    assert run_manage("check", DEBUG=debug).returncode == 0


def test_check_deploy_passes_with_production_environment(tmp_path):
    from cryptography.fernet import Fernet

    key_file = tmp_path / "secret"
    key_file.write_text("s3cret-" + "x" * 60)
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY_FILE=str(key_file),
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        HTTPS="1",
        ALLOWED_HOSTS="clinic.example.edu.cn",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_boolean_is_refused():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG" in result.stderr

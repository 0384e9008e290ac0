"""Secrets come from the environment or a file, and are masked wherever they could show."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError
from vigia.connectors.errors import ConfigError
from vigia.connectors.secrets import SecretRef, redact


def test_a_secret_from_the_environment(monkeypatch):
    monkeypatch.setenv("VIGIA_TEST_TOKEN", "abc-123-xyz")
    ref = SecretRef.model_validate("env:VIGIA_TEST_TOKEN")
    secret = ref.resolve()
    assert secret.get_secret_value() == "abc-123-xyz"
    assert "abc-123-xyz" not in repr(secret) + str(secret) + repr(ref)


def test_a_secret_from_a_file(tmp_path):
    path = tmp_path / "token"
    path.write_text("from-a-file\n")
    assert SecretRef(file=path).resolve().get_secret_value() == "from-a-file"


def test_missing_secrets_name_where_they_were_looked_for(monkeypatch, tmp_path):
    monkeypatch.delenv("VIGIA_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match="environment variable VIGIA_NOT_SET"):
        SecretRef(env="VIGIA_NOT_SET").resolve()
    with pytest.raises(ConfigError, match="cannot read secret file"):
        SecretRef(file=tmp_path / "absent").resolve()


def test_inline_secret_values_are_refused():
    with pytest.raises(ValidationError, match="never the value itself"):
        SecretRef.model_validate("hunter2")
    with pytest.raises(ValidationError, match="exactly one"):
        SecretRef.model_validate({"env": "A", "file": "/b"})


def test_redact_masks_every_secret():
    text = "GET https://x/?token=abc&pw=def failed: abc"
    assert redact(text, [SecretStr("abc"), SecretStr("def")]) == (
        "GET https://x/?token=***&pw=*** failed: ***"
    )

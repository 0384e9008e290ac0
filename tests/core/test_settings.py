"""Settings: environment, YAML file, secret files; secrets never printed."""

from __future__ import annotations

from vigia.settings import Settings


def test_environment_uses_prefix_and_nested_delimiter(monkeypatch):
    # The suite may run against an external broker named by this variable.
    monkeypatch.delenv("VIGIA_KAFKA__BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("VIGIA_KAFKA__TOPIC_PREFIX", "staging")
    monkeypatch.setenv("VIGIA_BROKER__PORT", "19092")
    monkeypatch.delenv("VIGIA_KAFKA__BOOTSTRAP_SERVERS", raising=False)  # the local broker's
    settings = Settings()
    assert settings.kafka.topic_prefix == "staging"
    assert settings.broker.port == 19092
    assert settings.bootstrap_servers == "127.0.0.1:19092"


def test_yaml_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    config = tmp_path / "vigia.yaml"
    config.write_text("kafka:\n  topic_prefix: fromyaml\n  client_id: yaml-client\n")
    monkeypatch.setenv("VIGIA_CONFIG", str(config))
    monkeypatch.setenv("VIGIA_KAFKA__CLIENT_ID", "env-client")
    settings = Settings()
    assert settings.kafka.topic_prefix == "fromyaml"
    assert settings.kafka.client_id == "env-client"


def test_sasl_ssl_options_reach_the_clients_and_the_secret_stays_hidden(monkeypatch, tmp_path):
    monkeypatch.setenv("VIGIA_KAFKA__BOOTSTRAP_SERVERS", "broker.example:9093")
    monkeypatch.setenv("VIGIA_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("VIGIA_KAFKA__SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("VIGIA_KAFKA__SASL_USERNAME", "vigia")
    monkeypatch.setenv("VIGIA_KAFKA__SASL_PASSWORD", "s3cret-value")
    settings = Settings()
    options = settings.kafka_client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "vigia"
    assert options["sasl_plain_password"] == "s3cret-value"
    faust_options = settings.faust_options()
    assert faust_options["broker"] == "kafka://broker.example:9093"
    assert faust_options["broker_credentials"].mechanism.value == "SCRAM-SHA-512"
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in settings.model_dump_json()


def test_secret_files_are_read(monkeypatch, tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "vigia_kafka__sasl_password").write_text("from-file")
    monkeypatch.setenv("VIGIA_KAFKA__SASL_MECHANISM", "PLAIN")
    settings = Settings(_secrets_dir=secrets)
    assert settings.kafka.sasl_password.get_secret_value() == "from-file"


def test_each_component_has_its_own_metrics_port_on_loopback(monkeypatch):
    from vigia.settings import Settings

    monkeypatch.delenv("VIGIA_METRICS__PORT", raising=False)
    metrics = Settings().metrics
    assert metrics.host == "127.0.0.1"  # like the alerts API; containers set 0.0.0.0
    ports = {c: metrics.port_for(c) for c in ("connectors", "streams", "alerts", "demo")}
    assert ports == {"connectors": 9464, "streams": 9465, "alerts": 9466, "demo": 9464}
    monkeypatch.setenv("VIGIA_METRICS__PORT", "9999")
    assert Settings().metrics.port_for("alerts") == 9999

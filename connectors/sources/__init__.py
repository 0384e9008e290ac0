"""The bundled connector types (registered in pyproject.toml under ``vigia.connectors``)."""

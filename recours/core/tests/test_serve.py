import subprocess

import pytest
from django.core.management import CommandError, call_command

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture
def started(monkeypatch) -> list[list[str]]:
    """Records the processes serve would start, and starts none."""
    commands: list[list[str]] = []

    def record(command: list[str], **_kwargs: object) -> None:
        commands.append(command)
        raise KeyboardInterrupt  # stop right after the first start

    monkeypatch.setattr(subprocess, "Popen", record)
    return commands


@pytest.fixture
def manifest_storage(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": MANIFEST_STORAGE},
    }
    return settings.STATIC_ROOT


def test_it_refuses_to_serve_when_static_files_are_not_collected(
    manifest_storage, started
):
    # when
    with pytest.raises(CommandError) as error:
        call_command("serve", "--bind", "127.0.0.1:0")

    # then
    assert "run `recours collectstatic --no-input` first" in str(error.value)
    assert started == []


def test_it_serves_with_gunicorn_preloaded_once_they_are_collected(
    manifest_storage, started, settings, tmp_path, monkeypatch
):
    # given
    manifest_storage.mkdir()
    (manifest_storage / "staticfiles.json").write_text(
        '{"version": "1.1", "paths": {}, "hash": ""}'
    )
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.VAR_DIR = tmp_path

    # when
    with pytest.raises(KeyboardInterrupt):
        call_command("serve", "--bind", "127.0.0.1:0")

    # then
    assert started[0][2:4] == ["gunicorn", "recours.wsgi:application"]
    assert "--preload" in started[0]
    assert (tmp_path / "prometheus").is_dir()

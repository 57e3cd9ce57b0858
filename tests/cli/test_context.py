"""`scanctl context …` and the precedence of flag > environment > context > default."""

from __future__ import annotations

import tomllib

from tests.cli.conftest import Cli

SETTINGS_KEYS = {"url", "tenant", "venue", "event", "device", "dataDir"}


def test_set_list_use_show_delete(cli: Cli) -> None:
    created = cli.json("context", "set", "a", "--url", "http://a.example:1", "--tenant", "acme")
    assert created == {
        "name": "a",
        "created": True,
        "current": True,  # the first context becomes the current one
        "dryRun": False,
        "settings": {
            "url": "http://a.example:1",
            "tenant": "acme",
            "venue": None,
            "event": None,
            "device": None,
            "dataDir": None,
        },
    }
    second = cli.json("context", "set", "b", "--url", "http://b.example:2", "--event", "e-1")
    assert second["current"] is False
    listed = cli.json("context", "list")
    assert listed["current"] == "a"
    assert set(listed["contexts"]) == {"a", "b"}
    assert all(set(s) == SETTINGS_KEYS for s in listed["contexts"].values())

    assert cli.run("context", "use", "b").returncode == 0
    shown = cli.json("context", "show")
    assert set(shown) == {
        "context", "url", "tenant", "venue", "event", "device", "dataDir", "token", "sources",
    }  # fmt: skip
    assert shown["context"] == "b"
    assert shown["url"] == "http://b.example:2"
    assert shown["event"] == "e-1"
    assert shown["sources"]["context"] == "current-context"
    assert shown["token"] == {"present": False, "source": "none", "expiresAt": None}

    # The file is plain TOML in XDG_CONFIG_HOME.
    data = tomllib.loads((cli.config_dir / "config.toml").read_text())
    assert data["current-context"] == "b"
    assert data["contexts"]["a"] == {"url": "http://a.example:1", "tenant": "acme"}

    dry = cli.json("context", "delete", "b", "--dry-run")
    assert dry == {
        "name": "b", "deleted": False, "dryRun": True, "wasCurrent": True,
        "tokenStored": False, "tokenRemoved": False,
    }  # fmt: skip
    assert "b" in cli.json("context", "list")["contexts"]
    assert cli.json("context", "delete", "b")["deleted"] is True
    listed = cli.json("context", "list")
    assert listed == {
        "current": None,
        "contexts": {"a": {**dict.fromkeys(SETTINGS_KEYS), "url": "http://a.example:1",
                           "tenant": "acme"}},
    }  # fmt: skip


def test_set_changes_only_what_it_is_given(cli: Cli) -> None:
    cli.json("context", "set", "a", "--url", "http://a:1", "--venue", "v")
    changed = cli.json("context", "set", "a", "--event", "e", "--unset", "venue")
    assert changed["created"] is False
    assert changed["settings"]["url"] == "http://a:1"
    assert changed["settings"]["event"] == "e"
    assert changed["settings"]["venue"] is None
    dry = cli.json("context", "set", "a", "--url", "http://other:2", "--dry-run")
    assert dry["settings"]["url"] == "http://other:2"
    assert cli.json("context", "show")["url"] == "http://a:1"


def test_precedence_flag_over_env_over_context_over_default(cli: Cli) -> None:
    assert cli.json("context", "show")["url"] == "http://127.0.0.1:3009"
    assert cli.json("context", "show")["sources"]["url"] == "default"
    cli.json("context", "set", "a", "--url", "http://from-a:1", "--event", "ev-a")
    cli.json("context", "set", "b", "--url", "http://from-b:2", "--event", "ev-b")

    shown = cli.json("context", "show")
    assert (shown["context"], shown["url"], shown["sources"]["url"]) == (
        "a", "http://from-a:1", "context a",
    )  # fmt: skip
    # SCANCTL_CONTEXT beats the current context; --context beats SCANCTL_CONTEXT,
    # before the noun or on the command.
    assert cli.json("context", "show", SCANCTL_CONTEXT="b")["url"] == "http://from-b:2"
    root = cli.run("--context", "a", "context", "show", "--json", SCANCTL_CONTEXT="b")
    assert '"url": "http://from-a:1"' in root.stdout
    assert cli.json("context", "show", "--context", "a", SCANCTL_CONTEXT="b")["context"] == "a"
    # A setting's own variable beats the context; a flag beats the variable.
    shown = cli.json("context", "show", SCANCTL_URL="http://env:3", SCANCTL_EVENT="ev-env")
    assert shown["url"] == "http://env:3"
    assert shown["event"] == "ev-env"
    assert shown["sources"]["url"] == "SCANCTL_URL"
    assert shown["sources"]["event"] == "SCANCTL_EVENT"


def test_flag_beats_env_for_the_backend_url(cli: Cli) -> None:
    # Nothing listens on either port: the error names the URL that was used.
    result = cli.run("policy", "templates", "--url", "http://127.0.0.1:9",
                     SCANCTL_URL="http://127.0.0.1:8")  # fmt: skip
    assert result.returncode == 3
    assert "http://127.0.0.1:9" in result.stderr
    assert "127.0.0.1:8" not in result.stderr


def test_unknown_context_and_broken_file_exit_2(cli: Cli) -> None:
    result = cli.run("context", "show", "--context", "nope")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "Error: no context named 'nope' (from --context)"
    assert "Traceback" not in result.stderr
    assert cli.run("context", "use", "nope").returncode == 2
    assert cli.run("context", "set", "bad name").returncode == 2
    assert cli.run("context", "set", "a", "--url", "ftp://x").returncode == 2

    cli.config_dir.mkdir(parents=True)
    (cli.config_dir / "config.toml").write_text("current-context = [\n")
    result = cli.run("context", "list")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ")
    assert "config.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_scanctl_config_points_at_another_file(cli: Cli) -> None:
    other = cli.home / "ci" / "scanctl.toml"
    cli.json("context", "set", "ci", "--url", "http://ci:1", SCANCTL_CONFIG=str(other))
    assert other.is_file()
    assert cli.json("context", "list")["contexts"] == {}
    assert "ci" in cli.json("context", "list", SCANCTL_CONFIG=str(other))["contexts"]


def test_delete_dry_run_with_a_token_removes_nothing_and_says_so(cli: Cli) -> None:
    cli.json("context", "set", "c", "--url", "http://c.example:3")
    assert cli.run("login", "--no-verify", input="not-a-jwt-but-a-token\n").returncode == 0
    dry = cli.json("context", "delete", "c", "--dry-run")
    assert (dry["tokenStored"], dry["tokenRemoved"], dry["deleted"]) == (True, False, False)
    assert cli.run("context", "show", "--show-token").stdout == "not-a-jwt-but-a-token\n"
    done = cli.json("context", "delete", "c")
    assert (done["tokenStored"], done["tokenRemoved"], done["deleted"]) == (True, True, True)

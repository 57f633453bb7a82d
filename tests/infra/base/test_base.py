"""The phoenix baseline holds on every host."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def base(recorded):
    return recorded("base")


def sshd_settings(host) -> dict[str, str]:
    """The settings sshd really runs with, from `sshd -T`."""
    out = host.check_output("sshd -T -C user=nobody,host=test,addr=127.0.0.1")
    settings: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, value)
    return settings


def test_deploy_user_has_keys_and_no_password(host, base):
    user = host.user(base["deploy_user"])
    assert user.exists
    assert user.password in ("*", "!", "!*"), "the deploy user must not have a password"
    keys = host.file(f"{user.home}/.ssh/authorized_keys")
    assert keys.exists and keys.user == user.name and keys.mode == 0o600
    lines = [line for line in keys.content_string.splitlines() if line.strip()]
    assert lines, "the deploy user has no authorized keys"


def test_deploy_user_may_sudo_without_password(host, base):
    name = base["deploy_user"]
    result = host.run("sudo -l -U %s", name)
    assert result.rc == 0
    assert "(ALL : ALL) NOPASSWD: ALL" in result.stdout


def test_sshd_runs_hardened(host, base, assert_service_up):
    assert_service_up("ssh")
    settings = sshd_settings(host)
    assert settings["permitrootlogin"] == "no"
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["permitemptypasswords"] == "no"
    assert settings["pubkeyauthentication"] == "yes"
    assert settings["authenticationmethods"] == "publickey"
    assert base["deploy_user"] in settings["allowusers"].split()
    assert settings["port"] == str(base["sshd_port"])


def test_sshd_listens_on_its_port(host, base):
    assert host.socket(f"tcp://0.0.0.0:{base['sshd_port']}").is_listening


def _phoenix_ruleset(host) -> list[dict]:
    out = host.check_output("nft -j list table inet phoenix")
    return [item["rule"] for item in json.loads(out)["nftables"] if "rule" in item]


def _input_policy(host) -> str:
    out = host.check_output("nft -j list chain inet phoenix input")
    chains = [item["chain"] for item in json.loads(out)["nftables"] if "chain" in item]
    return chains[0]["policy"]


def _accepted_ports(rules: list[dict]) -> set[tuple[str, int]]:
    """(proto, port) pairs that an input rule accepts."""
    accepted = set()
    for rule in rules:
        if rule["chain"] != "input":
            continue
        verdicts = [e for e in rule["expr"] if "accept" in e]
        for expr in rule["expr"]:
            match = expr.get("match", {})
            field = match.get("left", {}).get("payload", {})
            if verdicts and field.get("field") == "dport":
                accepted.add((field["protocol"], int(match["right"])))
    return accepted


def test_firewall_drops_all_but_declared_ports(host, base, assert_service_up):
    assert_service_up("nftables")
    assert _input_policy(host) == "drop"
    declared = {("tcp", int(base["sshd_port"]))}
    for rule in base["firewall_rules"]:
        declared.add((rule.get("proto", "tcp"), int(rule["port"])))
    assert _accepted_ports(_phoenix_ruleset(host)) == declared


def test_firewall_limits_sources_where_declared(host, base):
    ruleset = host.check_output("nft list table inet phoenix")
    for rule in base["firewall_rules"]:
        for source in rule.get("sources", []):
            assert source in ruleset, f"source {source} of port {rule['port']} is not in the ruleset"


def test_chrony_keeps_time(host, base, assert_service_up):
    assert_service_up("chrony")
    conf = host.file("/etc/chrony/chrony.conf").content_string
    for server in base["time_servers"]:
        assert f"pool {server} iburst" in conf
    assert host.run("chronyc -n tracking").rc == 0


def test_timezone_and_locale(host, base):
    assert host.file("/etc/localtime").linked_to.endswith("/" + base["timezone"])
    assert f"LANG={base['locale']}" in host.file("/etc/default/locale").content_string
    available = host.check_output("locale -a").replace(".utf8", ".UTF-8").split()
    assert base["locale"] in available


def test_journald_is_limited(host, base):
    conf = host.file("/etc/systemd/journald.conf.d/phoenix.conf").content_string
    assert f"SystemMaxUse={base['journald_system_max_use']}" in conf
    assert "Storage=persistent" in conf
    assert host.service("systemd-journald").is_running


def test_unattended_upgrades_follow_the_switch(host, base):
    periodic = host.file("/etc/apt/apt.conf.d/20auto-upgrades").content_string
    expected = "1" if base["unattended_upgrades_enabled"] else "0"
    assert f'APT::Periodic::Unattended-Upgrade "{expected}";' in periodic
    assert host.package("unattended-upgrades").is_installed


def test_firewall_has_not_drifted_from_its_last_load(host):
    live = host.check_output("nft -s list table inet phoenix")
    recorded = host.file("/var/lib/phoenix/nftables.loaded").content_string
    assert live.strip() == recorded.strip()

"""The shared pure functions: release order, statistics, SQL splitting, a host's own address."""

from __future__ import annotations

import pytest

from ansible_collections.phoenix.deploy.plugins.module_utils.addresses import default_interface, interface_address
from ansible_collections.phoenix.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.phoenix.deploy.plugins.module_utils.migrations import split_statements
from ansible_collections.phoenix.deploy.plugins.module_utils.releases import at_least, release_key
from ansible_collections.phoenix.deploy.plugins.module_utils.stats import mann_whitney_greater, percentile, summarize


def test_releases_sort_by_number_with_suffixed_ones_first():
    tags = ["v1.10.0", "v1.2.0", "v1.1.1", "v1.1.1-bad", "v1.0.0", "2.0"]
    assert sorted(tags, key=release_key) == ["v1.0.0", "v1.1.1-bad", "v1.1.1", "v1.2.0", "v1.10.0", "2.0"]


def test_at_least_compares_the_release_numbers():
    assert at_least("v1.2.0", "v1.1.0")
    assert at_least("v1.1.0", "v1.1.0")
    assert not at_least("v1.0.0", "v1.1.0")
    assert at_least("v1.1.1-bad", "v1.1.1")


def test_a_tag_that_is_not_a_release_is_refused():
    with pytest.raises(ValueError, match="'latest' is not a release tag"):
        release_key("latest")


def test_percentiles_interpolate():
    samples = list(range(1, 101))
    assert percentile(samples, 0.5) == pytest.approx(50.5)
    assert percentile(samples, 0.95) == pytest.approx(95.05)
    assert percentile([], 0.5) is None
    assert summarize([3.0, 1.0, 2.0]) == {"count": 3, "mean": 2.0, "p50": 2.0, "p95": pytest.approx(2.9), "max": 3.0}


def test_mann_whitney_matches_the_textbook_example():
    # U = 17 for the first sample; the normal approximation with continuity
    # correction gives a one-sided p of 0.0557.
    result = mann_whitney_greater([19, 22, 16, 29, 24], [20, 11, 17, 12])
    assert result["u"] == 17
    assert result["p_value"] == pytest.approx(0.0557, abs=0.0005)


def test_mann_whitney_is_one_sided():
    slow, fast = [float(v) for v in range(20, 40)], [float(v) for v in range(0, 20)]
    assert mann_whitney_greater(slow, fast)["p_value"] < 0.001
    assert mann_whitney_greater(fast, slow)["p_value"] > 0.999
    assert mann_whitney_greater(slow, fast)["effect"] == 1.0


def test_mann_whitney_with_all_values_tied_finds_no_difference():
    assert mann_whitney_greater([5.0] * 10, [5.0] * 10)["p_value"] == 1.0


def test_sql_is_split_only_at_real_statement_ends():
    text = """
        -- a comment; with a semicolon
        CREATE TABLE a (note text DEFAULT 'x;y');
        /* block; comment */
        CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END; $body$ LANGUAGE plpgsql;
        INSERT INTO a VALUES ('it''s; fine')
    """
    statements = split_statements(text)
    assert len(statements) == 3
    assert statements[0].endswith("CREATE TABLE a (note text DEFAULT 'x;y')")
    assert "RETURN 1; END;" in statements[1]
    assert statements[2] == "INSERT INTO a VALUES ('it''s; fine')"


ROUTES_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


def routes(tmp_path, *lines: str) -> str:
    path = tmp_path / "route"
    path.write_text(ROUTES_HEADER + "".join(f"{line}\n" for line in lines))
    return str(path)


def test_the_default_route_with_the_lowest_metric_names_the_interface(tmp_path):
    table = routes(tmp_path,
                   "eth1\t00000000\t0100A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0",
                   "eth0\t00000000\t010012AC\t0003\t0\t0\t100\t00000000\t0\t0\t0",
                   "eth2\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0")
    assert default_interface(table) == "eth0"


def test_a_route_that_is_down_or_not_the_default_names_no_interface(tmp_path):
    table = routes(tmp_path,
                   "eth0\t00000000\t010012AC\t0002\t0\t0\t0\t00000000\t0\t0\t0",
                   "eth1\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0")
    assert default_interface(table) == ""


def test_an_interface_gives_its_ipv4_address_and_a_missing_one_none():
    assert interface_address("lo") == "127.0.0.1"
    assert interface_address("phoenix-none0") == ""


def test_a_failed_atomic_write_leaves_the_file_as_it_was(tmp_path):
    path = tmp_path / "live-color.map"
    write_atomically(str(path), "live blue\n", 0o640)
    assert path.read_text() == "live blue\n" and oct(path.stat().st_mode & 0o777) == "0o640"
    with pytest.raises(TypeError):
        write_atomically(str(path), b"not text", 0o644)  # fails mid-write
    assert path.read_text() == "live blue\n" and sorted(p.name for p in tmp_path.iterdir()) == ["live-color.map"]

"""The phoenix.deploy.deploy_plan filter: what a deploy or rollback does to
an environment, and when it refuses."""

from __future__ import annotations

import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.phoenix.deploy.plugins.filter.deploy_plan import deploy_plan, step_weights

COLORS = {"blue": ["blue1", "blue2"], "green": ["green1", "green2"]}


def state(live="blue", blue="v1.1.0", green="v1.0.0", **extra):
    running = {"blue1": blue, "blue2": blue, "green1": green, "green2": green}
    return {"live": live, "colors": COLORS, "running": running, "live_history": ["v1.0.0", "v1.1.0"],
            "bad_releases": [], "contract_point": "", **extra}


def assert_refused(plan: dict, reason: str) -> None:
    """A refusal is data: the plan holds only the reason."""
    assert list(plan) == ["refused"], plan
    assert re.search(reason, plan["refused"]), plan["refused"]


def canary(release="v1.2.0", **extra):
    return {"action": "deploy", "release": release, "strategy": "canary", "canary_hosts": 1,
            "canary_steps": [10, 25, 50], **extra}


def test_a_canary_goes_to_the_first_live_hosts_then_the_rest():
    plan = deploy_plan(canary(), state())
    assert (plan["method"], plan["canary"], plan["rest"]) == ("canary", ["blue1"], ["blue2"])
    assert plan["current_release"] == "v1.1.0" and plan["target_color"] == "blue"
    assert [s["percent"] for s in plan["steps"]] == [10, 25, 50]


@pytest.mark.parametrize("percent,canaries,baselines", [(10, 1, 1), (25, 1, 3), (50, 2, 4), (5, 1, 40), (90, 3, 1)])
def test_step_weights_give_the_canary_its_share(percent, canaries, baselines):
    w = step_weights(percent, canaries, baselines)
    share = canaries * w["canary_weight"] / (canaries * w["canary_weight"] + baselines * w["baseline_weight"])
    assert abs(share - percent / 100) < 0.02
    assert 1 <= w["canary_weight"] <= 256 and 1 <= w["baseline_weight"] <= 256


def test_a_release_every_live_host_runs_is_nothing_to_do():
    assert deploy_plan(canary("v1.1.0"), state())["method"] == "noop"


def test_a_host_out_of_service_gets_the_live_release_again_and_goes_back_into_traffic():
    plan = deploy_plan(canary("v1.1.0"), state(out_of_service=["blue2"]))
    assert plan["method"] == "canary" and "blue2" in plan["canary"] + plan["rest"]
    assert plan["running"]["blue2"] == "" and plan["current_release"] == "v1.1.0"


def test_an_idle_host_out_of_service_is_no_warm_color_to_switch_back_to():
    plan = deploy_plan({"action": "rollback", "strategy": "bluegreen"}, state(out_of_service=["green1"]))
    assert plan["method"] == "bluegreen" and plan["idle"] == ["green1", "green2"]


def test_a_bluegreen_deploy_brings_the_color_it_leaves_back_into_line():
    plan = deploy_plan(canary(strategy="bluegreen"), state(out_of_service=["blue2"]))
    assert (plan["method"], plan["idle"], plan["target_color"]) == ("bluegreen", ["green1", "green2"], "green")
    assert (plan["mend"], plan["mend_release"]) == (["blue2"], "v1.1.0")


def test_a_canary_deploy_brings_the_idle_color_back_into_line_even_when_nothing_ships():
    plan = deploy_plan(canary("v1.1.0"), state(out_of_service=["green2"]))
    assert (plan["method"], plan["mend"], plan["mend_release"]) == ("noop", ["green2"], "v1.0.0")
    shipping = deploy_plan(canary(), state(out_of_service=["green2"]))
    assert (shipping["method"], shipping["mend"], shipping["mend_release"]) == ("canary", ["green2"], "v1.0.0")


@pytest.mark.parametrize("extra", [
    {"out_of_service": ["green1", "green2"]},  # no host of the color in service: no release to line up with
    {"out_of_service": ["green2"], "silent": ["green2"]},  # a host that does not answer cannot be given it
    {},
])
def test_nothing_to_mend(extra):
    plan = deploy_plan(canary(), state(**extra))
    assert (plan["mend"], plan["mend_release"]) == ([], "")


def test_a_switch_back_mends_nothing():
    plan = deploy_plan({"action": "rollback", "strategy": "bluegreen"}, state(out_of_service=["blue2"]))
    assert (plan["method"], plan["mend"]) == ("switch", [])


def test_bluegreen_goes_to_the_idle_color():
    plan = deploy_plan(canary(strategy="bluegreen"), state(live="green"))
    assert (plan["method"], plan["target_color"], plan["idle"]) == ("bluegreen", "blue", ["blue1", "blue2"])


def test_bluegreen_of_the_live_release_is_nothing_to_do_unless_it_only_stages_the_idle_color():
    s = state(blue="v1.2.0", green="v1.0.0")
    assert deploy_plan(canary("v1.2.0", strategy="bluegreen"), s)["method"] == "noop"
    staged = deploy_plan(canary("v1.2.0", strategy="bluegreen", switch=False), s)
    assert (staged["method"], staged["idle"], staged["switch"], staged["target_color"]) == (
        "bluegreen", ["green1", "green2"], False, "blue")
    both = state(blue="v1.2.0", green="v1.2.0")
    assert deploy_plan(canary("v1.2.0", strategy="bluegreen", switch=False), both)["method"] == "noop"


def test_rollback_switches_back_when_the_idle_color_runs_the_previous_good_release():
    plan = deploy_plan({"action": "rollback", "strategy": "canary"}, state(blue="v1.1.0", green="v1.0.0"))
    assert (plan["method"], plan["release"], plan["target_color"]) == ("switch", "v1.0.0", "green")


def test_rollback_replays_the_previous_good_release_otherwise():
    s = state(blue="v1.2.0", green="v1.2.0", live_history=["v1.0.0", "v1.1.0", "v1.2.0"],
              bad_releases=["v1.1.1-bad"])
    plan = deploy_plan({"action": "rollback", "strategy": "bluegreen"}, s)
    assert (plan["method"], plan["release"], plan["target_color"]) == ("bluegreen", "v1.1.0", "green")


def test_rollback_never_picks_a_bad_release_and_refuses_one_named():
    s = state(blue="v1.2.0", live_history=["v1.0.0", "v1.1.1-bad", "v1.2.0"], bad_releases=["v1.1.1-bad"])
    assert deploy_plan({"action": "rollback", "strategy": "bluegreen"}, s)["release"] == "v1.0.0"
    assert_refused(deploy_plan({"action": "rollback", "release": "v1.1.1-bad", "strategy": "bluegreen"}, s),
                   "v1.1.1-bad is marked bad in the ledger")
    allowed = deploy_plan({"action": "rollback", "release": "v1.1.1-bad", "strategy": "bluegreen", "allow_bad": True}, s)
    assert allowed["release"] == "v1.1.1-bad"


def test_nothing_goes_below_the_contract_point():
    s = state(blue="v1.2.0", green="v1.2.0", contract_point="v1.2.0", live_history=["v1.1.0", "v1.2.0"])
    assert_refused(deploy_plan({"action": "rollback", "strategy": "bluegreen"}, s),
                   "refusing to go to v1.1.0: the schema was contracted for v1.2.0")


def test_a_rollback_with_nothing_older_says_so():
    assert_refused(deploy_plan({"action": "rollback", "strategy": "canary"}, state(blue="v1.0.0", live_history=["v1.0.0"])),
                   "no good release that was live before v1.0.0")


def test_a_rollback_after_a_downgrade_goes_back_up():
    s = state(blue="v1.1.0", green="v1.2.0", live_history=["v1.2.0", "v1.1.0"])
    plan = deploy_plan({"action": "rollback", "strategy": "bluegreen"}, s)
    assert (plan["method"], plan["release"], plan["target_color"]) == ("switch", "v1.2.0", "green")


@pytest.mark.parametrize("request_,message", [
    (canary(strategy="rolling"), "strategy 'rolling' does not exist"),
    (canary(canary_hosts=2), "a canary of 2 host"),
    (canary(canary_steps=[50, 10]), "rising percentages"),
    (canary(canary_steps=[10, 100]), "rising percentages"),
    (canary(release=""), "no release given"),
    (canary(canary_steps="[10,50]"), "must be a list of whole percentages"),
])
def test_bad_requests_are_refused_with_the_reason(request_, message):
    assert_refused(deploy_plan(request_, state()), message)


def test_the_oldest_release_is_in_release_order():
    from ansible_collections.phoenix.deploy.plugins.filter.oldest_release import oldest_release

    assert oldest_release(["v1.10.0", "v1.9.2", ""]) == "v1.9.2"
    assert oldest_release(["v1.2.0", "v1.2.0-rc1"]) == "v1.2.0-rc1"
    assert oldest_release(["", ""]) == ""
    with pytest.raises(AnsibleFilterError, match="'latest' is not a release tag"):
        oldest_release(["latest"])

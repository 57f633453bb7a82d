# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: deploy_plan
short_description: Decide what a deploy or rollback will do to an environment
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
description:
  - Takes what was asked and what the environment is (live color, release on each app host, what the
    ledger says), and returns the plan the pipeline carries out, or a refusal as data (C(refused), the
    reason it must not run), for the pipeline to record and say as it is.
  - A V(canary) deploy gives the release to the first O(_input.canary_hosts) hosts of the live color, then
    the rest. HAProxy weights for each step give the canary that share of the live color's traffic.
  - A V(bluegreen) deploy gives the release to the idle color, then switches to it (unless O(_input.switch) is
    false).
  - A deploy of the release every live host already runs does nothing (V(noop)), except a blue-green deploy
    that does not switch.
  - A host out of service (in maintenance in HAProxy, as a run that lost it leaves it) counts as running
    nothing, so the next deploy gives it the release again and puts it back into traffic.
  - A host out of service in the color the run does not ship to (the live color a blue-green deploy leaves,
    or the idle color beside a canary) is brought back into line with its color. C(mend) lists it, and
    C(mend_release) is the release the rest of that color runs. A color with no host in service has no
    release to line up with, and its hosts wait for a deploy to that color.
  - A rollback goes to O(_input.release), or by default to the good release that was live before the live
    one (the ledger's live history, where each rollback pops one release).
    It switches back when the idle color runs that release, and otherwise replays it with the strategy.
    It refuses a release marked bad (unless O(_input.allow_bad)) and one older than the schema's contract
    point.
positional: _input, state
options:
  _input:
    description: What was asked.
    type: dict
    required: true
    suboptions:
      action:
        description: V(deploy) or V(rollback).
        type: str
      release:
        description: The release to go to; for a rollback, empty means the previous good release.
        type: str
      strategy:
        description: V(canary) or V(bluegreen).
        type: str
      canary_hosts:
        description: How many hosts of the live color get the release first.
        type: int
      canary_steps:
        description: Percentages of the live color's traffic the canary gets, one judgement each.
        type: list
        elements: int
      allow_bad:
        description: Let a rollback go to a release the ledger marks bad.
        type: bool
      switch:
        description:
          - Blue-green only. V(false) gives the idle color the release and leaves the live color as it is
            (to bring the warm color up to date, say before a contract migration).
        type: bool
  state:
    description:
      - The environment, with keys C(live) (the live color), C(colors) (color to its hosts), C(running)
        (host to the release it runs, empty for none), C(live_history) and C(bad_releases) (from the
        ledger), C(contract_point) (the oldest release the schema still serves, empty for any) and
        C(out_of_service) (app hosts in maintenance in HAProxy; optional).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Plan the deploy
  ansible.builtin.set_fact:
    plan: "{{ {'action': 'deploy', 'release': 'v1.2.0', 'strategy': 'canary', 'canary_hosts': 1,
              'canary_steps': [10, 25, 50]} | phoenix.deploy.deploy_plan(environment) }}"
"""

RETURN = r"""
_value:
  description:
    - The plan, with keys C(action), C(release), C(strategy), C(method) (V(noop), V(canary), V(bluegreen) or
      V(switch)), C(switch) (whether the live color changes), C(live), C(target_color), C(current_release), C(canary), C(baseline), C(rest), C(idle)
      (host lists), C(steps) (percent with the canary's and baseline's weights), C(running), C(mend) (hosts out of service in the
      color not shipped to, to bring back into line) and C(mend_release) (the release that color runs).
    - A refusal has the one key C(refused), the reason.
  type: dict
"""

from ansible_collections.phoenix.deploy.plugins.module_utils.releases import release_key

STRATEGIES = ("canary", "bluegreen")
MAX_WEIGHT = 256


def step_weights(percent: int, canaries: int, baselines: int) -> dict:
    """HAProxy weights giving `canaries` servers `percent` of the traffic
    beside `baselines` servers, kept within HAProxy's 1-256."""
    canary, baseline = percent * baselines, (100 - percent) * canaries
    scale = min(1.0, MAX_WEIGHT / max(canary, baseline))
    return {"percent": percent, "canary_weight": max(1, round(canary * scale)),
            "baseline_weight": max(1, round(baseline * scale))}


def _newest(releases) -> str:
    releases = [r for r in releases if r]
    return max(releases, key=release_key) if releases else ""


class Refusal(Exception):
    """Why a plan must not run."""


def _fail(message: str):
    raise Refusal(message)


def deploy_plan(request: dict, state: dict) -> dict:
    """The plan, or {"refused": why}."""
    try:
        return _plan(request, state)
    except Refusal as refusal:
        return {"refused": str(refusal)}


def _plan(request: dict, state: dict) -> dict:
    action, strategy = request.get("action", "deploy"), request.get("strategy", "canary")
    if action not in ("deploy", "rollback"):
        _fail(f"action '{action}' does not exist: deploy or rollback")
    if strategy not in STRATEGIES:
        _fail(f"strategy '{strategy}' does not exist: use one of {', '.join(STRATEGIES)}")
    live, colors = state["live"], state["colors"]
    out = state.get("out_of_service") or []
    running = {host: "" if host in out else release for host, release in state["running"].items()}
    if live not in colors:
        _fail(f"the live color '{live}' has no hosts in this inventory")
    idle_color = next((c for c in sorted(colors) if c != live), "")
    live_hosts, idle_hosts = list(colors[live]), list(colors.get(idle_color, []))
    current = _newest(running.get(h, "") for h in live_hosts)

    release = request.get("release") or ""
    if action == "rollback":
        release = release or _previous_good(current, state)
        if release in state.get("bad_releases", []) and not request.get("allow_bad"):
            _fail(f"{release} is marked bad in the ledger; a rollback never goes there unless allow_bad is set")
    if not release:
        _fail("no release given")
    point = state.get("contract_point") or ""
    if point and release_key(release)[:3] < release_key(point)[:3]:
        _fail(f"refusing to go to {release}: the schema was contracted for {point}, "
              f"and releases before {point} need the schema it removed")

    switch = bool(request.get("switch", True))
    plan = {"action": action, "release": release, "strategy": strategy, "live": live, "current_release": current,
            "target_color": live, "switch": False, "canary": [], "baseline": [], "rest": [], "idle": [], "steps": [],
            "running": {h: running.get(h, "") for h in live_hosts + idle_hosts}, "mend": [], "mend_release": ""}
    if action == "rollback" and idle_hosts and all(running.get(h) == release for h in idle_hosts):
        return {**plan, "method": "switch", "target_color": idle_color, "switch": True}
    live_runs_it = all(running.get(h) == release for h in live_hosts)
    if strategy == "bluegreen":
        if not idle_hosts:
            _fail(f"blue-green needs hosts in the idle color; only {live} has hosts")
        plan.update(_mend(live_hosts, out, running, state))
        if (live_runs_it and switch) or (not switch and all(running.get(h) == release for h in idle_hosts)):
            return {**plan, "method": "noop"}
        return {**plan, "method": "bluegreen", "target_color": idle_color if switch else live, "idle": idle_hosts,
                "switch": switch}
    plan.update(_mend(idle_hosts, out, running, state))
    if live_runs_it:
        return {**plan, "method": "noop"}
    count = int(request.get("canary_hosts", 1))
    if not 1 <= count < len(live_hosts):
        _fail(f"a canary of {count} host(s) needs more hosts in the live color {live}, which has "
              f"{len(live_hosts)}: use strategy bluegreen, or add hosts")
    steps = request.get("canary_steps", [])
    if isinstance(steps, str) or not all(isinstance(s, int) and not isinstance(s, bool) for s in steps):
        _fail(f"canary steps (deploy_canary_steps) must be a list of whole percentages, got {steps!r}")
    if not steps or any(not 0 < s < 100 for s in steps) or steps != sorted(steps):
        _fail(f"canary steps must be rising percentages between 0 and 100, got {steps}")
    canary, baseline = live_hosts[:count], live_hosts[count:]
    return {**plan, "method": "canary", "canary": canary, "baseline": baseline, "rest": baseline,
            "steps": [step_weights(s, len(canary), len(baseline)) for s in steps]}


def _mend(hosts: list, out: list, running: dict, state: dict) -> dict:
    """The hosts of a color the run does not ship to that are out of service
    but answer, and the release the color's hosts in service run."""
    release = _newest(running.get(h, "") for h in hosts)
    silent = state.get("silent") or []
    mend = [h for h in hosts if h in out and h not in silent] if release else []
    return {"mend": mend, "mend_release": release if mend else ""}


def _previous_good(current: str, state: dict) -> str:
    """The release that was live before the live one (the ledger's live
    history, as a stack), skipping bad ones."""
    stack = [r for r in state.get("live_history", []) if r not in state.get("bad_releases", [])]
    while stack and stack[-1] == current:
        stack.pop()
    if not stack:
        _fail(f"the ledger has no good release that was live before {current or 'the live one'}; "
              "name one with -e release=<tag>")
    return stack[-1]


class FilterModule:
    def filters(self):
        return {"deploy_plan": deploy_plan}

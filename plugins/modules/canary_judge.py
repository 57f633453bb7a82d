#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: canary_judge
short_description: Judge a canary against its baseline from HAProxy statistics
description:
  - Watches the per-server statistics of one HAProxy backend through the admin socket for O(window)
    seconds, and compares the canary servers with the baseline servers serving beside them.
  - Decides V(pass), V(fail) or V(inconclusive). With fewer than O(min_requests) canary requests in the
    window the verdict is V(inconclusive). A canary error rate (5xx answers and failed responses) above
    O(max_error_rate) fails. A canary whose median latency is more than O(max_latency_ratio) times the
    baseline's, with a one-sided Mann-Whitney U test significant at O(alpha), fails. Medians rather than means, as a
    few stalled requests on a busy host move a mean, not a median, and are not a slower release.
  - Latency samples come from probes of O(canary_urls) and O(baseline_urls), when given, which the module
    makes itself while it watches, O(probes) per URL spread over the window (one value per answered request).
    Each URL first gets O(probe_warmup) probes whose answers are not counted (a canary has just restarted;
    its first requests pay for that), and the rounds of probes alternate which group is asked first, so
    that neither group always gets the first request after a pause.
    Otherwise they come from O(canary_samples_ms) and O(baseline_samples_ms) when those are given (for
    example from M(phoenix.deploy.health_check)), and otherwise from HAProxy's per-server average response
    time (C(rtime)), read every O(sample_interval) seconds while a server takes requests.
  - Median latencies under 1 ms count as 1 ms when they are compared (HAProxy reports whole milliseconds).
  - The module only reads; it never fails because of its verdict. The caller decides what a V(fail) means.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
options:
  socket:
    description: Path of HAProxy's admin socket.
    type: path
    default: /run/haproxy/admin.sock
  backend:
    description: The backend the canary and baseline servers belong to.
    type: str
    required: true
  canary:
    description: Names of the canary servers in O(backend).
    type: list
    elements: str
    required: true
  baseline:
    description: Names of the baseline servers in O(backend).
    type: list
    elements: str
    required: true
  window:
    description: Seconds to watch before judging.
    type: float
    default: 30
  max_window:
    description:
      - Seconds the window may grow to while the canary has served fewer than O(min_requests) requests
        (traffic is thin, or the load balancer's clients slow). The verdict then waits for enough
        requests, rather than being V(inconclusive) for want of them.
      - It grows only while every canary server is up in HAProxy. One that is down or in maintenance
        gets no traffic to wait for, and is judged at once.
      - Less than O(window) (the default, 0) means the window never grows.
    type: float
    default: 0
  sample_interval:
    description: Seconds between two readings of the statistics.
    type: float
    default: 1
  min_requests:
    description: Canary requests needed in the window for a verdict other than V(inconclusive).
    type: int
    default: 50
  max_error_rate:
    description: Highest share (0 to 1) of canary requests that may fail.
    type: float
    default: 0.01
  max_latency_ratio:
    description: Highest ratio of canary to baseline median latency.
    type: float
    default: 1.5
  alpha:
    description: Significance level of the latency test.
    type: float
    default: 0.05
  canary_samples_ms:
    description: Per-request latencies of the canary from probes, in milliseconds.
    type: list
    elements: float
    default: []
  baseline_samples_ms:
    description: Per-request latencies of the baseline from probes, in milliseconds.
    type: list
    elements: float
    default: []
  canary_urls:
    description: URLs that reach the canary servers directly, probed during the window for latency samples.
    type: list
    elements: str
    default: []
  baseline_urls:
    description: URLs that reach the baseline servers directly, probed during the window for latency samples.
    type: list
    elements: str
    default: []
  probes:
    description: Probes of each of O(canary_urls) and O(baseline_urls) during the window.
    type: int
    default: 20
  probe_warmup:
    description: Probes of each URL before the counted ones, whose answers are not counted.
    type: int
    default: 3
  probe_timeout:
    description: Seconds a probe waits for its answer; a probe that gets none gives no sample.
    type: float
    default: 5
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: The module only reads statistics; it runs the same in check mode.
seealso:
  - module: phoenix.deploy.health_check
"""

EXAMPLES = r"""
- name: Judge the canary for 60 seconds
  phoenix.deploy.canary_judge:
    backend: blue
    canary: [blue1]
    baseline: [blue2, blue3]
    window: 60
    min_requests: "{{ canary_min_requests }}"
    max_error_rate: "{{ canary_max_error_rate }}"
    max_latency_ratio: "{{ canary_max_latency_ratio }}"
  register: judgement

- name: Roll back a failed canary
  ansible.builtin.include_tasks: rollback_canary.yml
  when: judgement.verdict == 'fail'
"""

RETURN = r"""
verdict:
  description: V(pass), V(fail) or V(inconclusive).
  returned: always
  type: str
  sample: fail
reasons:
  description: Why the verdict is what it is, one sentence per finding.
  returned: always
  type: list
  elements: str
  sample: ["canary error rate 0.104 is above 0.01 (52 of 500 requests)"]
evidence:
  description: The numbers the verdict was decided on.
  returned: always
  type: dict
  contains:
    window:
      description: Seconds watched.
      type: float
    canary:
      description: Canary requests, errors, error rate, responses by class and latency summary.
      type: dict
    baseline:
      description: The same for the baseline.
      type: dict
    latency_source:
      description: V(probes) or V(haproxy_rtime).
      type: str
    latency_ratio:
      description: Canary median latency over baseline median latency, when both exist.
      type: float
    mann_whitney:
      description: U, z, one-sided p-value and effect size (probability a canary sample is the slower).
      type: dict
    samples_ms:
      description: The latency samples compared, in milliseconds, by group (V(canary), V(baseline)).
      type: dict
"""

import threading
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.haproxy import (
    RESPONSE_FIELDS,
    HAProxyError,
    server_stats,
    show_stat,
)
from ansible_collections.phoenix.deploy.plugins.module_utils.probes import timed_get
from ansible_collections.phoenix.deploy.plugins.module_utils.stats import mann_whitney_greater, summarize

COUNTERS = (*RESPONSE_FIELDS, "requests", "eresp", "econ")
# HAProxy's status of a server that takes traffic ("UP 1/2" is going down
# but not yet down; "no check" is a server without health checks).
SERVING = ("UP", "no check")
# HAProxy reports whole milliseconds: a fast baseline averages 0 ms. Latencies
# under this floor count as the floor when comparing medians.
LATENCY_FLOOR_MS = 1.0


def read(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return server_stats(show_stat(params["socket"]), params["backend"])


def group_delta(first: dict, last: dict, servers: list[str]) -> dict[str, Any]:
    totals = {name: sum(last[s][name] - first[s][name] for s in servers) for name in COUNTERS}
    failed = totals["hrsp_5xx"] + totals["eresp"] + totals["econ"]
    totals["errors"] = failed
    totals["error_rate"] = failed / totals["requests"] if totals["requests"] else 0.0
    return totals


def watch(params: dict[str, Any]) -> tuple[dict, dict, dict[str, list[float]], float]:
    """Read the statistics every sample_interval for window seconds, and on
    up to max_window while the canary, up, has fewer than min_requests; collect
    each group's rtime readings from servers that took requests meanwhile.
    Returns the first and last readings, the rtimes and the seconds watched."""
    groups = {"canary": params["canary"], "baseline": params["baseline"]}
    first = previous = read(params)
    rtimes: dict[str, list[float]] = {"canary": [], "baseline": []}
    start = time.monotonic()
    deadline, longest = start + params["window"], start + max(params["window"], params["max_window"])
    while True:
        time.sleep(max(0.0, min(params["sample_interval"], deadline - time.monotonic())))
        current = read(params)
        for group, servers in groups.items():
            for server in servers:
                if current[server]["requests"] > previous[server]["requests"]:
                    rtimes[group].append(float(current[server]["rtime"]))
        previous = current
        now = time.monotonic()
        if now >= deadline:
            if (now < longest and group_delta(first, current, params["canary"])["requests"] < params["min_requests"]
                    and all(current[server]["status"].startswith(SERVING) for server in params["canary"])):
                deadline = min(now + params["sample_interval"], longest)
                continue
            return first, current, rtimes, round(now - start, 1)


def probe_during(params: dict[str, Any], samples: dict[str, list[float]]) -> threading.Thread:
    """Start probing, in a thread: each canary and baseline URL
    `probe_warmup` times, not counted, then `probes` times, in rounds spread
    evenly over what is left of the window; each answered counted probe adds
    its latency to its group's samples. Odd rounds ask the groups in the
    reverse order: the first request after the pause between two rounds can
    be the slower (a host that has gone idle), and it must not always be the
    canary's."""
    urls = [(group, url) for group in ("canary", "baseline") for url in params[f"{group}_urls"]]
    end = time.monotonic() + params["window"]

    def run() -> None:
        # probe_warmup rounds over every URL, not counted.
        for url in [url for _group, url in urls] * params["probe_warmup"]:
            timed_get(url, params["probe_timeout"])
        start = time.monotonic()
        interval = max(0.0, end - start) / max(params["probes"], 1)
        for number in range(params["probes"]):
            for group, url in (urls if number % 2 == 0 else urls[::-1]):
                answer = timed_get(url, params["probe_timeout"])
                if answer.latency_ms is not None:
                    samples[group].append(round(answer.latency_ms, 3))
            time.sleep(max(0.0, start + (number + 1) * interval - time.monotonic()))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def decide(params: dict[str, Any], canary: dict, baseline: dict, samples: dict[str, list[float]], source: str):
    reasons: list[str] = []
    evidence: dict[str, Any] = {"latency_source": source}
    canary["latency_ms"] = summarize(samples["canary"])
    baseline["latency_ms"] = summarize(samples["baseline"])

    if canary["requests"] < params["min_requests"]:
        reasons.append(f"only {canary['requests']} canary requests in the window, {params['min_requests']} needed")
        return "inconclusive", reasons, evidence

    verdict = "pass"
    if canary["error_rate"] > params["max_error_rate"]:
        verdict = "fail"
        reasons.append(
            f"canary error rate {canary['error_rate']:.3f} is above {params['max_error_rate']} "
            f"({canary['errors']} of {canary['requests']} requests)"
        )

    canary_median, baseline_median = canary["latency_ms"]["p50"], baseline["latency_ms"]["p50"]
    if canary_median is not None and baseline_median is not None:
        ratio = max(canary_median, LATENCY_FLOOR_MS) / max(baseline_median, LATENCY_FLOOR_MS)
        test = mann_whitney_greater(samples["canary"], samples["baseline"])
        evidence.update(latency_ratio=round(ratio, 3), mann_whitney=test)
        if ratio > params["max_latency_ratio"] and test["p_value"] < params["alpha"]:
            verdict = "fail"
            reasons.append(
                f"canary is slower: median {canary_median:.1f} ms against {baseline_median:.1f} ms "
                f"(ratio {ratio:.2f} > {params['max_latency_ratio']}, Mann-Whitney p={test['p_value']:.4f})"
            )
        elif ratio > params["max_latency_ratio"]:
            reasons.append(
                f"canary latency ratio {ratio:.2f} is above {params['max_latency_ratio']} "
                f"but not significant (p={test['p_value']:.3f}); not held against it"
            )
    else:
        reasons.append("no latency samples for both groups; latency not judged")

    if verdict == "pass":
        reasons.insert(0, f"canary error rate {canary['error_rate']:.3f} within {params['max_error_rate']}")
    return verdict, reasons, evidence


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "socket": {"type": "path", "default": "/run/haproxy/admin.sock"},
            "backend": {"type": "str", "required": True},
            "canary": {"type": "list", "elements": "str", "required": True},
            "baseline": {"type": "list", "elements": "str", "required": True},
            "window": {"type": "float", "default": 30},
            "max_window": {"type": "float", "default": 0},
            "sample_interval": {"type": "float", "default": 1},
            "min_requests": {"type": "int", "default": 50},
            "max_error_rate": {"type": "float", "default": 0.01},
            "max_latency_ratio": {"type": "float", "default": 1.5},
            "alpha": {"type": "float", "default": 0.05},
            "canary_samples_ms": {"type": "list", "elements": "float", "default": []},
            "baseline_samples_ms": {"type": "list", "elements": "float", "default": []},
            "canary_urls": {"type": "list", "elements": "str", "default": []},
            "baseline_urls": {"type": "list", "elements": "str", "default": []},
            "probes": {"type": "int", "default": 20},
            "probe_warmup": {"type": "int", "default": 3},
            "probe_timeout": {"type": "float", "default": 5},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not params["canary"] or not params["baseline"]:
        module.fail_json(msg="canary and baseline must each name at least one server")
    if set(params["canary"]) & set(params["baseline"]):
        module.fail_json(msg=f"servers cannot be canary and baseline at once: {sorted(set(params['canary']) & set(params['baseline']))}")
    if params["window"] <= 0 or params["sample_interval"] <= 0:
        module.fail_json(msg="window and sample_interval must be positive")
    if bool(params["canary_urls"]) != bool(params["baseline_urls"]) or params["probes"] < 1 or params["probe_warmup"] < 0:
        module.fail_json(msg="probes need canary_urls and baseline_urls both, probes of at least 1 and probe_warmup of at least 0")

    try:
        servers = read(params)
    except HAProxyError as error:
        module.fail_json(msg=str(error))
    unknown = [s for s in params["canary"] + params["baseline"] if s not in servers]
    if unknown:
        module.fail_json(msg=f"backend {params['backend']} has no server {', '.join(unknown)} (it has: {', '.join(sorted(servers)) or 'none'})")

    probed: dict[str, list[float]] = {"canary": [], "baseline": []}
    prober = probe_during(params, probed) if params["canary_urls"] else None
    try:
        first, last, rtimes, watched = watch(params)
    except HAProxyError as error:
        module.fail_json(msg=str(error))
    if prober:
        prober.join(timeout=params["probe_timeout"] * 2)

    canary = group_delta(first, last, params["canary"])
    baseline = group_delta(first, last, params["baseline"])
    if prober:
        samples, source = {group: list(values) for group, values in probed.items()}, "probes"
    elif params["canary_samples_ms"] and params["baseline_samples_ms"]:
        samples, source = {"canary": params["canary_samples_ms"], "baseline": params["baseline_samples_ms"]}, "probes"
    else:
        samples, source = rtimes, "haproxy_rtime"
    verdict, reasons, evidence = decide(params, canary, baseline, samples, source)
    evidence.update(window=watched, canary=canary, baseline=baseline, samples_ms=samples)
    module.exit_json(changed=False, verdict=verdict, reasons=reasons, evidence=evidence)


if __name__ == "__main__":
    main()

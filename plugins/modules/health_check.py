#!/usr/bin/python
# Copyright: (c) 2026, phoenix.deploy maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: health_check
short_description: HTTP health and smoke probes with latency statistics
description:
  - Sends O(probes) requests to each of O(urls), through the load balancer or straight to a server, and
    judges each answer by its status, its body and fields of its JSON.
  - Probes in rounds until every URL reaches O(min_success_rate) in one round, or until O(deadline)
    seconds have passed; then fails with a message that says which URL failed and how.
  - Returns the success rate, latency percentiles and failure reasons of each URL from the last round, and
    the latency samples, which the canary judgement can compare.
version_added: 0.1.0
author:
  - Phoenix Deploy Maintainers (@phoenix-deploy)
options:
  urls:
    description: URLs to probe.
    type: list
    elements: str
    required: true
  probes:
    description: Requests per URL in each round.
    type: int
    default: 10
  interval:
    description: Seconds between two requests to the same URL.
    type: float
    default: 0.1
  timeout:
    description: Seconds one request may take before it counts as failed.
    type: float
    default: 5
  expect_status:
    description: HTTP statuses that count as success.
    type: list
    elements: int
    default: [200]
  expect_body:
    description: A regular expression the body must match.
    type: str
  expect_json:
    description:
      - Fields the JSON body must have, by dotted path, with their expected values.
      - 'For example C({"version": "v1.1.0", "checks.database": "ok"}).'
    type: dict
  headers:
    description: Request headers, for example a C(Host) header when probing a server directly.
    type: dict
    default: {}
  min_success_rate:
    description: Share of probes (0 to 1) that must succeed for a URL to count as healthy.
    type: float
    default: 1.0
  deadline:
    description: Seconds to keep probing in rounds until healthy. V(0) probes one round only.
    type: float
    default: 60
  validate_certs:
    description: Whether to verify TLS certificates.
    type: bool
    default: true
extends_documentation_fragment:
  - phoenix.deploy.attributes
attributes:
  check_mode:
    support: full
    description: Probing only reads; it runs the same in check mode.
seealso:
  - module: phoenix.deploy.canary_judge
"""

EXAMPLES = r"""
- name: The new release answers on every blue server, with the right version
  phoenix.deploy.health_check:
    urls: "{{ groups['blue'] | map('regex_replace', '^(.*)$', 'http://\\1:8000/version') | list }}"
    expect_json:
      version: "{{ release }}"
    probes: 5
    deadline: 60
  delegate_to: localhost

- name: Smoke test through the load balancer
  phoenix.deploy.health_check:
    urls: [http://127.0.0.1:8080/healthz]
    probes: 50
    interval: 0.02
    min_success_rate: 0.99
    deadline: 0
  register: smoke
"""

RETURN = r"""
healthy:
  description: Whether every URL reached O(min_success_rate) in the last round.
  returned: always
  type: bool
rounds:
  description: Rounds of probes sent.
  returned: always
  type: int
elapsed:
  description: Seconds from the first probe to the verdict.
  returned: always
  type: float
urls:
  description: Per URL, what the last round saw.
  returned: always
  type: dict
  sample:
    "http://10.0.0.5:8000/healthz":
      probes: 10
      succeeded: 10
      success_rate: 1.0
      latency_ms: {count: 10, mean: 4.1, p50: 3.9, p95: 6.0, max: 6.2}
      failures: []
      samples_ms: [3.9, 4.0]
  contains:
    success_rate:
      description: Share of this round's probes that succeeded.
      type: float
    latency_ms:
      description: Count, mean, p50, p95 and max latency of the probes that got an answer, in milliseconds.
      type: dict
    failures:
      description: Why probes failed, with how many failed that way, most common first.
      type: list
      elements: dict
    samples_ms:
      description: Latency of each answered probe, in milliseconds.
      type: list
      elements: float
"""

import json
import re
import time
from collections import Counter
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.phoenix.deploy.plugins.module_utils.probes import timed_get
from ansible_collections.phoenix.deploy.plugins.module_utils.stats import summarize


MISSING = object()


def json_field(document: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(document, dict) and part in document:
            document = document[part]
        else:
            return MISSING
    return document


def judge(status: int, body: bytes, params: dict[str, Any]) -> str | None:
    """None when the answer is what was expected, else why not."""
    if status not in params["expect_status"]:
        return f"status {status} (expected {', '.join(map(str, params['expect_status']))})"
    text = body.decode("utf-8", errors="replace")
    if params["expect_body"] and not re.search(params["expect_body"], text):
        return f"body does not match {params['expect_body']!r}"
    if params["expect_json"]:
        try:
            document = json.loads(text)
        except ValueError:
            return "body is not JSON"
        for path, expected in params["expect_json"].items():
            actual = json_field(document, path)
            if actual is MISSING:
                return f"JSON has no field {path!r}"
            if actual != expected and str(actual) != str(expected):
                return f"JSON {path}={actual!r} (expected {expected!r})"
    return None


def probe(url: str, params: dict[str, Any]) -> tuple[float | None, str | None]:
    """One request: (latency in ms or None when nothing came back, failure reason or None)."""
    answer = timed_get(url, params["timeout"], params["headers"], params["validate_certs"])
    if answer.latency_ms is None:
        return None, answer.error
    return answer.latency_ms, judge(answer.status, answer.body, params)


def probe_round(params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    samples: dict[str, list[float]] = {url: [] for url in params["urls"]}
    failures: dict[str, Counter] = {url: Counter() for url in params["urls"]}
    for number in range(params["probes"]):
        for url in params["urls"]:
            latency, failure = probe(url, params)
            if latency is not None:
                samples[url].append(round(latency, 3))
            if failure:
                failures[url][failure] += 1
        if number + 1 < params["probes"] and params["interval"]:
            time.sleep(params["interval"])
    report = {}
    for url in params["urls"]:
        failed = sum(failures[url].values())
        report[url] = {
            "probes": params["probes"],
            "succeeded": params["probes"] - failed,
            "success_rate": (params["probes"] - failed) / params["probes"],
            "latency_ms": summarize(samples[url]),
            "failures": [{"reason": reason, "count": count} for reason, count in failures[url].most_common()],
            "samples_ms": samples[url],
        }
    return report


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "urls": {"type": "list", "elements": "str", "required": True},
            "probes": {"type": "int", "default": 10},
            "interval": {"type": "float", "default": 0.1},
            "timeout": {"type": "float", "default": 5},
            "expect_status": {"type": "list", "elements": "int", "default": [200]},
            "expect_body": {"type": "str"},
            "expect_json": {"type": "dict"},
            "headers": {"type": "dict", "default": {}},
            "min_success_rate": {"type": "float", "default": 1.0},
            "deadline": {"type": "float", "default": 60},
            "validate_certs": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    if not params["urls"]:
        module.fail_json(msg="urls must name at least one URL")
    if params["probes"] < 1:
        module.fail_json(msg=f"probes must be at least 1, got {params['probes']}")
    if not 0 <= params["min_success_rate"] <= 1:
        module.fail_json(msg=f"min_success_rate must be between 0 and 1, got {params['min_success_rate']}")
    if params["expect_body"]:
        try:
            re.compile(params["expect_body"])
        except re.error as error:
            module.fail_json(msg=f"expect_body is not a regular expression: {error}")

    started = time.monotonic()
    rounds = 0
    while True:
        rounds += 1
        report = probe_round(params)
        unhealthy = {url: r for url, r in report.items() if r["success_rate"] < params["min_success_rate"]}
        elapsed = time.monotonic() - started
        if not unhealthy or elapsed >= params["deadline"]:
            break
        time.sleep(min(1.0, max(0.0, params["deadline"] - elapsed)))

    result = {"changed": False, "healthy": not unhealthy, "rounds": rounds, "elapsed": round(elapsed, 3), "urls": report}
    if unhealthy:
        details = "; ".join(
            f"{url}: {r['succeeded']}/{r['probes']} succeeded, "
            + ", ".join(f"{f['count']}x {f['reason']}" for f in r["failures"][:3])
            for url, r in unhealthy.items()
        )
        module.fail_json(msg=f"unhealthy after {rounds} round(s) in {elapsed:.1f}s: {details}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

"""The locustfile of bench_load.py: one simulated caseworker per locust user.

Each takes a signed-in session of its own (from the plan file bench_load.py writes, named by
BENCH_LOAD_PLAN) and, with think time between steps, opens My work, case pages and the area list,
searches for persons, saves a case's form and adds notes. Every answer other than the one a browser
expects counts as a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

with open(os.environ["BENCH_LOAD_PLAN"]) as plan_file:
    PLAN = json.load(plan_file)
_sessions = itertools.cycle(PLAN["sessions"])
THINK = PLAN.get("think", [5, 15])


class Caseworker(HttpUser):
    wait_time = between(*THINK)

    def on_start(self) -> None:
        session = next(_sessions)
        self.client.headers["Cookie"] = session["cookie"]
        self.csrf = session["csrf"]
        self.rng = random.Random()

    def _get(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")

    def _case(self) -> int:
        return self.rng.choice(PLAN["cases"])

    @task(3)
    def my_work(self) -> None:
        self._get("/", "My work")

    @task(4)
    def case_page(self) -> None:
        self._get(f"/cases/{self._case()}", "case page")

    @task(2)
    def area_list(self) -> None:
        self._get(f"/areas/{PLAN['area']}", "area list")

    @task(2)
    def search(self) -> None:
        data = {**self.rng.choice(PLAN["searches"]), "csrf_token": self.csrf}
        with self.client.post(
            "/persons/search", data=data, name="person search", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200 or "found" not in response.text:
                response.failure(f"{response.status_code}")

    @task(1)
    def save_form(self) -> None:
        case = self._case()
        path = f"/cases/{case}/forms/{PLAN['form']}"
        with self.client.get(path, name="form page", allow_redirects=False, catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"{page.status_code}")
                return
            version = re.search(r'name="version" value="(\d+)"', page.text)
        data = [*PLAN["fields"], ("version", version.group(1) if version else ""), ("csrf_token", self.csrf)]
        with self.client.post(
            path, data=data, name="save a form", allow_redirects=False, catch_response=True
        ) as response:
            # 303: saved; 409: someone saved the same case since the form was opened, and the page says so
            # (optimistic locking doing its job, not a failure)
            if response.status_code == 409:
                response.success()
            elif response.status_code != 303:
                response.failure(f"{response.status_code}")

    @task(1)
    def add_note(self) -> None:
        data = {"text": "Called the household; agreed to visit again next week.", "csrf_token": self.csrf}
        with self.client.post(
            f"/cases/{self._case()}/notes",
            data=data,
            name="add a note",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 303:
                response.failure(f"{response.status_code}")

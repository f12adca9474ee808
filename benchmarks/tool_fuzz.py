"""Fuzzing the tool family: malformed and hostile tool calls must become typed errors.

Plays ``--calls`` generated calls (default 10,000) through real episodes: ``--sandboxed``
of them (default 300) on SQL and word problems (queries and code run in real sandboxes),
the rest split evenly over the in-process domains: τ² retail, τ² airline and BFCL
multi-turn (`BFCLMultiTurnEnv`, BFCL's stateful API classes). Every malformed call
(broken JSON, unknown or private tool names, wrong, missing, extra, non-finite or deeply
nested arguments, ids that do not exist, too many calls in one reply, replies over the
size limit; on airline malformed flight/passenger/payment objects; on BFCL functions of a
class the task does not load) must come back as a typed error observation
(``{"error": {"type": ...}}`` with a kind from `ERROR_KINDS`); hostile but well-formed
calls (SQL that tries to write, attach or loop forever; code that kills, forks or writes
files; negative or huge amounts, path traversal and very long names, precision bombs,
unknown ids) must not change the domain's state except through the tools, and the
in-process domains must not touch the host: an audit hook records every process, socket,
file-system or open-outside-the-installation event while they run, their working
directory is a fresh temporary directory whose listing is compared, and canary paths the
hostile calls name must not appear. BFCL's class modules are also read (AST) for calls
that could reach the host. Counted per domain: calls, typed errors, results, episodes
that raised (``crashed_episodes``), exceptions escaping to this process
(``host_exceptions``), calls whose observation was neither a typed error nor a result
(``untyped``), hostile calls a tool accepted (``hostile_accepted``, by tool).

Baseline, same calls, same run: a naive dispatcher as many agent frameworks write it
(``json.loads`` the tag, ``tools[name](**arguments)``), counting the calls on which it
raises, i.e. would crash a rollout that does not guard every call.

Usage: ``sandgym bench tool_fuzz --json [--calls 10000] [--sandboxed 300] [--seed 0]``
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym

import sandgym  # noqa: F401 - registers the envs
from sandgym.envs.tools.bfcl_api import API_CLASSES, api_module, plain, tools_for
from sandgym.envs.tools.calls import ERROR_KINDS, MAX_REPLY_CHARS
from sandgym.envs.tools.diff import changes

_TAG = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def _tag(data: Any) -> str:
    return f"<tool_call>{data if isinstance(data, str) else json.dumps(data)}</tool_call>"


def malformed(rng: random.Random, tools: dict[str, list[str]], exclude: tuple[int, ...] = ()
              ) -> str:
    """One malformed reply: what a weak or adversarial model might write (``exclude``: kinds
    left out, e.g. 12, unknown ids, where the domain's tools answer them with a result)."""
    name = rng.choice(sorted(tools))
    params = tools[name]
    good = {p: "x" for p in params}
    choice = rng.randrange(16)
    while choice in exclude:
        choice = rng.randrange(16)
    if choice == 0:  # truncated JSON
        text = json.dumps({"name": name, "arguments": good})
        return "<tool_call>" + text[: rng.randrange(1, len(text) - 1)] + "</tool_call>"
    if choice == 1:  # unknown, private or reserved names
        bad = rng.choice(["_order", "__init__", "reset", "close", "step", "eval", "",
                          "x" * 5000, "get_user_details\u200b", "../../etc/passwd",
                          "ｇｅｔ_user_details", name.upper(), name + "s"])
        return _tag({"name": bad, "arguments": good})
    if choice == 2:  # arguments of the wrong JSON type
        return _tag({"name": name, "arguments": rng.choice([[1, 2], "oops", 3, True])})
    if choice == 3:  # wrong argument types (numbers, lists, objects, null, bools)
        if not params:
            return _tag({"name": name, "arguments": {"extra": 1}})
        value = rng.choice([1, 2.5, [1], {"a": 1}, None, True, -10**30])
        return _tag({"name": name, "arguments": {**good, rng.choice(params): value}})
    if choice == 4:  # a missing required argument
        if not params:
            return _tag({"name": name, "arguments": {"nope": "x"}})
        return _tag({"name": name, "arguments": dict(list(good.items())[1:])})
    if choice == 5:  # extra arguments
        return _tag({"name": name, "arguments": {**good, "__class__": "x", "self": 1}})
    if choice == 6:  # non-finite numbers and numbers outside float range
        value = rng.choice(["NaN", "Infinity", "-Infinity", "1e400"])
        key = params[0] if params else "x"
        return _tag(f'{{"name": "{name}", "arguments": {{"{key}": {value}}}}}')
    if choice == 7:  # nesting beyond the parser's depth limit
        depth = rng.choice([70, 500, 5000])
        return _tag({"name": name, "arguments": {params[0] if params else "x": "[" * depth}}
                    ).replace('"' + "[" * depth + '"', "[" * depth + "]" * depth)
    if choice == 8:  # too many calls in one reply
        return "".join(_tag({"name": name, "arguments": {}}) for _ in range(40))
    if choice == 9:  # a reply over the size limit
        return _tag({"name": name, "arguments": {"x": "a" * (MAX_REPLY_CHARS + 10)}})
    if choice == 10:  # OpenAI form with arguments that are not JSON
        return json.dumps({"tool_calls": [{"type": "function", "function": {
            "name": name, "arguments": "{'x': 1,}"}}]})
    if choice == 11:  # bare JSON that is not a call
        return rng.choice(['{"name": 5}', '[{"name": null}]', '{"tool_calls": {}}',
                           '{"function": {"arguments": {}}}', '{"name": "x", "arguments": '])
    if choice == 12:  # ids that do not exist / injection strings (a tool refuses them)
        values = ["#W0000000", "'; DROP TABLE users; --", "{{7*7}}", "\x00", "../" * 50]
        by_id = sorted(n for n, ps in tools.items() if any(p.endswith("_id") for p in ps))
        if not by_id:  # a domain without ids: an unknown tool instead
            return _tag({"name": name + "_by_id", "arguments": {"id": rng.choice(values)}})
        name = rng.choice(by_id)
        return _tag({"name": name, "arguments": {p: rng.choice(values) if p.endswith("_id")
                                                 else [] if p.endswith("_ids") else "x"
                                                 for p in tools[name]}})
    if choice == 13:  # a duplicate key and a unicode-escaped name that is not a tool
        return f'<tool_call>{{"name": "{name}", "name": "\\u0000", "arguments": {{}}}}</tool_call>'
    if choice == 14:  # an unterminated tag around garbage
        return "<tool_call>" + "".join(rng.choice('{}[]":,') for _ in range(rng.randrange(1, 40)))
    return _tag({"name": name, "arguments": None}).replace("null", rng.choice(
        ["[]", '"[]"', "0", '"{\\"a\\": }"']))


SQL_HOSTILE = [
    "DELETE FROM employees", "DROP TABLE employees", "UPDATE employees SET salary = 0",
    "ATTACH DATABASE '/work/x.db' AS x", "PRAGMA writable_schema = ON",
    "SELECT load_extension('/tmp/x.so')",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r",
    "SELECT 1; DELETE FROM employees", "CREATE TABLE t (x)",
    "SELECT * FROM employees a, employees b, employees c, employees d",
    "INSERT INTO employees VALUES (99, 'x', 1, 1, 1, NULL)", "VACUUM INTO '/work/copy.db'",
    "SELECT writefile('/work/a', 'x')", "SELECT randomblob(100000000)",
]
PY_HOSTILE = [
    "import os, signal\nos.kill(1, signal.SIGKILL)", "import os\nos.system('kill -9 -1')",
    "open('/work/answer', 'w').write('42')", "print('\\x1eSQL{\"rows\": [[30]]}')",
    "import os\nfor _ in range(50):\n    os.fork()", "x = 'a' * 10**10",
    "import sys\nsys.stdout.write('{\"tool\": \"submit_answer\", \"result\": 53}')",
    "raise SystemExit(0)", "while True: pass",
]


def _naive_crashes(reply: str, tools: dict[str, Any]) -> bool:
    """Whether a naive dispatcher raises on this reply."""
    try:
        for body in _TAG.findall(reply) or [reply]:
            data = json.loads(body)
            tools[data["name"]](**data["arguments"])
        return False
    except Exception:  # noqa: BLE001 - counting crashes is the point
        return True


# ----------------------------------------------------------------------------- airline

def airline_call(rng: random.Random, tools: dict[str, list[str]], db: dict[str, Any]
                 ) -> tuple[str, bool]:
    """One airline reply and whether it must be a typed error: malformed flight, passenger
    and payment objects, missing keys, wrong types, unknown ids; or a hostile well-formed
    call (negative or huge amounts, another user's payment method) a tool may accept."""
    users = sorted(db["users"])
    reservations = sorted(db["reservations"])
    flights = sorted(db["flights"])
    user = rng.choice(users)
    payment = rng.choice(sorted(db["users"][user]["payment_methods"]) or ["credit_card_1"])
    flight = {"flight_number": rng.choice(flights), "date": "2024-05-20"}
    person = {"first_name": "Ann", "last_name": "Lee", "dob": "1990-01-01"}
    book = {"user_id": user, "origin": "JFK", "destination": "LAX", "flight_type": "one_way",
            "cabin": "economy", "flights": [flight], "passengers": [person],
            "payment_methods": [{"payment_id": payment, "amount": 100}],
            "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"}
    choice = rng.randrange(12)
    if choice < 3:
        return malformed(rng, tools), True
    bad_flight = rng.choice([{"flight_number": flight["flight_number"]}, {"date": "2024-05-20"},
                             {**flight, "seat": "1A"}, {**flight, "flight_number": 1},
                             {**flight, "date": None}, "HAT001", ["HAT001", "2024-05-20"], 7,
                             {"flight_number": {"$ne": None}, "date": "x"}])
    bad_person = rng.choice([{"first_name": "A", "last_name": "B"}, {**person, "dob": 19900101},
                             {**person, "ssn": "x"}, "Ann Lee", None, [person],
                             {"first_name": ["A"], "last_name": "B", "dob": "x"}])
    bad_payment = rng.choice([{"payment_id": payment}, {"amount": 10},
                              {"payment_id": payment, "amount": "100"},
                              {"payment_id": payment, "amount": 1.5},
                              {"payment_id": payment, "amount": True},
                              {"payment_id": 5, "amount": 10},
                              {"payment_id": payment, "amount": 10, "owner": "x"}, payment])
    if choice == 3:  # book_reservation with one malformed TypedDict list or key
        key, value = rng.choice([
            ("flights", [bad_flight]), ("flights", bad_flight), ("flights", [flight, bad_flight]),
            ("passengers", [bad_person]), ("passengers", person),
            ("payment_methods", [bad_payment]), ("payment_methods", {"payment_id": payment}),
            ("flight_type", "three_way"), ("cabin", "first"), ("insurance", True),
            ("total_baggages", "2"), ("nonfree_baggages", 1.5), ("user_id", ["x"])])
        return _tag({"name": "book_reservation", "arguments": {**book, key: value}}), True
    if choice == 4:  # book_reservation missing a required key
        args = dict(book)
        del args[rng.choice(sorted(args))]
        return _tag({"name": "book_reservation", "arguments": args}), True
    if choice == 5:  # updates with malformed lists on a real reservation
        rid = rng.choice(reservations)
        name, args = rng.choice([
            ("update_reservation_passengers", {"reservation_id": rid, "passengers": [bad_person]}),
            ("update_reservation_passengers", {"reservation_id": rid, "passengers": "Ann"}),
            ("update_reservation_flights", {"reservation_id": rid, "cabin": "economy",
                                            "flights": [bad_flight], "payment_id": payment}),
            ("update_reservation_flights", {"reservation_id": rid, "cabin": "coach",
                                            "flights": [flight], "payment_id": payment}),
            ("update_reservation_baggages", {"reservation_id": rid, "total_baggages": "1",
                                             "nonfree_baggages": 0, "payment_id": payment}),
            ("update_reservation_baggages", {"reservation_id": rid, "total_baggages": 1})])
        return _tag({"name": name, "arguments": args}), True
    if choice == 6:  # unknown reservation ids on every reservation tool
        rid = rng.choice(["ZZZZZZ", "", "../HATHAT", "'; DROP TABLE reservations; --",
                          "4WQ150 ", "4wq150", "x" * 10_000, "\u0000"])
        name, args = rng.choice([
            ("get_reservation_details", {"reservation_id": rid}),
            ("cancel_reservation", {"reservation_id": rid}),
            ("update_reservation_baggages", {"reservation_id": rid, "total_baggages": 1,
                                             "nonfree_baggages": 0, "payment_id": payment}),
            ("update_reservation_passengers", {"reservation_id": rid, "passengers": [person]}),
            ("update_reservation_flights", {"reservation_id": rid, "cabin": "economy",
                                            "flights": [flight], "payment_id": payment})])
        return _tag({"name": name, "arguments": args}), True
    if choice == 7:  # unknown users
        uid = rng.choice(["nobody_0000", "", "sara_doe_496/../admin", "{{7*7}}"])
        name, args = rng.choice([("get_user_details", {"user_id": uid}),
                                 ("send_certificate", {"user_id": uid, "amount": 100}),
                                 ("book_reservation", {**book, "user_id": uid})])
        return _tag({"name": name, "arguments": args}), True
    if choice == 8:  # wrong top-level types
        name, args = rng.choice([
            ("get_reservation_details", {"reservation_id": 123}),
            ("get_user_details", {"user_id": {"id": user}}),
            ("send_certificate", {"user_id": user, "amount": "100"}),
            ("send_certificate", {"user_id": user, "amount": 10.5}),
            ("search_direct_flight", {"origin": "JFK", "destination": "LAX", "date": 20240520}),
            ("get_flight_status", {"flight_number": ["HAT001"], "date": "2024-05-20"})])
        return _tag({"name": name, "arguments": args}), True
    if choice == 9:  # non-finite and out-of-range numbers in amounts (JSON text)
        value = rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 5000])
        return _tag(f'{{"name": "send_certificate", "arguments": {{"user_id": "{user}", '
                    f'"amount": {value}}}}}'), True
    # hostile but well-formed: a tool decides (τ²'s rules may accept some)
    rid = rng.choice(reservations)
    other = rng.choice(users)
    other_payment = rng.choice(sorted(db["users"][other]["payment_methods"]) or ["x"])
    name, args = rng.choice([
        ("send_certificate", {"user_id": user, "amount": rng.choice([-100, -10**12, 0, 10**30])}),
        ("update_reservation_baggages", {"reservation_id": rid, "total_baggages":
                                         rng.choice([-5, 10**9]), "nonfree_baggages": -3,
                                         "payment_id": payment}),
        ("book_reservation", {**book, "payment_methods": [{"payment_id": payment,
                                                           "amount": -10**9}]}),
        ("book_reservation", {**book, "payment_methods": [{"payment_id": other_payment,
                                                           "amount": 100}]}),
        ("book_reservation", {**book, "passengers": [person] * 50}),
        ("book_reservation", {**book, "total_baggages": -1, "nonfree_baggages": -1}),
        ("update_reservation_flights", {"reservation_id": rid, "cabin": "business",
                                        "flights": [flight], "payment_id": other_payment}),
        ("calculate", {"expression": rng.choice(["9**9**9**9", "(" * 200 + "1" + ")" * 200,
                                                 "__import__('os').system('id')", "1/0"])}),
    ])
    return _tag({"name": name, "arguments": args}), False


# ----------------------------------------------------------------------------- BFCL

_FS_PARAMS = ("file_name", "folder", "dir_name", "source", "destination", "path", "name",
              "file_name1", "file_name2")
_ID_HINTS = ("_id", "id")


def _params(spec: Any) -> dict[str, str | None]:
    return {k: v.get("type") for k, v in spec.parameters["properties"].items()}


def _wrong_type(kind: str | None) -> Any:
    return {"string": 12345, "integer": "12", "number": "1.5", "boolean": "true",
            "array": {"a": 1}, "object": [1, 2]}.get(kind or "", object)


def _valid(kind: str | None, rng: random.Random) -> Any:
    return {"string": "x", "integer": 1, "number": 1.0, "boolean": True, "array": [],
            "object": {}}.get(kind or "", "x")


def bfcl_call(rng: random.Random, task: dict[str, Any], all_tools: dict[str, Any],
              canary: Path) -> tuple[str, bool]:
    """One BFCL reply for a task offering ``task`` (name -> `FunctionTool`), and whether it
    must be a typed error."""
    names = sorted(task)
    name = rng.choice(names)
    spec = task[name]
    params = _params(spec)
    required = list(spec.parameters.get("required", []))
    base = {p: _valid(k, rng) for p, k in params.items()}
    choice = rng.randrange(14)
    if choice < 2:  # the generic malformed replies
        # wrong types, missing arguments and unknown ids have their own kinds below, from
        # the schema (some parameters are optional or untyped; BFCL answers some ids)
        return malformed(rng, {n: list(_params(task[n])) for n in names},
                         exclude=(3, 4, 12)), True
    if choice == 2:  # unknown functions, another class's functions, private attributes
        foreign = sorted(set(all_tools) - set(task))
        bad = rng.choice(foreign + ["_load_scenario", "__init__", "__class__", "_random",
                                    "os_system", "subprocess", "eval", "exec", "__import__",
                                    "save_scenario", "_api_description", "long_context",
                                    name + "_"] * 1)
        return _tag({"name": bad, "arguments": {}}), True
    if choice == 3:  # a wrong type for a typed parameter
        typed = [p for p, k in params.items() if k]
        if typed:
            p = rng.choice(typed)
            return _tag({"name": name, "arguments": {**base, p: _wrong_type(params[p])}}), True
        return _tag({"name": name, "arguments": {**base, "extra": 1}}), True
    if choice == 4:  # a missing required argument, or extra ones
        if required:
            args = dict(base)
            del args[rng.choice(required)]
            return _tag({"name": name, "arguments": args}), True
        return _tag({"name": name, "arguments": {**base, "self": 1, "__dict__": {}}}), True
    if choice == 5:  # NaN and infinities where a number goes (JSON text, or huge literals)
        numeric = [p for p, k in params.items() if k in ("number", "integer")] or ["x"]
        value = rng.choice(["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
        return _tag(f'{{"name": "{name}", "arguments": {{"{rng.choice(numeric)}": {value}}}}}'
                    ), True
    if choice == 6:  # deeply nested arguments (inside the parser's depth limit)
        value: Any = 1
        for _ in range(rng.choice([10, 40, 60])):
            value = rng.choice([[value], {"a": value}])
        p = rng.choice(list(params) or ["x"])
        return _tag({"name": name, "arguments": {**base, p: value}}), params.get(p) not in (
            None, "array", "object")
    # hostile but well-formed: the class decides
    numeric = [(n, p) for n in names for p, k in _params(task[n]).items()
               if k in ("number", "integer")]
    strings = [(n, p) for n in names for p, k in _params(task[n]).items() if k == "string"]
    if choice == 7 and numeric:  # huge and negative numbers (amounts, prices, precision)
        n, p = rng.choice(numeric)
        kind = _params(task[n])[p]
        value = rng.choice([-1, -10**9, 10**18, 10**300, -10**300, 0] if kind == "integer"
                           else [-1.0, -1e9, 1e308, -1e308, 5e-324, 0.0, -0.0])
        args = {q: _valid(k, rng) for q, k in _params(task[n]).items()}
        return _tag({"name": n, "arguments": {**args, p: value}}), False
    if choice == 8 and strings:  # path traversal, absolute and canary paths, long names
        fs = [(n, p) for n, p in strings if p in _FS_PARAMS] or strings
        n, p = rng.choice(fs)
        value = rng.choice(["../../etc/passwd", "/etc/passwd", "/etc/shadow", str(canary /
                            "pwned.txt"), str(canary), "~/.ssh/id_rsa", "../" * 200,
                            "a/" * 2000, "x" * 100_000, ".", "..", "", "/", "\u0000",
                            "$(touch " + str(canary / "sub") + ")", "; rm -rf /",
                            "`id`", "%s%n%x", "\\..\\..\\windows"])
        args = {q: _valid(k, rng) for q, k in _params(task[n]).items()}
        return _tag({"name": n, "arguments": {**args, p: value}}), False
    if choice == 9:  # calls on ids that do not exist
        ids = [(n, p) for n in names for p in _params(task[n])
               if p.endswith(_ID_HINTS)]
        if ids:
            n, p = rng.choice(ids)
            kind = _params(task[n])[p]
            value = rng.choice([999_999_999, -1, 0] if kind == "integer" else
                               ["nonexistent", "-1", "0" * 64, "None"])
            args = {q: _valid(k, rng) for q, k in _params(task[n]).items()}
            return _tag({"name": n, "arguments": {**args, p: value}}), False
    if choice == 10 and strings:  # very long strings (content, messages, tweets)
        n, p = rng.choice(strings)
        args = {q: _valid(k, rng) for q, k in _params(task[n]).items()}
        return _tag({"name": n, "arguments": {**args, p: "A" * rng.choice([10_000,
                                                                              150_000])}}), False
    if choice == 11:  # precision bombs where the task has them, else huge counts
        bombs = [n for n in ("logarithm", "square_root") if n in task]
        if bombs:
            n = rng.choice(bombs)
            args = {q: _valid(k, rng) for q, k in _params(task[n]).items()}
            return _tag({"name": n, "arguments": {**args, "precision": rng.choice(
                [10**9, 10**7, 10**5, -5, 0])}}), False
    # a plain call with placeholder values (valid types: the class refuses or acts)
    return _tag({"name": name, "arguments": base}), False


# ----------------------------------------------------------------------------- host watch

_HOST_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "socket.connect",
                "socket.bind", "socket.getaddrinfo", "os.remove", "os.rename", "os.rmdir",
                "os.mkdir", "os.symlink", "os.link", "os.truncate", "os.chmod", "os.chown",
                "shutil.rmtree", "shutil.copyfile", "shutil.move", "ctypes.dlopen",
                "os.putenv", "os.unsetenv", "os.chdir", "open")


class HostWatch:
    """Records host-touching audit events while active (one hook per process)."""

    _active: HostWatch | None = None
    _installed = False

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()
        self.examples: list[str] = []
        roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__),
                 str(Path(sandgym.__file__).parent)}
        self._allowed = tuple(str(Path(r).resolve()) for r in roots) + tuple(roots)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if HostWatch._active is not self or not event.startswith(_HOST_EVENTS):
            return
        if event == "open":
            path, mode = args[0], args[1] if len(args) > 1 else "r"
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(
                flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            if isinstance(path, int) or (not writing and str(path).startswith(self._allowed)):
                return  # reading the installation (lazy imports, data files)
        self.events[event] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{event} {str(args)[:160]}")

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        if not HostWatch._installed:
            sys.addaudithook(lambda e, a: HostWatch._active and HostWatch._active._hook(e, a))
            HostWatch._installed = True
        HostWatch._active = self
        try:
            yield
        finally:
            HostWatch._active = None


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@contextlib.contextmanager
def host_checked(stats: dict[str, Any], canary: Path) -> Iterator[None]:
    """Run in a fresh temporary working directory under a `HostWatch`; afterwards record
    host events, the directory's new entries and whether the canary directory appeared."""
    watch = HostWatch()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="sandgym-fuzz-cwd-") as work:
        root = Path(work)
        before = _listing(root)
        os.chdir(root)
        try:
            with watch.watching():
                yield
        finally:
            os.chdir(cwd)
            created = sorted(set(_listing(root)) - set(before))
    stats["host_effects"] = sum(watch.events.values()) + len(created) + canary.exists()
    if stats["host_effects"]:
        stats["host_effect_examples"] = watch.examples + created[:5] + (
            [str(canary)] if canary.exists() else [])


def bfcl_static_check() -> dict[str, list[str]]:
    """Read BFCL's class modules (AST): host-reaching imports, and calls of them."""
    risky_modules = {"subprocess", "os", "shutil", "socket", "pathlib", "requests", "urllib",
                     "ctypes", "pty", "multiprocessing", "sys"}
    risky_calls = {"open", "eval", "exec", "compile", "__import__", "system", "popen",
                   "Popen", "run", "call", "check_output", "remove", "unlink", "rmtree"}
    out: dict[str, list[str]] = {"imports": [], "calls": []}
    for cls in sorted(API_CLASSES):
        module = API_CLASSES[cls][0]
        path = api_module(cls).__file__
        tree = ast.parse(Path(path).read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    top = (node.module if isinstance(node, ast.ImportFrom) and node.module
                           else alias.name).split(".")[0]
                    if top in risky_modules:
                        imported.add(alias.asname or alias.name)
                        out["imports"].append(f"{module}: {top}")
            if isinstance(node, ast.Call):
                func = node.func
                called = (func.id if isinstance(func, ast.Name) else func.attr
                          if isinstance(func, ast.Attribute) else "")
                owner = (func.value.id if isinstance(func, ast.Attribute)
                         and isinstance(func.value, ast.Name) else "")
                if (isinstance(func, ast.Name) and called in risky_calls) or owner in imported:
                    out["calls"].append(f"{module}:{node.lineno} {owner + '.' if owner else ''}"
                                        f"{called}")
    return out


# ----------------------------------------------------------------------------- running

def _check_observation(observation: str) -> tuple[int, int, int]:
    """(typed errors, results, lines that are neither a typed error nor a tool result)."""
    typed = results = bad = 0
    for line in observation.splitlines():
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if "error" in data:
            typed += data["error"].get("type") in ERROR_KINDS
            bad += data["error"].get("type") not in ERROR_KINDS
        elif "result" in data:
            results += 1
        else:
            bad += 1
    return typed, results, bad


def _new_stats() -> dict[str, Any]:
    return {"calls": 0, "typed_errors": 0, "results": 0, "untyped": 0, "crashed_episodes": 0,
            "host_exceptions": 0, "state_changed_without_a_write": 0, "episodes": 0,
            "sandbox_errors": 0}


def _count(stats: dict[str, Any], observation: str, must_error: bool, reply: str,
           accepted: Counter[str]) -> int:
    """Count one step's observation; returns its result lines."""
    stats["calls"] += 1
    typed, results, bad = _check_observation(observation)
    stats["typed_errors"] += typed > 0
    stats["results"] += results > 0
    stats["untyped"] += (must_error and typed == 0) or bad > 0
    if not must_error and results:
        for body in _TAG.findall(reply):
            with contextlib.suppress(ValueError, TypeError, AttributeError):
                accepted[str(json.loads(body).get("name"))[:40]] += 1
    return results


@contextlib.contextmanager
def _counting_host_exceptions(env: Any, stats: dict[str, Any]) -> Iterator[None]:
    """Close ``env`` at the end; an exception that escapes the episode loop (the fuzz
    reached the host) is counted in ``host_exceptions`` and raised."""
    try:
        yield
    except BaseException:  # pragma: no cover - reported as a host exception
        stats["host_exceptions"] += 1
        raise
    finally:
        env.close()


def fuzz_env(env_id: str, replies: list[str | tuple[str, bool]], *, expect_errors: bool,
             per_episode: int, **kwargs: Any) -> dict[str, Any]:
    """Play every reply, ``per_episode`` to an episode (a new one when one ends early). A
    reply is text (it must be a typed error when ``expect_errors``) or (text, must_error)."""
    env = gym.make(env_id, max_errors=per_episode + 10, max_turns=per_episode + 10, **kwargs)
    inner = env.unwrapped
    writes = inner.domain.writes
    stats = _new_stats()
    accepted: Counter[str] = Counter()
    tools = {t.name: (lambda **kw: None) for t in inner.domain.tools}
    naive = 0
    pending = [r if isinstance(r, tuple) else (r, expect_errors) for r in replies]
    with _counting_host_exceptions(env, stats):
        while pending:
            stats["episodes"] += 1
            wrote = False
            try:
                env.reset(seed=stats["episodes"])
                for _ in range(per_episode):
                    if not pending:
                        break
                    reply, must_error = pending.pop(0)
                    naive += _naive_crashes(reply, tools)
                    observation, _, terminated, truncated, info = env.step(reply)
                    if info.get("sandbox_error"):
                        stats["calls"] += 1
                        stats["sandbox_errors"] += 1
                        break
                    _count(stats, observation, must_error, reply, accepted)
                    wrote = wrote or any(
                        json.loads(line).get("tool") in writes and "result" in json.loads(line)
                        for line in observation.splitlines() if line.startswith("{"))
                    if terminated or truncated:
                        break
                made = changes(inner.domain.pristine, inner._ctx.state)
                stats["state_changed_without_a_write"] += bool(made) and not wrote
            except Exception:  # noqa: BLE001 - counting crashes is the point
                stats["crashed_episodes"] += 1
    stats["naive_dispatcher_crashes"] = naive
    stats["hostile_accepted"] = dict(accepted.most_common())
    return stats


def _fingerprint(instances: dict[str, Any]) -> str:
    return json.dumps(plain(instances), sort_keys=True, default=str)


def fuzz_bfcl(n: int, rng: random.Random, canary: Path, *, per_episode: int = 50,
              env_id: str = "sandgym/BFCLMultiTurn-v0") -> dict[str, Any]:
    """Play ``n`` generated calls through BFCL multi-turn episodes (calls generated per
    episode from the task's functions). A call whose observation has no result must
    leave the API instances as they were (``state_changed_without_a_write``)."""
    env = gym.make(env_id, max_errors=per_episode + 10, max_steps_per_turn=per_episode + 10)
    inner = env.unwrapped
    all_tools = {t.name: t for t in tools_for(tuple(API_CLASSES))}
    stats = {**_new_stats(), "state_changed_by_a_refusing_tool": 0}
    accepted: Counter[str] = Counter()
    examples: list[str] = []
    naive = 0
    with _counting_host_exceptions(env, stats):
        while stats["calls"] < n:
            stats["episodes"] += 1
            try:
                env.reset(seed=stats["episodes"])
                for _ in range(per_episode):
                    if stats["calls"] >= n:
                        break
                    task_tools = dict(inner.session.tools)
                    reply, must_error = bfcl_call(rng, task_tools, all_tools, canary)
                    naive += _naive_crashes(reply, {t: (lambda **kw: None) for t in task_tools})
                    before = _fingerprint(inner.session.instances)
                    observation, _, terminated, truncated, _ = env.step(reply)
                    results = _count(stats, observation, must_error, reply, accepted)
                    if not results and _fingerprint(inner.session.instances) != before:
                        ran = '"tool_error"' in observation or '"tool_exception"' in observation
                        if ran:  # BFCL's class changed state, then refused (its semantics)
                            stats["state_changed_by_a_refusing_tool"] += 1
                        else:  # no tool ran, yet the state changed
                            stats["state_changed_without_a_write"] += 1
                        examples.append(f"{reply[:100]} => {observation[:120]}")
                    if terminated or truncated:
                        break
            except Exception:  # noqa: BLE001 - counting crashes is the point
                stats["crashed_episodes"] += 1
                stats["calls"] += 1  # the call that raised
    stats["naive_dispatcher_crashes"] = naive
    stats["hostile_accepted"] = dict(accepted.most_common(12))
    if examples:
        stats["state_change_examples"] = examples[:3]
    return stats


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the fuzz; print one JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--sandboxed", type=int, default=300,
                        help="how many of the calls go to sandboxed domains (SQL, Python)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="(output is always JSON)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    started = time.perf_counter()
    report: dict[str, Any] = {"benchmark": "tool_fuzz", "seed": args.seed}
    in_process = args.calls - args.sandboxed
    share = in_process // 3
    canary_root = Path(tempfile.mkdtemp(prefix="sandgym-fuzz-canary-"))
    canary = canary_root / "never"  # hostile calls name it; it must not appear
    try:
        retail = gym.make("sandgym/Tau2Retail-v0")
        retail_tools = {t.name: list(t.parameters["properties"])
                        for t in retail.unwrapped.domain.tools}
        retail.close()
        stats: dict[str, Any] = {}
        with host_checked(stats, canary):
            report["retail"] = fuzz_env(
                "sandgym/Tau2Retail-v0",
                [malformed(rng, retail_tools) for _ in range(in_process - 2 * share)],
                expect_errors=True, per_episode=50)
        report["retail"].update(stats)
        airline = gym.make("sandgym/Tau2Airline-v0")
        domain = airline.unwrapped.domain
        airline_tools = {t.name: list(t.parameters["properties"]) for t in domain.tools}
        db = domain.pristine
        airline.close()
        stats = {}
        with host_checked(stats, canary):
            report["airline"] = fuzz_env(
                "sandgym/Tau2Airline-v0",
                [airline_call(rng, airline_tools, db) for _ in range(share)],
                expect_errors=True, per_episode=50)
        report["airline"].update(stats)
        stats = {}
        with host_checked(stats, canary):
            report["bfcl"] = fuzz_bfcl(share, rng, canary)
        report["bfcl"].update(stats)
        report["bfcl"]["static_host_access"] = bfcl_static_check()
    finally:
        with contextlib.suppress(OSError):
            for p in sorted(canary_root.rglob("*"), reverse=True):
                p.unlink() if p.is_file() else p.rmdir()
            canary_root.rmdir()
    domains = ["retail", "airline", "bfcl"]
    sql_n = args.sandboxed // 2
    if args.sandboxed:
        sql_tools = {"execute_sql": ["query"], "submit_query": ["query"]}
        sql_replies = [malformed(rng, sql_tools) if i % 2 else _tag({
            "name": "execute_sql", "arguments": {"query": rng.choice(SQL_HOSTILE)}})
            for i in range(sql_n)]
        report["sql"] = fuzz_env("sandgym/SqlQuery-v0", sql_replies, expect_errors=True,
                                 per_episode=25, timeout_s=3.0)
        py_tools = {"run_python": ["code"], "submit_answer": ["answer"]}
        py_replies = [malformed(rng, py_tools) if i % 4 else _tag({
            "name": "run_python", "arguments": {"code": rng.choice(PY_HOSTILE)}})
            for i in range(args.sandboxed - sql_n)]
        report["word_problems"] = fuzz_env("sandgym/WordProblems-v0", py_replies,
                                           expect_errors=False, per_episode=25, timeout_s=2.0)
        domains += ["sql", "word_problems"]
    keys = [k for k, v in report["retail"].items() if isinstance(v, int)]
    report["total"] = {k: sum(report[d].get(k, 0) for d in domains) for k in keys}
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main()

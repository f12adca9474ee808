"""BFCL multi-turn (``sandgym/BFCLMultiTurn-v0``) on the bfcl-eval wheel's real data: what the
loader refuses and why, gold replay scoring 1.0 on every accepted task (here; through
``sandgym eval --policy canonical`` in ``tests/envs/test_cli.py``), doing nothing and wrong
arguments scoring below 1.0, per-turn diffs, and every bad call as a typed error."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from sandgym.envs.check import check_env_id
from sandgym.envs.registration import ensure_registered
from sandgym.envs.tools.bfcl_data import BFCLTask, bfcl_tasks, parse_gold_call
from sandgym.envs.tools.bfcl_env import BFCLMultiTurnEnv
from sandgym.envs.tools.bfcl_tasks import gold_calls
from sandgym.envs.tools.calls import ToolCall, format_call

BFCL = "sandgym/BFCLMultiTurn-v0"
REJECTED = {
    "multi_turn_base_4": "gold_unproducible",   # tweets an alphabetised sort() output (#1367)
    "multi_turn_base_18": "gold_unproducible",  # tweets a diff() output with its newline dropped
    "multi_turn_base_173": "gold_call_failed",  # close_ticket(ticket_id='ticket_001'): an int id
    "multi_turn_base_139": "passes_by_reading",  # get_watchlist() returns what its write does
}


@pytest.fixture(scope="module")
def bfcl():
    ensure_registered()
    env = gym.make(BFCL)
    yield env.unwrapped
    env.close()


def _play(env, task_id, replies):
    env.reset(options={"task_id": task_id})
    for reply in replies:
        _, reward, terminated, truncated, info = env.step(reply)
        if terminated or truncated:
            return reward, info
    raise AssertionError(f"{task_id}: the episode did not end after {len(replies)} replies")


def _calls(*calls):
    return "\n".join(format_call(ToolCall(n, a)) for n, a in calls)


def test_loader_accepts_196_of_200_and_reports_the_four_it_rejects(bfcl):
    report = bfcl.report
    assert len(bfcl_tasks("base")) == 200
    assert len(bfcl.task_ids) == 196 and report.counts() == {"gold_unproducible": 2,
                                                              "gold_call_failed": 1,
                                                              "passes_by_reading": 1}
    assert {r.task_id: r.reason for r in report.rejected} == REJECTED
    details = {r.task_id: r.detail for r in report.rejected}
    assert "post_tweet" in details["multi_turn_base_4"]
    assert "'Initial report content Unsorted data More unsorted data'" in \
        details["multi_turn_base_4"]
    assert "close_ticket" in details["multi_turn_base_173"] and \
        "bad_arguments" in details["multi_turn_base_173"]
    # Its write adds a stock the watchlist already holds and returns the watchlist:
    # calling get_watchlist() every turn passed it (a reviewer's reproducer).
    assert "get_watchlist" in details["multi_turn_base_139"]
    as_dict = report.as_dict()
    assert as_dict["accepted"] == 196 and as_dict["rejected"] == 4
    with pytest.raises(Exception, match="rejected on load.*passes_by_reading"):
        bfcl.reset(options={"task_id": "multi_turn_base_139"})
    with pytest.raises(Exception, match="rejected on load.*gold_unproducible"):
        bfcl.reset(options={"task_id": "multi_turn_base_4"})


def test_loader_rejects_synthetic_bad_tasks_with_their_reasons():
    good = next(t for t in bfcl_tasks("base") if t.id == "multi_turn_base_0")

    def variant(id_: str, **changes: object) -> BFCLTask:
        fields = {**good.__dict__, "id": id_, **changes}
        return BFCLTask(**fields)

    tasks = [good,
             variant("raises", gold=(("cd(folder='nowhere')",), *good.gold[1:])),
             variant("excluded", gold=(("cp(source='a', destination='b')",), *good.gold[1:])),
             variant("unparseable", gold=(("cd(folder=os.getcwd())",), *good.gold[1:])),
             variant("unknown_class", involved_classes=("WebSearchAPI",)),
             variant("nothing", gold=((), (), (), ()))]
    env = BFCLMultiTurnEnv(tasks=tasks)
    reasons = {r.task_id: r.reason for r in env.report.rejected}
    assert env.task_ids == ["multi_turn_base_0"]
    assert reasons == {"raises": "gold_call_failed", "excluded": "gold_call_failed",
                       "unparseable": "gold_unparseable", "unknown_class": "unsupported_class",
                       "nothing": "checks_nothing"}
    detail = {r.task_id: r.detail for r in env.report.rejected}
    assert "No such file or directory" in detail["raises"]
    assert "unknown_tool" in detail["excluded"]


def test_gold_calls_are_parsed_without_eval_and_positional_arguments_named():
    assert parse_gold_call("sort('final_report.pdf')").args == ("final_report.pdf",)
    with pytest.raises(ValueError, match="non-literal"):
        parse_gold_call("cd(folder=__import__('os').getcwd())")
    task = next(t for t in bfcl_tasks("base") if t.id == "multi_turn_base_0")
    assert gold_calls(task)[2] == (ToolCall("sort", {"file_name": "final_report.pdf"}),)


def test_check_env_passes_with_the_multi_turn_reference():
    report = check_env_id(BFCL)
    assert report["check_env"] == "ok" and report["ok"], report
    assert report["episode"]["steps"] == 8 and report["episode"]["reference_passed"]


@pytest.mark.parametrize("env_id", ["sandgym/BFCLMultiTurnMissParam-v0",
                                    "sandgym/BFCLMultiTurnLongContext-v0",
                                    "sandgym/BFCLMultiTurnMissFunc-v0"])
def test_check_env_passes_on_every_other_category(env_id):
    report = check_env_id(env_id)
    assert report["check_env"] == "ok" and report["ok"], report
    assert report["episode"]["reference_passed"], report


@pytest.mark.parametrize("mode", ["binary", "fraction"])
def test_gold_replay_scores_one_on_every_accepted_task(bfcl, mode):
    bfcl.reward_mode = mode
    try:
        for task_id in bfcl.task_ids:
            reward, info = _play(bfcl, task_id, bfcl.reference_replies(task_id))
            assert reward == 1.0, (task_id, info["verdict"])
            verdict = info["verdict"]
            assert verdict["status"] == "pass"
            assert verdict["turns_passed"] == verdict["turns_total"] == len(
                bfcl.get_task(task_id).turns)
    finally:
        bfcl.reward_mode = "binary"


def test_doing_nothing_earns_nothing_on_any_task(bfcl):
    # Refusing every turn passes the turns whose gold is empty; fraction pays only
    # beyond that, or a policy could learn to refuse everything.
    tasks_with_idle_turns: list[str] = []
    bfcl.reward_mode = "fraction"
    try:
        for task_id in bfcl.task_ids:
            turns = len(bfcl.get_task(task_id).turns)
            reward, info = _play(bfcl, task_id, ["I can't help with that."] * turns)
            gold = bfcl.get_task(task_id).gold
            idle = [k for k in range(turns) if not gold[k]]  # turns to be refused
            assert reward == 0.0, task_id
            assert info["verdict"]["turns_passed"] == len(idle) < turns, task_id
            assert info["reward_components"]["trivial_passed"] == len(idle), task_id
            verdicts = info["verdict"]["turns"]
            assert all(verdicts[k]["empty_response"] for k in range(turns) if gold[k]), task_id
            assert all(verdicts[k]["passed"] and verdicts[k]["irrelevance"] for k in idle)
            if idle:
                tasks_with_idle_turns.append(task_id)
    finally:
        bfcl.reward_mode = "binary"
    assert tasks_with_idle_turns == ["multi_turn_base_167", "multi_turn_base_180"]


def test_a_wrong_argument_fails_its_turn_with_the_state_diff(bfcl):
    bfcl.reward_mode = "fraction"
    try:
        replies = bfcl.reference_replies("multi_turn_base_0")
        replies[0] = replies[0].replace('"temp"', '"tmp"')  # mkdir/mv into the wrong folder
        reward, info = _play(bfcl, "multi_turn_base_0", replies)
    finally:
        bfcl.reward_mode = "binary"
    turn0 = info["verdict"]["turns"][0]
    assert reward < 1.0 and not turn0["passed"]
    assert set(turn0["state_diff"]) == {"GorillaFileSystem"}
    assert "root" in turn0["state_diff"]["GorillaFileSystem"]


def test_a_missing_read_fails_only_that_turn_by_the_response_check(bfcl):
    replies = bfcl.reference_replies("multi_turn_base_0")
    # turn 1 is cd + grep: cd alone leaves the same state but not grep's result
    replies[2] = _calls(("cd", {"folder": "temp"}))
    bfcl.reward_mode = "fraction"
    try:
        reward, info = _play(bfcl, "multi_turn_base_0", replies)
    finally:
        bfcl.reward_mode = "binary"
    turns = info["verdict"]["turns"]
    assert [t["passed"] for t in turns] == [True, False, True, True] and reward == 0.75
    assert turns[1]["state_diff"] == {} and len(turns[1]["missing_results"]) == 1
    assert "budget analysis" in turns[1]["missing_results"][0]


def test_tools_come_from_bfcl_docs_for_the_task_minus_excluded_functions(bfcl):
    bfcl.reset(options={"task_id": "multi_turn_base_0"})
    schemas = {t["function"]["name"]: t["function"]
               for t in json.loads(bfcl.system_prompt.split("# Functions\n", 1)[1])}
    assert "cp" not in schemas and "mv" in schemas and "post_tweet" in schemas
    assert "book_flight" not in schemas  # TravelAPI is not involved in this task
    tail = schemas["tail"]["parameters"]
    assert tail["properties"]["lines"]["type"] == "integer" and tail["required"] == ["file_name"]
    tags = schemas["post_tweet"]["parameters"]["properties"]["tags"]
    assert tags["type"] == "array" and tags["items"] == {"type": "string"}
    names = {t.name for t in BFCLMultiTurnEnv.tools}
    assert {"cd", "post_tweet", "book_flight", "add", "lockDoors"} <= names


def test_every_bad_call_is_a_typed_error_observation(bfcl):
    bfcl.reset(options={"task_id": "multi_turn_base_0"})
    cases = {
        "tool_error": _calls(("cd", {"folder": "nowhere"})),
        "bad_arguments": _calls(("tail", {"file_name": "x", "lines": "many"})),
        "unknown_tool": _calls(("cp", {"source": "a", "destination": "b"})),
        "parse_error": '<tool_call>{"name": "cd", "arguments": {"folder": "x"}} oops',
    }
    for kind, reply in cases.items():
        observation, reward, terminated, truncated, info = bfcl.step(reply)
        error = json.loads(observation.splitlines()[0])["error"]
        assert error["type"] == kind, (kind, observation)
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert info["verdict"]["last_errors"] == [kind]
    missing = _calls(("post_tweet", {"tags": ["#a"]}))
    assert "needs the argument" in json.loads(bfcl.step(missing)[0])["error"]["message"]


def test_the_error_allowance_ends_the_episode_and_fails_the_open_turns(bfcl):
    env = BFCLMultiTurnEnv(max_errors=2)
    env.reset(options={"task_id": "multi_turn_base_0"})
    bad = _calls(("cd", {"folder": 1}))
    results = [env.step(bad) for _ in range(3)]
    _, reward, terminated, _, info = results[-1]
    assert terminated and reward == 0.0 and info["verdict"]["ended_by"] == "error_allowance"
    assert info["verdict"]["failure"] == "parse_error"
    assert all(not t["passed"] for t in info["verdict"]["turns"])


def test_the_scripted_user_gives_the_next_question_when_the_turn_ends(bfcl):
    first, _ = bfcl.reset(options={"task_id": "multi_turn_base_0"})
    task = bfcl.get_task("multi_turn_base_0")
    assert first == task.turns[0]
    observation, *_ = bfcl.step(bfcl.reference_replies("multi_turn_base_0")[0])
    assert '"tool": "mkdir"' in observation
    observation, _, _, _, info = bfcl.step("Moved it.")
    assert observation == task.turns[1] and info["user_turn"] == 1
    assert info["verdict"]["turns"][0]["passed"]


def test_a_turn_whose_gold_is_empty_fails_when_the_agent_acts(bfcl):
    # turn 4 of base_167 asks for the invoice of a cancelled booking: BFCL's gold makes no
    # call (its irrelevance rule: a successful call there is wrong)
    replies = bfcl.reference_replies("multi_turn_base_167")
    assert replies[-1] == replies[-2] == "Done."  # turn 4: no gold call, only the end
    replies.insert(-1, _calls(("list_all_airports", {})))
    bfcl.reward_mode = "fraction"
    try:
        reward, info = _play(bfcl, "multi_turn_base_167", replies)
    finally:
        bfcl.reward_mode = "binary"
    last = info["verdict"]["turns"][-1]
    assert last["irrelevance"] and not last["passed"] and last["calls"] == 1
    # 4 of 5 turns passed; never calling passes 1 (turn 4): (4 - 1) / (5 - 1)
    assert reward == 0.75


def test_contract_tools_play_a_whole_task_with_end_turn(bfcl):
    """TRL's adapter drives the env through its contract tools (arguments as text): the
    gold calls, then ``end_turn`` per turn, score 1.0."""
    tools = {t.name: t for t in BFCLMultiTurnEnv.tools}
    assert "end_turn" in tools and BFCLMultiTurnEnv.tool_prompt
    bfcl.reset(options={"task_id": "multi_turn_base_0"})
    turns = gold_calls(bfcl.get_task("multi_turn_base_0"))
    for calls in turns:
        for call in calls:
            text_args = {k: v if isinstance(v, str) else json.dumps(v)
                         for k, v in call.arguments.items()}
            observation, *_ = bfcl.step(tools[call.name].to_action(**text_args))
            assert '"error"' not in observation, observation
        observation, reward, terminated, _, info = bfcl.step(tools["end_turn"].to_action())
    assert terminated and reward == 1.0 and info["verdict"]["turns_passed"] == len(turns) == 4


CATEGORY_REJECTIONS = {
    "sandgym/BFCLMultiTurnMissParam-v0": {  # base's tasks, one turn split off without a parameter
        "multi_turn_miss_param_4": "gold_unproducible",
        "multi_turn_miss_param_18": "gold_unproducible",
        "multi_turn_miss_param_173": "gold_call_failed",
        "multi_turn_miss_param_139": "passes_by_reading"},
    "sandgym/BFCLMultiTurnLongContext-v0": {  # long states; 41 and 43 send a file's text
        "multi_turn_long_context_4": "gold_unproducible",  # with one space added
        "multi_turn_long_context_41": "gold_unproducible",
        "multi_turn_long_context_43": "gold_unproducible",
        "multi_turn_long_context_173": "gold_call_failed"},
    "sandgym/BFCLMultiTurnMissFunc-v0": {  # 49 calls tail() two turns before it is offered
        "multi_turn_miss_func_4": "gold_unproducible",
        "multi_turn_miss_func_18": "gold_unproducible",
        "multi_turn_miss_func_49": "gold_call_failed",
        "multi_turn_miss_func_173": "gold_call_failed"},
}


@pytest.mark.parametrize("env_id", sorted(CATEGORY_REJECTIONS))
def test_other_categories_load_with_their_rejections_and_gold_scores_one(env_id):
    ensure_registered()
    env = gym.make(env_id).unwrapped
    rejected = CATEGORY_REJECTIONS[env_id]
    assert {r.task_id: r.reason for r in env.report.rejected} == rejected
    assert len(env.task_ids) == 200 - len(rejected)
    idle_turns = 0
    for task_id in env.task_ids:
        reward, info = _play(env, task_id, env.reference_replies(task_id))
        assert reward == 1.0, (task_id, info["verdict"])
        turns = len(env.get_task(task_id).turns)
        reward, info = _play(env, task_id, ["Which one do you mean?"] * turns)
        assert reward == 0.0, task_id
        idle_turns += sum(1 for t in info["verdict"]["turns"] if t.get("irrelevance"))
    if "Miss" in env_id:  # every task has a turn where the agent must not act
        assert idle_turns >= len(env.task_ids)


def test_miss_func_offers_withheld_functions_only_from_their_turn():
    ensure_registered()
    env = gym.make("sandgym/BFCLMultiTurnMissFunc-v0").unwrapped
    task = env.get_task("multi_turn_miss_func_0")
    assert task.withheld == ((3, ("sort",)),) and task.turns[3] == ""
    env.reset(options={"task_id": task.id})
    assert '"name": "sort"' not in env.system_prompt
    early = env.step(_calls(("sort", {"file_name": "final_report.pdf"})))[0]
    assert json.loads(early)["error"]["type"] == "unknown_tool"
    replies = env.reference_replies(task.id)
    observations = [env.step(r)[0] for r in replies[:5]]  # turns 0-2 (2 is empty: refuse)
    assert observations[-1].startswith("# New functions\n") and '"name": "sort"' in \
        observations[-1] and observations[-1].endswith("What about now?")
    detail = {r.task_id: r.detail for r in env.report.rejected}["multi_turn_miss_func_49"]
    assert "tail" in detail and "withheld until turn 3" in detail


def _replies_with(env, task_id, turn, extra):
    """The gold replies with ``extra`` sent just before the reply that ends ``turn``."""
    replies, size = [], env.max_calls_per_turn
    for k, calls in enumerate(gold_calls(env.get_task(task_id))):
        replies.extend("\n".join(format_call(c) for c in calls[i:i + size])
                       for i in range(0, len(calls), size))
        if k == turn:
            replies.append(extra)
        replies.append("Done.")
    return replies


def test_a_withheld_function_called_in_a_turn_to_refuse_fails_it():
    # BFCL's irrelevance checker fails the turn on any decoded call, even one that fails:
    # a withheld function (unknown_tool here) called where the agent must not act
    ensure_registered()
    env = gym.make("sandgym/BFCLMultiTurnMissFunc-v0").unwrapped
    cases = {"multi_turn_miss_func_0": (2, ("sort", {"file_name": "final_report.pdf"})),
             "multi_turn_miss_func_1": (1, ("mv", {"source": "log.txt",
                                                   "destination": "archive"}))}
    env.reward_mode = "fraction"
    for task_id, (turn, call) in cases.items():
        assert not env.get_task(task_id).gold[turn]  # the turn to refuse
        reward, info = _play(env, task_id, _replies_with(env, task_id, turn, _calls(call)))
        verdict = info["verdict"]["turns"][turn]
        assert info["verdict"]["errors"] == {"unknown_tool": 1}, task_id
        assert verdict["irrelevance"] and not verdict["passed"], (task_id, verdict)
        assert verdict["calls"] == verdict["failed_calls"] == 1
        assert reward < 1.0
    env.reward_mode = "binary"
    reward, _ = _play(env, "multi_turn_miss_func_0", _replies_with(
        env, "multi_turn_miss_func_0", 2, _calls(cases["multi_turn_miss_func_0"][1])))
    assert reward == 0.0


def test_a_call_missing_the_parameter_fails_a_miss_param_turn():
    ensure_registered()
    env = gym.make("sandgym/BFCLMultiTurnMissParam-v0").unwrapped
    task_id = "multi_turn_miss_param_0"  # turn 3: "move one of the files" (which one?)
    assert not env.get_task(task_id).gold[3]
    bad = _calls(("mv", {"source": "previous_report.pdf"}))  # no destination
    reward, info = _play(env, task_id, _replies_with(env, task_id, 3, bad))
    assert info["verdict"]["errors"] == {"bad_arguments": 1}
    turn3 = info["verdict"]["turns"][3]
    assert not turn3["passed"] and turn3["calls"] == 1 and reward == 0.0
    # a reply that fails to parse is no decoded call: the turn still passes
    env.reward_mode = "fraction"
    try:
        reward, info = _play(env, task_id, _replies_with(env, task_id, 3, "<tool_call>{oops"))
    finally:
        env.reward_mode = "binary"
    assert info["verdict"]["turns"][3]["passed"] and reward == 1.0


def test_long_context_sessions_share_no_state_with_bfcl_globals_or_each_other():
    from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import long_context

    from sandgym.envs.tools.bfcl_api import Session

    task = next(t for t in bfcl_tasks("long_context") if t.id == "multi_turn_long_context_150")
    card = "1234567812345678"  # a card of BFCL's CREDIT_CARD_EXTENSION
    balance = long_context.CREDIT_CARD_EXTENSION[card]["balance"]
    first, second = Session(task), Session(task)
    token = task.initial_config["TravelAPI"]["access_token"]
    first.run(ToolCall("set_budget_limit", {"access_token": token, "budget_limit": 100.0}))
    booked = first.run(ToolCall("book_flight", {
        "access_token": token, "card_id": card, "travel_date": "2026-10-06",
        "travel_from": "RMS", "travel_to": "SBK", "travel_class": "economy"}))
    assert isinstance(booked, str) and '"booking_status": true' in booked, booked
    assert first.instances["TravelAPI"].credit_card_list[card]["balance"] < balance
    assert long_context.CREDIT_CARD_EXTENSION[card]["balance"] == balance
    assert second.instances["TravelAPI"].credit_card_list[card]["balance"] == balance
    assert Session(task).instances["TravelAPI"].credit_card_list[card]["balance"] == balance
    # a call that writes a BFCL constant (the weather extension) leaves it as it was
    car = next(t for t in bfcl_tasks("long_context")
               if "VehicleControlAPI" in t.involved_classes)
    weather = json.loads(json.dumps(long_context.LONG_WEATHER_EXTENSION))
    result = Session(car).run(ToolCall("get_outside_temperature_from_google", {}))
    assert "outsideTemperature" in json.loads(result)
    assert long_context.LONG_WEATHER_EXTENSION == weather


def test_precision_bounds_are_in_the_schema_and_huge_numbers_are_bad_arguments():
    # test_bfcl_hostile covers the precision bombs and the precision restored per call
    import mpmath

    from sandgym.envs.tools.bfcl_api import Session

    task = next(t for t in bfcl_tasks("base") if "MathAPI" in t.involved_classes)
    session = Session(task)
    dps = mpmath.mp.dps
    for name in ("logarithm", "square_root"):
        shown = session.tools[name].openai_schema()["function"]["parameters"]
        assert shown["properties"]["precision"] | {"description": ""} == {
            "type": "integer", "minimum": 1, "maximum": 1000, "description": ""}
    error = session.run(ToolCall("logarithm", {"value": 10.0, "base": 2.0,
                                               "precision": 100_000}))
    assert error.kind == "bad_arguments" and "at most 1000" in error.message
    huge = session.run(ToolCall("add", {"a": 10**400, "b": 1}))  # too large for a float
    assert huge.kind == "bad_arguments" and "too large" in huge.message
    assert mpmath.mp.dps == dps


def test_refusing_everything_earns_nothing_in_miss_param():
    # Every miss_param task has a turn to refuse; refusing all of them must not pay.
    ensure_registered()
    env = gym.make("sandgym/BFCLMultiTurnMissParam-v0").unwrapped
    env.reward_mode = "fraction"
    task_ids = env.task_ids[:10]
    for task_id in task_ids:
        turns = len(env.get_task(task_id).turns)
        idle = sum(1 for gold in env.get_task(task_id).gold if not gold)
        assert idle >= 1, task_id
        reward, info = _play(env, task_id, ["I can't help with that."] * turns)
        assert info["verdict"]["turns_passed"] == idle and reward == 0.0, task_id
        gold, _ = _play(env, task_id, env.reference_replies(task_id))
        assert gold == 1.0, task_id


@pytest.mark.parametrize("env_id", ["sandgym/BFCLMultiTurn-v0",
                                    "sandgym/BFCLMultiTurnMissParam-v0",
                                    "sandgym/BFCLMultiTurnLongContext-v0",
                                    "sandgym/BFCLMultiTurnMissFunc-v0"])
def test_the_declared_turn_limit_fits_every_reference_conversation(env_id):
    # eval plays with max_episode_turns by default: a limit below the longest reference
    # truncated 13 base tasks at the old fixed 10, and the env looked broken.
    from sandgym.envs.contract import episode_turn_limit

    ensure_registered()
    env = gym.make(env_id)
    limit = episode_turn_limit(env)
    longest = max(len(env.unwrapped.reference_replies(t)) for t in env.unwrapped.task_ids)
    assert limit == longest > 10


def test_the_turn_limit_follows_the_calls_allowed_per_reply(bfcl):
    # One call per reply splits the gold into more replies: the limit grows with them.
    tight = BFCLMultiTurnEnv(max_calls_per_turn=1)
    assert tight.max_episode_turns > bfcl.max_episode_turns
    assert tight.max_episode_turns == max(len(tight.reference_replies(t))
                                          for t in tight.task_ids)

"""The untrusted side of a judged grading run: load the answer, then answer calls.

Runs as the sandbox user, in the same process as the model's code, so nothing here is
trusted: the judge never believes anything this program says except the *values* it
returns, which it decodes strictly itself. The worker only makes honest answers work:

* the protocol uses private copies of fds 0/1; fd 1 is pointed at stderr and fd 0 at
  /dev/null, so the answer's prints and reads never touch the protocol;
* the answer is loaded either as a full program (it defines the entry point itself;
  the task's code prefix runs first for its imports and helpers) or as a body that
  continues the prefix (HumanEval-style completions);
* load failures are reported by class (syntax vs runtime) and calls are answered one
  JSON line each: ``{"id", "ok": value}`` or ``{"id", "raise": name, "msg", "tb"}``.

The host appends ``sg_worker_main(<answer as base64 of UTF-8>, <entry point>, <prefix>)``;
the codec is inlined above this code.
"""

import base64 as _sg_b64
import json as _sg_json
import os as _sg_os
import re as _sg_re
import traceback as _sg_traceback

from sandgym.envs.code.sandbox_side.codec import sg_decode, sg_encode

_SG_TB_CHARS = 2000


def _sg_send(fd, message):
    data = (_sg_json.dumps(message, ensure_ascii=True) + "\n").encode("ascii")
    view = memoryview(data)
    while view:
        view = view[_sg_os.write(fd, view):]


def _sg_trim(text, limit=_SG_TB_CHARS):
    text = str(text)
    return text if len(text) <= limit else text[: limit // 2] + "\n...\n" + text[-limit // 2:]


def _sg_error_name(exc):
    try:
        return str(type(exc).__name__)[:80]
    except BaseException:  # noqa: BLE001
        return "Exception"


def _sg_format_exc(exc):
    """The traceback without the worker's own frames (they would only confuse a model)."""
    try:
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == "<sandbox>":
            tb = tb.tb_next
        return _sg_trim("".join(_sg_traceback.format_exception(type(exc), exc, tb)))
    except BaseException:  # noqa: BLE001
        return _sg_error_name(exc)


def _sg_load(setup):
    """Return (namespace, None) or (None, failure message dict)."""
    answer, prefix, entry = setup["answer"], setup.get("prefix", ""), setup["entry_point"]
    defines_entry = _sg_re.search(rf"^(async\s+)?def\s+{_sg_re.escape(entry)}\s*\(",
                                  answer, _sg_re.M) is not None
    namespace = {"__name__": "__sandgym_answer__", "__builtins__": __builtins__}
    try:
        if defines_entry or not prefix:
            units = [(prefix, "<prefix>"), (answer, "<answer>")]
        else:
            units = [(prefix + answer, "<answer>")]
        compiled = [compile(src, name, "exec", dont_inherit=True) for src, name in units]
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as exc:
        return None, {"op": "load_error", "kind": "syntax", "error": _sg_error_name(exc),
                      "message": _sg_trim(_sg_traceback.format_exception_only(type(exc),
                                                                              exc)[-1])}
    try:
        for code in compiled:
            exec(code, namespace)  # noqa: S102 - the point of the worker
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import is a failure too
        return None, {"op": "load_error", "kind": "runtime", "error": _sg_error_name(exc),
                      "message": _sg_format_exc(exc)}
    if not callable(namespace.get(entry)):
        return None, {"op": "load_error", "kind": "runtime", "error": "MissingEntryPoint",
                      "message": f"the answer does not define a function named {entry!r}"}
    return namespace, None


def _sg_serve(fn, rfd, wfd):
    buffer = b""
    while True:
        while b"\n" not in buffer:
            chunk = _sg_os.read(rfd, 1 << 16)
            if not chunk:
                return
            buffer += chunk
        line, _, buffer = buffer.partition(b"\n")
        request = _sg_json.loads(line)
        call_id = request["id"]
        try:
            args = sg_decode(request["args"])
            kwargs = sg_decode(request.get("kwargs", {"d": []}))
        except Exception as exc:  # noqa: BLE001
            _sg_send(wfd, {"id": call_id, "bad_args": _sg_error_name(exc)})
            continue
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - report every way the call ended
            _sg_send(wfd, {"id": call_id, "raise": _sg_error_name(exc),
                           "msg": _sg_trim(exc, 500), "tb": _sg_format_exc(exc)})
            continue
        try:
            encoded = sg_encode(result)
        except BaseException as exc:  # noqa: BLE001
            _sg_send(wfd, {"id": call_id, "bad_value": _sg_trim(exc, 300)})
            continue
        _sg_send(wfd, {"id": call_id, "ok": encoded})


def sg_worker_main(answer_b64, entry_point, prefix=""):
    """Take over the protocol fds, load the answer, serve calls until the judge is done."""
    answer = _sg_b64.b64decode(answer_b64).decode("utf-8", "surrogatepass")
    setup = {"answer": answer, "entry_point": entry_point, "prefix": prefix}
    rfd, wfd = _sg_os.dup(0), _sg_os.dup(1)  # non-inheritable copies
    _sg_os.dup2(2, 1)
    null = _sg_os.open("/dev/null", _sg_os.O_RDONLY)
    _sg_os.dup2(null, 0)
    _sg_os.close(null)
    namespace, failure = _sg_load(setup)
    if failure is not None:
        _sg_send(wfd, failure)
        return
    _sg_send(wfd, {"op": "ready", "pid": _sg_os.getpid()})
    _sg_serve(namespace[setup["entry_point"]], rfd, wfd)

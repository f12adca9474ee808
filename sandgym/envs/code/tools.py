"""The code family's tool surface: its actions as typed, documented tools.

These are the family's rules for agents that act through tool calls (TRL's
``environment_factory``, OpenAI-style tool lists): what each tool sends to ``step``,
and which calls are refused before they reach the sandbox.
"""

from __future__ import annotations

from sandgym.envs.contract import InvalidToolCall, Tool

__all__ = ["PYTHON_TOOLS", "PYTHON_TOOL_PROMPT", "SHELL_TOOLS", "SHELL_TOOL_PROMPT",
           "split_submit"]

SUBMIT_WORD = "submit"


def split_submit(action: str) -> tuple[str, bool]:
    """(commands to run first, whether the action submits): the last line may be submit.

    Example:
        >>> split_submit("ls\\nsubmit")
        ('ls', True)
    """
    lines = action.rstrip().splitlines()
    if lines and lines[-1].strip() == SUBMIT_WORD:
        return "\n".join(lines[:-1]).strip(), True
    return action, False


def _command(command: str) -> str:
    """Run a command; a trailing ``submit`` is dropped (submitting is the submit tool's job)."""
    commands, _ = split_submit(command)
    if not commands.strip():
        raise InvalidToolCall("(empty command: nothing was run)")
    return commands


def _submit() -> str:
    return SUBMIT_WORD


PYTHON_TOOLS = (Tool(
    "submit_solution", "Run a complete Python solution against the task's tests.",
    params=(("code", "The complete Python function, with any imports it needs."),),
    returns="The test feedback: which tests failed and why, or that all tests passed."),)
PYTHON_TOOL_PROMPT = (
    "You are an expert Python programmer. Write the requested function and call the "
    "`submit_solution` tool with the complete code. Its result shows the test "
    "feedback; if tests fail, fix the code and submit again.")

SHELL_TOOLS = (
    Tool("run_command",
         "Run a bash command in the sandbox (files and the current directory persist).",
         params=(("command", "The bash command or short script to run."),),
         returns="What the command printed (stdout and stderr), and its exit code if "
         "non-zero.", to_action=_command),
    Tool("submit", "Declare the task done; the final state of /work is checked.",
         returns="How many of the task's checks passed.", to_action=_submit),
)
SHELL_TOOL_PROMPT = (
    "You operate a Linux shell in a sandbox; your working directory is /work. Call "
    "`run_command` with one bash command at a time and read its output. When the task "
    "is done, call `submit`.")
